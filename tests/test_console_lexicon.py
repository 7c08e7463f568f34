"""The lexicon pages over real HTTP: an editor adds, changes and deletes entries with plain-Vietnamese checks;
the file keeps its comments, the audit log names who did what, and the page says what is not published yet.
(That a published edit changes the answer is shown in a real browser: test_console_lexicon_browser.py.)"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from test_console_access import EDITOR, VIEWER, _client, console  # noqa: F401  (the console fixture)

LEXICON = Path(__file__).resolve().parents[1] / "knowledge" / "lexicon"


@pytest.fixture
def words(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "lexicon"
    shutil.copytree(LEXICON, folder)
    monkeypatch.setenv("CCHC_LEXICON_DIR", str(folder))
    return folder


@pytest.fixture
def served(console, words):  # noqa: F811
    """A published version carrying its copy of the word lists (the pages compare the edits with it)."""
    data = Path(console.settings.data_dir)
    shutil.copytree(words, data / "indexes" / "v-lexicon-test" / "lexicon")
    (data / "CURRENT").write_text("v-lexicon-test\n", encoding="utf-8")
    yield
    (data / "CURRENT").unlink()
    shutil.rmtree(data / "indexes" / "v-lexicon-test")


def test_an_editor_adds_changes_and_deletes_an_entry(console, words, served):  # noqa: F811
    editor = _client(console, EDITOR)
    page = editor.get("/lexicon?file=procedure_names")
    assert page.status_code == 200 and "Tên gọi dân gian của thủ tục" in page.text and "sổ hộ khẩu" in page.text
    header = (words / "procedure_names.yaml").read_text(encoding="utf-8").splitlines()[:5]

    added = editor.post("/lexicon/save", {"csrf_token": editor.token("/lexicon"), "file": "procedure_names",
                                          "original": "", "term": "giấy báo sinh", "means": "đăng ký khai sinh",
                                          "note": "Người dân gọi giấy chứng sinh, báo sinh", "example":
                                          "làm giấy báo sinh cho con ở đâu"})
    assert added.status_code == 303
    text = (words / "procedure_names.yaml").read_text(encoding="utf-8")
    assert "  - term: giấy báo sinh" in text and text.splitlines()[:5] == header
    listing = editor.get("/lexicon?file=procedure_names&q=bao sinh").text  # search ignores diacritics
    assert "giấy báo sinh" in listing and "mới, chưa xuất bản" in listing and "Có thay đổi chưa xuất bản" in listing
    assert "sổ hộ khẩu" not in listing

    changed = editor.post("/lexicon/save", {"csrf_token": editor.token("/lexicon"), "file": "procedure_names",
                                            "original": "giấy báo sinh", "term": "giấy báo sinh",
                                            "means": "đăng ký khai sinh", "note": "Cách gọi ở một số nơi",
                                            "example": "xin giấy báo sinh mất mấy ngày"})
    assert changed.status_code == 303 and "xin giấy báo sinh mất mấy ngày" in (words / "procedure_names.yaml").read_text("utf-8")
    deleted = editor.post("/lexicon/delete", {"csrf_token": editor.token("/lexicon"), "file": "procedure_names",
                                              "term": "giấy báo sinh"})
    assert deleted.status_code == 303 and (words / "procedure_names.yaml").read_text(encoding="utf-8") == \
        (LEXICON / "procedure_names.yaml").read_text(encoding="utf-8")
    assert "Từ điển đang dùng đúng như bản đang phục vụ người dân" in editor.get("/lexicon").text
    log = console.app.state.audit.entries(action_prefix="lexicon.")
    assert [(e.action, e.user) for e in log[:3]] == [("lexicon.delete", EDITOR[0]), ("lexicon.edit", EDITOR[0]),
                                                     ("lexicon.add", EDITOR[0])]
    assert "giấy báo sinh → đăng ký khai sinh" in log[2].detail


@pytest.mark.parametrize("term, example, message", [
    ("gcs", "xin giấy chứng sinh", "không chứa"),
    ("giấy ks", "xin giấy ks", "một chữ"),
    ("cccd", "làm cccd", "Đã có mục"),
])
def test_a_broken_entry_is_refused_in_plain_vietnamese(console, words, term, example, message):  # noqa: F811
    editor = _client(console, EDITOR)
    before = (words / "abbreviations.yaml").read_bytes()
    page = editor.post("/lexicon/save", {"csrf_token": editor.token("/lexicon"), "file": "abbreviations",
                                         "original": "", "term": term, "means": "giấy khai sinh", "note": "viết tắt",
                                         "example": example})
    assert page.status_code == 400 and message in page.text
    assert ".yaml" not in page.text and "mục 5" not in page.text  # no file names or entry numbers
    assert f'value="{example}"' in page.text  # what the officer typed is kept for fixing
    assert (words / "abbreviations.yaml").read_bytes() == before


def test_a_viewer_sees_the_lexicon_without_edit_buttons(console, words):  # noqa: F811
    page = _client(console, VIEWER).get("/lexicon").text
    assert "cccd" in page and 'action="/lexicon/save"' not in page and 'action="/lexicon/delete"' not in page
    assert "lexicon-publish" not in page
