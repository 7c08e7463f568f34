"""Words of a procedure record's whole text count for a question that names the procedure, then its situation."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.procedure_record_words import read_words, record_text
from bot.procedures import ProcedureCatalog, load_procedure_lexicon
from index.documents import read_document

FIXTURES = Path(__file__).parent / "fixtures" / "procedure_records"
LEXICON_DIR = Path(__file__).resolve().parents[1] / "knowledge" / "lexicon"


@pytest.fixture(scope="module")
def catalog():
    docs = [read_document(p) for p in sorted(FIXTURES.glob("*.md"))]
    return ProcedureCatalog.from_documents(docs, load_procedure_lexicon(LEXICON_DIR))


def test_a_records_text_includes_its_papers_and_conditions():
    doc = read_document(FIXTURES / "1.001193.md")
    assert "quá dài" not in doc.body  # the conditions live in the front matter, not in the sections
    assert "quá dài" in record_text(doc)


def test_marks_as_written_tell_look_alikes_apart():
    words = read_words("Người đi đăng ký nộp tờ khai")
    assert "toi" not in words and "nop" in words and "=" + "nôpj" in words
    assert "dang_ki" in words  # "ký" read as "kí", as names are


def test_where_the_citizen_goes_confirms_the_procedure_its_record_names(catalog):
    """"Cấp hộ chiếu phổ thông" says nothing of "phòng xuất nhập cảnh công an tỉnh"; its record's agency does."""
    best = catalog.match("làm hộ chiếu ở phòng xuất nhập cảnh công an tỉnh mất bao lâu")[0]
    assert best.code == "1.001456" and best.coverage >= 0.5


def test_words_that_name_another_procedure_are_not_this_ones_situation(catalog):
    """The land certificate's papers say "bản sao … công chứng"; the certification's name says it: it stays first."""
    assert catalog.match("công chứng bản sao sổ đỏ ở phường bao nhiêu tiền")[0].code == "2.000815"
