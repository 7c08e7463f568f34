"""Two real-looking provincial documents (Quảng Trị: a DOCX communication plan, a 34-page PDF annual report)
added with `cchc knowledge add` and refreshed into a live index, as an officer of another province would.

What a user notices: the proposed front matter is right (title, number, date, issuer, type, scope), the
refresh publishes, and questions about each new document find a passage of that document.
"""
from __future__ import annotations

import sys
from pathlib import Path

import docx
import pytest
import yaml
from pypdf import PdfReader

from conftest import REPO_ROOT, SMALL_GUIDE, SMALL_PLAN, make_settings
from index.documents import load_documents
from index.ingest import add_file

sys.path.insert(0, str(REPO_ROOT / "tests" / "fixtures" / "provincial"))
import make_docs  # noqa: E402

PLAN_ID = "ke-hoach-tuyen-truyen-cai-cach-hanh-quang-tri-2026"
REPORT_ID = "bao-cao-ket-qua-cong-tac-cai-cach-hanh-quang-tri-2025"
EVAL_FILE = REPO_ROOT / "tests" / "eval" / "provincial" / "questions.yaml"


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> tuple[Path, Path]:
    """Both documents generated afresh (the PDF copied from the committed one when no font is installed)."""
    return make_docs.ensure_files(tmp_path_factory.mktemp("inbox"))


def small_folder(root: Path) -> Path:
    """The small two-document knowledge folder of conftest, at `root`."""
    (root / "plans").mkdir(parents=True)
    (root / "guidance").mkdir()
    (root / "plans" / "kh-cchc-tan-an-2026.md").write_text(SMALL_PLAN, encoding="utf-8")
    (root / "guidance" / "huong-dan-nop-ho-so.md").write_text(SMALL_GUIDE, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def added(files, tmp_path_factory):
    """Both documents added to a small knowledge folder by `knowledge add`'s own code."""
    root = small_folder(tmp_path_factory.mktemp("kb") / "knowledge")
    plan, report = (add_file(f, root) for f in files)
    return root, plan, report


# ------------------------------------------------------------------------------ the files
def test_files_are_laid_out_like_provincial_documents(files):
    plan, report = files
    document = docx.Document(str(plan))
    letterhead = document.tables[0]
    assert len(letterhead.columns) == 2
    assert letterhead.cell(1, 0).text == "Số: 123/KH-UBND"
    assert letterhead.cell(0, 1).text.startswith("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    assert [p.text for p in document.paragraphs[:2]] == ["KẾ HOẠCH", "Tuyên truyền cải cách hành chính năm 2026"]
    assert all(r.bold for p in document.paragraphs[:2] for r in p.runs)
    pages = PdfReader(report).pages
    assert len(pages) >= 30
    assert "Trang 2/" in pages[1].extract_text()


def test_committed_files_match_the_generator(files):
    plan, report = files
    assert [p.text for p in docx.Document(str(plan)).paragraphs] == [
        p.text for p in docx.Document(str(make_docs.PLAN_FILE)).paragraphs]
    if make_docs.find_font_dir() is None:
        pytest.skip("no DejaVu Serif font: the committed PDF was copied, not regenerated")
    fresh = [p.extract_text() for p in PdfReader(report).pages]
    committed = [p.extract_text() for p in PdfReader(make_docs.REPORT_FILE).pages]
    assert fresh == committed, "run: python tests/fixtures/provincial/make_docs.py"


# ------------------------------------------------------------------------ knowledge add
def test_plan_metadata_is_read_from_the_letterhead(added):
    _, result, _ = added
    doc = result.document
    assert doc.id == PLAN_ID
    assert doc.title == "Kế hoạch tuyên truyền cải cách hành chính năm 2026"  # not the first paragraph
    assert (doc.number, doc.date, doc.type, doc.year) == ("123/KH-UBND", "2026-01-15", "kế hoạch", 2026)
    assert (doc.issuer, doc.scope, doc.city, doc.ward) == ("Ủy ban nhân dân tỉnh Quảng Trị", "province",
                                                          "Quảng Trị", None)
    assert (doc.signer, doc.extra.get("signer_title")) == ("Lê Minh Tuấn", "Phó Chủ tịch")
    assert "attached_to" not in doc.extra  # the appendix note names the plan itself
    assert result.missing == []


def test_plan_body_starts_with_its_first_paragraph_and_keeps_its_lists(added):
    _, result, _ = added
    body = result.document.body
    first = body.split("\n\n")[1]
    assert first.startswith("Căn cứ Nghị quyết số 76/NQ-CP ngày 15 tháng 7 năm 2021")
    paragraphs = body.split("\n\n")
    forms = [p[:2] for p in paragraphs if p[:2] in {f"{c})" for c in "abcdđeghiklm"}
             and body.index(p) > body.index("## III. HÌNH THỨC")][:12]
    assert forms == ["a)", "b)", "c)", "d)", "đ)", "e)", "g)", "h)", "i)", "k)", "l)", "m)"]
    assert "- Cách nộp hồ sơ trực tuyến trên Cổng Dịch vụ công quốc gia" in body  # Word bullet list
    assert ("Số tin, bài, phóng sự về cải cách hành chính trên báo chí của tỉnh — Đơn vị tính: tin, bài; "
            "Kế hoạch năm 2026: Ít nhất 240.") in paragraphs  # table row with its column names
    assert any(p.startswith("Nhiệm vụ 7: Ra mắt “Mỗi thôn một tổ hỗ trợ dịch vụ công”") and
               "Cơ quan chủ trì: Tỉnh đoàn" in p for p in paragraphs)


def test_report_metadata_is_read_from_the_pdf(added):
    _, _, result = added
    doc = result.document
    assert doc.id == REPORT_ID
    assert doc.title == "Báo cáo kết quả công tác cải cách hành chính năm 2025"
    assert (doc.number, doc.date, doc.type, doc.year) == ("412/BC-UBND", "2025-12-18", "báo cáo", 2025)
    assert (doc.issuer, doc.scope, doc.city) == ("Ủy ban nhân dân tỉnh Quảng Trị", "province", "Quảng Trị")
    assert doc.signer == "Trần Quốc Khánh"
    assert any("34 trang" in n for n in result.notes)


def test_report_body_has_no_page_furniture_and_one_paragraph_per_table_row(added):
    _, _, result = added
    body = result.document.body
    assert "UBND tỉnh Quảng Trị – Báo cáo" not in body  # the running header of pages 2–34
    assert "Trang " not in body
    headings = [ln for ln in body.splitlines() if ln.startswith("## PHỤ LỤC")]
    assert [h.split(":")[0] for h in headings] == [f"## PHỤ LỤC {n}" for n in ("I", "II", "III", "IV", "V")]
    paragraphs = body.split("\n\n")
    assert sum(p.startswith("STT ") for p in paragraphs) == 0  # repeated table headers are gone
    assert any(p.startswith("Xã Lao Bảo 412 7.634") for p in paragraphs)
    justice = [p for p in paragraphs if p.startswith("Sở Tư pháp tiếp nhận")]
    assert len(justice) == 1 and justice[0].endswith("theo quy định.")  # a paragraph split by a page break is whole


# -------------------------------------------------------------------------- refresh and ask
@pytest.fixture(scope="module")
def refreshed(files, embedder, tmp_path_factory):
    """Index the small folder, add both documents, refresh: validated on the questions about them."""
    from index import refresh as refresh_module
    from index.build import build_index

    root = small_folder(tmp_path_factory.mktemp("kb-live") / "knowledge")
    settings = make_settings(root, tmp_path_factory.mktemp("data"))
    build_index(settings, embedder=embedder, show_progress=False)
    for f in files:
        add_file(f, root)
    original = refresh_module.DEFAULT_EVAL_FILE
    refresh_module.DEFAULT_EVAL_FILE = EVAL_FILE  # the refresh's own quality gate, on questions about them
    try:
        report = refresh_module.refresh(settings, embedder=embedder, show_progress=False)
    finally:
        refresh_module.DEFAULT_EVAL_FILE = original
    return settings, report


def test_refresh_publishes_both_documents(refreshed):
    settings, report = refreshed
    assert report.published, report.problems
    assert set(report.added) == {PLAN_ID, REPORT_ID}
    assert report.checks["not_found_by_title"] == []
    assert report.checks["eval_new"]["answer_accuracy"] > report.checks["eval_live"]["answer_accuracy"]
    assert {d.id for d in load_documents(settings.knowledge_dir)} >= {PLAN_ID, REPORT_ID}


@pytest.fixture(scope="module")
def assistant_after(refreshed, embedder):
    from bot.answer import Assistant

    settings, _ = refreshed
    return Assistant.load(settings, embedder)


@pytest.mark.parametrize(("question", "doc_id"), [
    ("kế hoạch tuyên truyền cchc của tỉnh quảng trị có những hình thức nào", PLAN_ID),
    ("kinh phi tuyen truyen cai cach hanh chinh quang tri 2026", PLAN_ID),
    ("ai chủ trì cuộc thi tìm hiểu cải cách hành chính tỉnh quảng trị năm 2026", PLAN_ID),
    ("tỉnh Quảng Trị năm 2025 tỷ lệ hồ sơ giải quyết đúng hạn bao nhiêu", REPORT_ID),
    ("sở tư pháp quảng trị năm 2025 tiếp nhận bao nhiêu hồ sơ", REPORT_ID),
    ("xa lao bao nam 2025 ty le ho so dung han", REPORT_ID),
    ("chỉ số PAR INDEX 2024 của tỉnh quảng trị", REPORT_ID),
])
def test_questions_about_each_document_retrieve_it(assistant_after, question, doc_id):
    hits = assistant_after.retrieve(question)
    assert doc_id in [h.chunk.doc_id for h in hits[:3]], [(h.chunk.doc_id, h.chunk.section) for h in hits[:3]]


def test_existing_plan_still_answers_after_the_provincial_documents(assistant_after):
    hits = assistant_after.retrieve("phường tân an năm 2026 tỷ lệ hồ sơ giải quyết đúng hạn")
    assert hits[0].chunk.doc_id == "kh-cchc-tan-an-2026"


# ------------------------------------------------------------------------------ the eval file
def test_eval_questions_name_the_proposed_ids_and_quote_the_documents(added):
    root, plan, report = added
    bodies = {d.id: d.body + "\n" + "\n".join(map(str, d.metadata().values()))  # the card shows the signer
              for d in (plan.document, report.document)}
    items = yaml.safe_load(EVAL_FILE.read_text(encoding="utf-8"))
    assert len(items) >= 30
    splits = [i["split"] for i in items]
    assert abs(splits.count("dev") - splits.count("test")) <= 1 and set(splits) == {"dev", "test"}
    for item in items:
        assert set(item.get("expected_docs") or []) <= set(bodies), item["id"]
        for fact in item.get("expected_facts") or []:
            assert any(fact in bodies[d] for d in item["expected_docs"]), (item["id"], fact)


def test_build_knowledge_helper_adds_both_documents(tmp_path):
    ids = make_docs.build_knowledge(tmp_path / "kb", base=REPO_ROOT / "knowledge" / "guidance")
    assert set(ids.values()) == {PLAN_ID, REPORT_ID}
    assert {d.id for d in load_documents(tmp_path / "kb")} >= {PLAN_ID, REPORT_ID}


def test_a_report_table_row_does_not_answer_how_to_do_a_procedure(assistant_after):
    """The report's appendix lists procedures with figures; asked where to get a clinic licence (no such record
    here), the assistant declines with a pointer instead of quoting a table row."""
    answer = assistant_after.answer("xin giấy phép mở phòng khám tư nhân ở đâu")
    assert not answer.found
    assert "1800.1096" in answer.body


def test_a_sentence_cut_between_two_passages_is_quoted_whole(assistant_after):
    """The chunker cut "… hợp nhất hai Trung tâm của hai tỉnh, có | 02 điểm tiếp nhận …": the answer finishes the
    sentence from the next passage of the section, and the cited passage holds every quoted word."""
    answer = assistant_after.answer("trung tam phuc vu hanh chinh cong tinh quang tri co may diem tiep nhan")
    assert answer.found and "02 điểm tiếp nhận" in answer.body
    line = next(line for line in answer.body.splitlines() if "02 điểm tiếp nhận" in line)
    quoted = line.lstrip("• ").rsplit(" [", 1)[0]
    assert any(quoted in " ".join(c.text.split()) for c in answer.citations)


def test_a_heading_that_says_what_is_asked_brings_its_section(assistant_after):
    """"Tồn tại, hạn chế" is a heading of the report: asked "còn hạn chế gì" while search ranked only other
    sections of the report, that section joins the evidence, and the answer quotes it."""
    from index.types import Hit

    question = "quang tri nam 2025 cai cach hanh chinh van con han che gi"
    elsewhere = [Hit(c, 1.0) for c in assistant_after.searcher.chunks
                 if c.doc_id == REPORT_ID and c.section.endswith("Ưu điểm")]
    added = assistant_after.decider._named_sections(assistant_after.understand(question), elsewhere)
    assert [h.chunk.section.rsplit(" > ", 1)[-1] for h in added] == ["2. Tồn tại, hạn chế"]
    answer = assistant_after.answer(question)
    assert answer.found and "thiếu công chức có chuyên môn" in answer.body
