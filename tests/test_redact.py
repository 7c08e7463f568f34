"""Redaction against a corpus of spellings: every personal number goes, every public number stays."""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
import yaml

from bot.redact import EMAIL, ID_NUMBER, PHONE, redact
from bot.store_sqlite import SqliteStore

CORPUS = yaml.safe_load((Path(__file__).parent / "fixtures" / "redaction_corpus.yaml").read_text(encoding="utf-8"))


def test_corpus_is_large_enough():
    assert len(CORPUS["redact"]) + len(CORPUS["keep"]) >= 60
    assert len(CORPUS["redact"]) >= 40 and len(CORPUS["keep"]) >= 20


@pytest.mark.parametrize("text,expected", CORPUS["redact"])
def test_personal_numbers_are_redacted(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize("text", CORPUS["keep"])
def test_public_numbers_are_kept(text):
    assert redact(text) == text


@pytest.mark.parametrize("text,expected", CORPUS["redact"])
def test_no_digit_of_a_redacted_number_survives(text, expected):
    """Whatever the placeholders, the digits of the secret number are gone from the output."""
    out = redact(text)
    kept_digits = "".join(ch for ch in out if ch.isdigit())
    assert kept_digits == "".join(ch for ch in expected if ch.isdigit())


def test_hostile_long_inputs_stay_fast():
    """Redaction runs on every logged question: a long hostile line must not stall a channel."""
    for text in ("á" * 100_000, "1." * 50_000, "a@" * 50_000, "9" * 100_000, "x0912345678 " * 10_000):
        started = time.perf_counter()
        redact(text)
        assert time.perf_counter() - started < 3.0


def test_redacted_everywhere_the_store_writes(tmp_path):
    store = SqliteStore(tmp_path / "store.sqlite")
    qid = store.log_question("zalo_bot", store.hash_user("zalo_bot", "u1"), "sđt0912345678, cccd001203004567",
                             "Bạn gọi 1800.1096 nhé", True, [], 12.0)
    store.close()
    dump = "\n".join(sqlite3.connect(tmp_path / "store.sqlite").iterdump())
    assert "0912345678" not in dump and "001203004567" not in dump
    assert f"sđt{PHONE}, cccd{ID_NUMBER}" in dump and "1800.1096" in dump and qid > 0


def test_store_files_are_private(tmp_path):
    store = SqliteStore(tmp_path / "data" / "store.sqlite")
    store.log_question("telegram", "u", "câu hỏi", "trả lời", True, [], 1.0)
    files = [p for p in (tmp_path / "data").iterdir() if p.is_file()]
    assert {p.name for p in files} >= {"store.sqlite", "store.salt"}
    for path in files:  # database, WAL, shared memory, salt
        assert path.stat().st_mode & 0o077 == 0, f"{path.name} is readable by others: {oct(path.stat().st_mode)}"
    store.close()


def test_an_existing_world_readable_store_is_tightened(tmp_path):
    path = tmp_path / "store.sqlite"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    SqliteStore(path).close()
    assert path.stat().st_mode & 0o077 == 0


def test_email_placeholder_is_used():
    assert redact("a@b.vn") == EMAIL
