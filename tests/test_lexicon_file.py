"""The console's lexicon edits: one entry changes, every comment and every other line stays as written."""
import shutil
from pathlib import Path

import pytest

from bot.console.lexicon_file import Draft, delete, save
from index.lexicon import LexiconError, load_lexicon

LEXICON = Path(__file__).resolve().parents[1] / "knowledge" / "lexicon"


@pytest.fixture
def folder(tmp_path) -> Path:
    for path in LEXICON.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def _changed(before: str, after: str) -> tuple[list[str], list[str]]:
    a, b = before.splitlines(), after.splitlines()
    return [x for x in a if x not in b], [x for x in b if x not in a]


def test_adding_and_editing_a_one_line_entry_touches_only_its_line(folder):
    before = (folder / "abbreviations.yaml").read_text(encoding="utf-8")
    assert save(folder, "abbreviations", None, Draft("gcs", "giấy chứng sinh", "Viết tắt khi nhắn tin", "xin gcs")) == "add"
    assert save(folder, "abbreviations", "GCS", Draft("gcs", "giấy chứng sinh", "Nhắn tin: viết tắt, gõ nhanh",
                                                     "mất gcs của bé thì sao")) == "edit"
    after = (folder / "abbreviations.yaml").read_text(encoding="utf-8")
    assert _changed(before, after) == ([], ['  - {term: gcs, means: giấy chứng sinh, note: "Nhắn tin: viết tắt, gõ nhanh", '
                                            'example: "mất gcs của bé thì sao"}'])
    assert load_lexicon(folder).abbreviations["gcs"] == "giay chung sinh"


def test_deleting_the_last_entry_of_a_section_keeps_the_next_section_heading(folder):
    before = (folder / "procedure_names.yaml").read_text(encoding="utf-8")
    heading = before.splitlines()[before.splitlines().index("  # --- Hộ tịch ---")]
    removed = delete(folder, "procedure_names", "trình báo tạm trú")
    after = (folder / "procedure_names.yaml").read_text(encoding="utf-8")
    gone, added = _changed(before, after)
    assert removed["means"] == "thông báo lưu trú" and added == [] and "  - term: trình báo tạm trú" in gone
    assert len(before.splitlines()) - len(after.splitlines()) == 4
    assert heading in after and after.startswith("# Tên gọi dân gian")
    assert all(e.term != "trình báo tạm trú" for e in load_lexicon(folder).procedure_names)


@pytest.mark.parametrize("draft, message", [
    (Draft("gcs", "giấy chứng sinh", "viết tắt", "làm giấy ở đâu"), "không chứa"),
    (Draft("hai chữ", "x", "y", "hai chữ nè"), "một chữ"),
    (Draft("tthc", "thủ tục", "y", "tthc là gì"), "Đã có mục"),
    (Draft("gcs", "", "y", "gcs"), "nghĩa"),
])
def test_a_broken_entry_is_refused_and_the_file_is_unchanged(folder, draft, message):
    before = (folder / "abbreviations.yaml").read_bytes()
    with pytest.raises(LexiconError, match=message):
        save(folder, "abbreviations", None, draft)
    assert (folder / "abbreviations.yaml").read_bytes() == before
