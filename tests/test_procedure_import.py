"""Importing the portal's procedure crawl: a real sample of raw pages (one per defect class) → record files."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from index.documents import load_documents, read_document
from index.procedure_import import REPORT_NAME, import_procedures, render_report
from index.procedure_record import procedure_fields, render_procedure_body
from index.procedure_tables import format_amount, parse_channels, parse_legal_basis, parse_papers

FIXTURES = Path(__file__).parent / "fixtures" / "procedures"
WRONG_PAGES = {"3.000332", "1.002544"}


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    out = tmp_path_factory.mktemp("procedures")
    summary = import_procedures(FIXTURES, out)
    return out, summary


def record(out: Path, code: str):
    path = next(out.glob(f"*/{code}.md"))
    return procedure_fields(read_document(path))


def test_sample_imports_every_valid_page_and_leaves_out_wrong_ones(imported):
    out, summary = imported
    written = {p.stem for p in out.glob("*/*.md")}
    raw = {p.stem for p in (FIXTURES / "raw").glob("*/*.json")}
    assert written == raw - WRONG_PAGES
    assert {code for _, code, _ in summary.skipped} == WRONG_PAGES
    reasons = {code: reason for _, code, reason in summary.skipped}
    assert "1.014023" in reasons["3.000332"]  # the page's own code
    assert "Hỗ trợ phát triển sản xuất cộng đồng" in reasons["3.000332"]
    # the knowledge loader reads the folder as it reads plans and guidance
    docs = load_documents(out)
    assert len(docs) == len(written) and all(d.type == "thủ tục" for d in docs)


def test_record_file_matches_the_reviewed_golden_copy(imported):
    """The whole file, byte for byte, as reviewed against the portal page (fees, note, papers, forms)."""
    out, _ = imported
    golden = FIXTURES / "expected" / "bo-cong-an" / "1.012680.md"
    assert (out / "bo-cong-an" / "1.012680.md").read_text(encoding="utf-8") == golden.read_text(encoding="utf-8"), (
        "format changed: review the new file, then copy it over the golden one")


def test_residence_registration_record_matches_the_portal_page(imported):
    out, _ = imported
    doc = read_document(out / "bo-cong-an" / "1.004222.md")
    assert (doc.id, doc.title, doc.issuer, doc.type) == ("1.004222", "Đăng ký thường trú", "Bộ Công an", "thủ tục")
    assert doc.scope == "national" and (doc.number, doc.date, doc.ward, doc.year) == (None, None, None, None)
    assert doc.source == "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/019d2bf7-7704-7449-9e95-fe7ebb959aa2"
    rec = procedure_fields(doc)
    assert rec.levels == ["Cấp xã"] and rec.field == "Đăng ký, quản lý cư trú"
    assert rec.online and not rec.district_era and rec.status == "active" and rec.crawled == "2026-06"
    assert rec.decision == "1523/QĐ-BCA-C06" and rec.agency == "Công an cấp Xã"
    assert rec.result.startswith("Cập nhật thông tin trong Cơ sở dữ liệu quốc gia về dân cư; Thông báo kết quả")
    by_channel = {c.channel: c for c in rec.channels}
    assert by_channel["Trực tuyến"].time == "7 ngày làm việc"
    assert by_channel["Trực tuyến"].fee == "10.000 đồng"
    assert "10.000 đồng/lần đăng ký" in by_channel["Trực tuyến"].fee_note
    assert by_channel["Trực tiếp"].fee == "20.000 đồng"
    assert by_channel["Trực tiếp"].fee_note.startswith("Trường hợp công dân thuộc diện được miễn phí")
    papers = rec.papers
    assert papers[0].case == "Đăng ký thường trú vào chỗ ở hợp pháp thuộc quyền sở hữu của mình"
    assert all(p.copies in ("1 bản chính", None) for p in papers)
    ct01 = [p for p in papers if p.form == "Mẫu CT01"]
    assert ct01 and ct01[0].name.startswith("Tờ khai thay đổi thông tin cư trú")
    assert "- Luật Cư trú 2020 — 68/2020/QH14" in doc.body
    assert "## Trình tự thực hiện\nBước 1: Cá nhân, tổ chức chuẩn bị hồ sơ" in doc.body
    assert "- Phiếu từ chối tiếp nhận, giải quyết hồ sơ (lĩnh vực cư trú)" in doc.body


def test_no_portal_interface_text_or_placeholders_in_any_record(imported):
    out, _ = imported
    for path in out.glob("*/*.md"):
        text = path.read_text(encoding="utf-8")
        for leaked in ("Chọn cơ quan thực hiện", "Chọn Tỉnh/ Thành phố", "Hệ thống chỉ hiển thị", "Không có thông tin",
                       "Tên giấy tờMẫu đơn", "Hình thức nộpThời gian", "Từ khóa"):
            assert leaked not in text, (path.name, leaked)


def test_time_whose_unit_was_lost_is_kept_and_flagged(imported):
    out, _ = imported
    rec = record(out, "1.008331")
    assert [c.time for c in rec.channels] == ["1", "1", "1"]
    assert all(c.time_unit_missing for c in rec.channels)
    assert "time_unit_missing" in rec.repairs
    assert "1 (trang không ghi đơn vị)" in render_procedure_body(read_document(next(out.glob("*/1.008331.md"))))


def test_lost_unit_glued_to_the_fee_figure_is_split_using_the_note_and_sibling_channels(imported):
    out, _ = imported
    rec = record(out, "1.000014")  # "Trực tuyến120 VNĐ(20.000 vnđ /tờ khai)"
    c = rec.channels[0]
    assert (c.time, c.time_unit_missing, c.fee) == ("1", True, "20 đồng")
    assert c.fee_note == "20.000 vnđ /tờ khai" and c.fee_note_differs
    rec = record(out, "1.007857")  # "Trực tuyến220 VNĐ(…20.000 đồng…)" beside "Trực tiếp2 Giờ"
    assert (rec.channels[0].time, rec.channels[0].fee) == ("2", "20 đồng")
    assert rec.channels[1].time == "2 giờ"
    assert "time_fee_digits_split" in rec.repairs


def test_fee_that_disagrees_with_its_note_is_never_shown_without_the_note(imported):
    out, _ = imported
    doc = read_document(out / "bo-cong-an" / "1.012680.md")
    rec = procedure_fields(doc)
    online = rec.channels[0]
    assert online.fee == "25 đồng" and online.fee_note.startswith("25.000.000đ/giấy thông hành")
    assert online.fee_note_differs
    body = render_procedure_body(doc)
    assert "lệ phí 25 đồng (25.000.000đ/giấy thông hành" in body
    free = record(out, "3.000340").channels[0]  # "Miễn phí" beside a note stating 8.000.000/lần
    assert free.fee == "Miễn phí" and "8.000.000/lần" in free.fee_note and free.fee_note_differs


def test_fee_decided_by_the_provincial_council_is_marked(imported):
    out, _ = imported
    doc = read_document(out / "bo-tu-phap" / "1.000689.md")
    rec = procedure_fields(doc)
    assert rec.fee_set_by_province and all(c.fee_set_by_province for c in rec.channels)
    assert rec.channels[0].fee_note.startswith("Mức lệ phí cụ thể do Hội đồng nhân dân tỉnh")  # outer (( )) unwrapped
    assert "lệ phí do HĐND tỉnh quyết định" in render_procedure_body(doc)
    assert not record(out, "1.004222").fee_set_by_province


def test_district_era_wording_is_flagged(imported):
    out, _ = imported
    doc = read_document(out / "bo-cong-an" / "1.003777.md")
    assert procedure_fields(doc).district_era and "district_era_wording" in doc.extra["repairs"]
    assert "nay không còn cấp huyện" in render_procedure_body(doc)
    assert not record(out, "1.004222").district_era


def test_papers_keep_their_form_file_and_copies(imported):
    out, _ = imported
    papers = record(out, "1.000931").papers
    first = papers[0]
    assert first.name.startswith("Đơn xin phép cho thân nhân vào khu vực cấm") and first.name.endswith("Bộ Công an.")
    assert (first.form, first.form_file, first.copies) == ("Mẫu NA15", "NA15.pdf", "1 bản chính, 1 bản sao")
    assert papers[1].form_file == "12-Mẫu NA14 2015.doc"
    hq = record(out, "1.000232").papers[0]
    assert (hq.name, hq.form_file) == ("Văn bản đề nghị hủy tài khoản điện tử (NA20).", "Mau NA20-BCA.docx")


def test_fee_figures_are_formatted_and_other_fields_repaired(imported):
    out, _ = imported
    assert {c.fee for c in record(out, "1.002613").channels} == {"2.500.000 đồng"}
    rec = record(out, "1.001193")  # the page has no executing agency: taken from the official list
    assert rec.agency and "agency_from_official_list" in rec.repairs
    intro = render_procedure_body(read_document(out / "bo-tu-phap" / "1.001193.md")).splitlines()[2]
    assert intro.startswith("Thủ tục đăng ký khai sinh (mã 1.001193), thực hiện tại cấp xã, lĩnh vực Hộ tịch")
    assert record(out, "3.000164").crawled == "2026-07"  # the People's Court was crawled a month later
    assert "- Luật Các tổ chức tín dụng — Luật số 32/2024/QH15" in read_document(
        out / "ngan-hang-nha-nuoc" / "1.001651.md").body


def test_rendered_body_gives_name_code_level_channels_and_papers(imported):
    out, _ = imported
    text = render_procedure_body(read_document(out / "bo-cong-an" / "1.004222.md"))
    lines = text.splitlines()
    assert lines[0] == "# Đăng ký thường trú"
    assert lines[2].startswith("Thủ tục Đăng ký thường trú (mã 1.004222), thực hiện tại cấp xã")
    assert "Có thể nộp hồ sơ trực tuyến" in lines[2]
    assert "- Trực tiếp: 7 ngày làm việc; lệ phí 20.000 đồng (Trường hợp công dân thuộc diện" in text
    assert text.index("## Cách thức thực hiện") < text.index("## Thành phần hồ sơ") < text.index("## Căn cứ pháp lý")
    assert "Đăng ký thường trú vào chỗ ở hợp pháp do thuê, mượn, ở nhờ:" in text  # case headings kept


def test_rerun_changes_nothing_and_a_later_crawl_updates_and_withdraws(tmp_path):
    src = tmp_path / "crawl"
    shutil.copytree(FIXTURES, src)
    out = tmp_path / "procedures"
    first = import_procedures(src, out)
    snapshot = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*.md")}
    again = import_procedures(src, out)
    assert sum(c["written"] for c in again.per_ministry.values()) == 0
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*.md")} == snapshot
    assert render_report(first, "crawl") == render_report(again, "crawl")

    # next month: one page is gone from the portal, another changed its fee
    (src / "raw" / "bo-tai-chinh" / "1.008331.json").unlink()
    page = src / "raw" / "bo-xay-dung" / "1.002613.json"
    raw = json.loads(page.read_text(encoding="utf-8"))
    raw["cach_thuc_thuc_hien"] = raw["cach_thuc_thuc_hien"].replace("2,500,000", "3,000,000")
    page.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    later = import_procedures(src, out)
    assert later.per_ministry["bo-tai-chinh"]["withdrawn"] == 1
    gone = read_document(out / "bo-tai-chinh" / "1.008331.md")
    assert procedure_fields(gone).status == "withdrawn"
    assert "không còn trên Cổng Dịch vụ công quốc gia" in render_procedure_body(gone)
    assert {c.fee for c in record(out, "1.002613").channels} == {"3.000.000 đồng"}
    changed = {p for p in out.rglob("*.md") if p.read_bytes() != snapshot[p][0]}
    assert {p.stem for p in changed} == {"1.008331", "1.002613"}
    assert import_procedures(src, out).per_ministry["bo-tai-chinh"]["withdrawn"] == 0  # stays withdrawn, no rewrite


def test_parsers_on_the_readme_examples():
    rows, codes = parse_channels(
        "Hình thức nộpThời gianPhí, lệ phíMô tảTrực tuyến7 Ngày làm việc10,000 Việt Nam Đồng(Nộp trực tuyến.)"
        "Trực tiếp1Miễn phíNộp tại Trung tâm Phục vụ hành chính công, Trực tiếp tại quầy.")
    assert [(r["channel"], r["time"], r["fee"], r["fee_note"]) for r in rows] == [
        ("Trực tuyến", "7 ngày làm việc", "10.000 đồng", "Nộp trực tuyến."),
        ("Trực tiếp", "1", "Miễn phí", None)]
    assert rows[1]["time_unit_missing"] and rows[1]["description"].endswith("Trực tiếp tại quầy.")
    rows, _ = parse_channels("Trực tiếp5 Ngày làm việcMiễn phí(a) Cấp lại: 7 ngày.Trực tiếp2 GiờKhông có thông tin"
                             "(1) Nộp tại quầy.Trực tuyến10 USD(/bản)")
    assert [(r["fee"], r["fee_note"], r["description"]) for r in rows] == [
        ("Miễn phí", None, "(a) Cấp lại: 7 ngày."), (None, None, "(1) Nộp tại quầy."), ("10 USD", "/bản", None)]
    assert (rows[2]["time"], rows[2]["time_unit_missing"]) == (None, False)
    papers, _ = parse_papers("--Tên giấy tờMẫu đơn, tờ khaiSố lượng- Đơn đề nghị (Mẫu 01)1 bản chính"
                             "Giấy tờ tùy thân0 bản chính,1 bản sao")
    assert [(p["name"], p["form"], p["copies"], p["case"]) for p in papers] == [
        ("Đơn đề nghị (Mẫu 01)", "Mẫu 01", "1 bản chính", None), ("Giấy tờ tùy thân", None, "1 bản sao", None)]
    legal, _ = parse_legal_basis("Tên văn bản pháp lýMã văn bảnLuật 54/2014/QH1354/2014/QH13Nghị định quy định"
                                 " chi tiết134/2016/NĐ-CP")
    assert legal == [{"name": "Luật 54/2014/QH13", "number": "54/2014/QH13"},
                     {"name": "Nghị định quy định chi tiết", "number": "134/2016/NĐ-CP"}]
    assert format_amount("1,350,000") == "1.350.000"


def test_cli_imports_prints_summary_and_writes_report(run_cli, tmp_path):
    out, report = tmp_path / "procedures", tmp_path / "report.txt"
    proc = run_cli("knowledge", "import-procedures", str(FIXTURES), "--out", str(out), "--report", str(report),
                   "--quiet", data_dir=tmp_path / "data")
    assert proc.returncode == 0, proc.stderr
    assert "Đã nhập 19/21 thủ tục" in proc.stdout
    assert "bỏ qua 3.000332 (bo-cong-an): trang sai" in proc.stdout
    assert "sửa time_unit_missing:" in proc.stdout
    text = report.read_text(encoding="utf-8")
    assert "- Tổng: 21 / 19 / 2 / 0" in text and "1.000014" in text
    assert (out / "bo-cong-an" / "1.004222.md").exists() and not (out / REPORT_NAME).exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run_cli("knowledge", "import-procedures", str(empty), "--out", str(out), data_dir=tmp_path / "data")
    assert proc.returncode == 2 and "raw/<bộ>/<mã>.json" in proc.stderr and "Traceback" not in proc.stderr
