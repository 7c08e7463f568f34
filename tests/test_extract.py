"""Reading the files wards send: real PDF and DOCX files generated here, scans, locked and broken
files, legacy Vietnamese encodings. Each bad input must say what is wrong and change nothing."""
from __future__ import annotations

import shutil
from pathlib import Path

import docx
import frontmatter
import pytest
from fpdf import FPDF

from index.documents import KnowledgeError, load_documents
from index.extract import ExtractionError, extract
from index.ingest import add_file, superseded_by
from index.vietnamese import has_vietnamese_diacritics

FONT_CANDIDATES = [
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
]


def unicode_font() -> Path:
    for path in FONT_CANDIDATES:
        if path.exists():
            return path
    try:  # matplotlib ships DejaVu Sans when it is installed
        import matplotlib

        bundled = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
        if bundled.exists():
            return bundled
    except ImportError:
        pass
    pytest.skip("no Unicode TTF font (DejaVuSans) to write Vietnamese into a PDF: apt-get install fonts-dejavu-core")


def plan_lines(ward: str, number: str, day: str, year: int, topic: str, body: list[str]) -> list[str]:
    """A ward plan as printed: header, title, body lines, signature."""
    return [
        "ỦY BAN NHÂN DÂN", f"{ward.upper()}",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
        f"Số: {number}", f"{ward.split(' ', 1)[1]}, ngày {day} năm {year}",
        "KẾ HOẠCH", topic,
        f"Căn cứ Kế hoạch cải cách hành chính năm {year} của thành phố Đà Nẵng, Ủy ban nhân dân "
        f"{ward} ban hành Kế hoạch như sau:",
        *body,
        "Nơi nhận:", "- Như trên;", "- Lưu: VT.", "TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Trần Thị Mai",
    ]


def make_pdf(path: Path, lines: list[str], pages: int = 1) -> Path:
    """A PDF with a real text layer in a Unicode font; long lines wrap as Word would print them."""
    class NumberedPages(FPDF):
        def footer(self) -> None:
            self.set_y(-15)
            self.cell(0, 6, str(self.page_no()), align="C")  # the printed page number

    pdf = NumberedPages()
    pdf.add_font("DejaVu", fname=str(unicode_font()))
    pdf.set_font("DejaVu", size=11)
    per_page = max(1, -(-len(lines) // pages))
    for start in range(0, len(lines), per_page):
        pdf.add_page()
        for line in lines[start:start + per_page]:
            pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def make_docx(path: Path, ward: str, number: str, day: str, year: int, topic: str,
              items: list[str], table: list[list[str]] | None = None) -> Path:
    """A DOCX laid out like a ward plan: header table, auto-numbered sections, an appendix table."""
    document = docx.Document()
    header = document.add_table(rows=1, cols=2)
    left, right = header.rows[0].cells
    left.paragraphs[0].text = "ỦY BAN NHÂN DÂN"
    left.add_paragraph(ward.upper())
    left.add_paragraph(f"Số: {number}")
    right.paragraphs[0].text = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    right.add_paragraph("Độc lập - Tự do - Hạnh phúc")
    right.add_paragraph(f"{ward.split(' ', 1)[1]}, ngày {day} năm {year}")
    document.add_paragraph("KẾ HOẠCH")
    document.add_paragraph(topic)
    document.add_paragraph(f"Căn cứ Kế hoạch cải cách hành chính năm {year} của thành phố Đà Nẵng, Ủy ban nhân "
                           f"dân {ward} ban hành Kế hoạch như sau:")
    for item in items:
        if item.startswith("#"):
            document.add_paragraph(item.lstrip("# "), style="List Number")  # Word numbers it: "1."
        else:
            document.add_paragraph(item)
    signature = document.add_table(rows=1, cols=2)
    recipients, signer = signature.rows[0].cells
    recipients.paragraphs[0].text = "Nơi nhận:"
    recipients.add_paragraph("- Như trên;")
    recipients.add_paragraph("- Lưu: VT.")
    signer.paragraphs[0].text = "TM. ỦY BAN NHÂN DÂN"
    signer.add_paragraph("CHỦ TỊCH")
    signer.add_paragraph("Lê Quốc Hùng")
    if table:
        document.add_page_break()
        document.add_paragraph("PHỤ LỤC")
        document.add_paragraph("DANH MỤC NHIỆM VỤ")
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for row, values in zip(grid.rows, table):
            for cell, value in zip(row.cells, values):
                cell.text = value
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def add_footnote(document, paragraph, note: str) -> None:
    """python-docx cannot write footnotes: add the footnotes part and a reference by hand."""
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part
    from docx.oxml import parse_xml

    ns = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    xml = (f'<w:footnotes xmlns:w="{ns}"><w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/>'
           f'</w:r></w:p></w:footnote><w:footnote w:id="1"><w:p><w:r><w:t>{note}</w:t></w:r></w:p></w:footnote>'
           "</w:footnotes>")
    part = Part(PackURI("/word/footnotes.xml"),
                "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml",
                xml.encode("utf-8"), document.part.package)
    document.part.relate_to(part, RT.FOOTNOTES)
    run = paragraph.add_run()
    run._r.append(parse_xml(f'<w:footnoteReference xmlns:w="{ns}" w:id="1"/>'))


# TCVN3 (ABC) text exactly as a `.VnTime` document stores it: Latin-1 code points for Vietnamese letters.
TCVN3_PLAN = (
    "Uû ban nh©n d©n ph­êng Hßa Kh¸nh\n"
    "Céng hoµ x· héi chñ nghÜa ViÖt Nam\n"
    "§éc lËp - Tù do - H¹nh phóc\n"
    "KÕ ho¹ch c¶i c¸ch hµnh chÝnh n¨m 2026\n"
    "Thñ tôc hµnh chÝnh ®­îc gi¶i quyÕt ®óng h¹n vµ c«ng khai trªn Cæng dÞch vô c«ng.\n"
)
TCVN3_EXPECTED = [
    "Uỷ ban nhân dân phường Hòa Khánh", "Cộng hoà xã hội chủ nghĩa Việt Nam", "Độc lập - Tự do - Hạnh phúc",
    "Kế hoạch cải cách hành chính năm 2026", "Thủ tục hành chính được giải quyết đúng hạn",
]
VNI_PLAN = (
    "UÛy ban nhaân daân phöôøng Hoøa Khaùnh\n"
    "Coäng hoøa xaõ hoäi chuû nghóa Vieät Nam\n"
    "Keá hoaïch caûi caùch haønh chính naêm 2026. Thuû tuïc haønh chính ñöôïc giaûi quyeát ñuùng haïn.\n"
)


def assert_refused(exc: pytest.ExceptionInfo, name: str, *words: str) -> None:
    message = str(exc.value)
    assert name in message and has_vietnamese_diacritics(message), message
    for word in words:
        assert word.lower() in message.lower(), message


# ----------------------------------------------------------------------------------- PDF
def test_pdf_with_a_text_layer_becomes_a_reviewable_plan(tmp_path):
    lines = plan_lines("phường Hòa Khánh", "21/KH-UBND", "12 tháng 3", 2026, "Cải cách hành chính năm 2026", [
        "I. MỤC TIÊU",
        "1. Về thủ tục hành chính",
        "a) Tổ chức Ngày hội dịch vụ công trực tuyến tại Nhà văn hóa tổ dân phố 7 vào quý II năm 2026.",
        "II. TỔ CHỨC THỰC HIỆN",
        "Văn phòng HĐND và UBND phường theo dõi, báo cáo kết quả trước ngày 20 hằng tháng.",
    ])
    pdf = make_pdf(tmp_path / "inbox" / "kh-hoa-khanh.pdf", lines, pages=2)
    extraction = extract(pdf)
    assert extraction.kind == "pdf" and extraction.pages == 2
    assert "Ngày hội dịch vụ công trực tuyến" in extraction.text
    result = add_file(pdf, tmp_path / "knowledge")
    doc = result.document
    assert (doc.number, doc.date, doc.ward, doc.year, doc.signer) == (
        "21/KH-UBND", "2026-03-12", "phường Hòa Khánh", 2026, "Trần Thị Mai")
    assert "## I. MỤC TIÊU" in doc.body and "### 1. Về thủ tục hành chính" in doc.body
    assert "\n1\n" not in doc.body and "\n2\n" not in doc.body  # printed page numbers are gone
    assert any("PDF" in n and "2 trang" in n for n in result.notes)
    assert [d.id for d in load_documents(tmp_path / "knowledge")] == [doc.id]


def test_scanned_pdf_is_refused_with_the_ocr_message(tmp_path):
    from PIL import Image

    image = tmp_path / "trang.png"
    Image.new("RGB", (620, 880), "white").save(image)
    pdf = FPDF()
    pdf.add_page()
    pdf.image(str(image), x=0, y=0, w=210)
    path = tmp_path / "ban-quet.pdf"
    pdf.output(str(path))
    with pytest.raises(ExtractionError) as err:
        add_file(path, tmp_path / "knowledge")
    assert_refused(err, "ban-quet.pdf", "OCR", "quét")
    assert not (tmp_path / "knowledge").exists()


def test_password_protected_pdf_is_refused(tmp_path):
    from fpdf.enums import EncryptionMethod

    pdf = FPDF()
    pdf.add_font("DejaVu", fname=str(unicode_font()))
    pdf.set_font("DejaVu", size=11)
    pdf.add_page()
    pdf.multi_cell(0, 6, "Kế hoạch cải cách hành chính năm 2026 của phường Hòa Khánh, bản có mật khẩu.")
    pdf.set_encryption(owner_password="chu", user_password="mo", encryption_method=EncryptionMethod.RC4)
    path = tmp_path / "co-mat-khau.pdf"
    pdf.output(str(path))
    with pytest.raises(ExtractionError) as err:
        extract(path)
    assert_refused(err, "co-mat-khau.pdf", "mật khẩu")


@pytest.mark.parametrize("name, cut", [("hong.pdf", 300), ("hong.docx", 900)])
def test_truncated_files_are_refused_as_broken(tmp_path, name, cut):
    if name.endswith(".pdf"):
        good = make_pdf(tmp_path / "tot.pdf", ["Kế hoạch cải cách hành chính năm 2026 của phường Hòa Khánh."] * 20)
    else:
        good = make_docx(tmp_path / "tot.docx", "phường Hòa Khánh", "5/KH-UBND", "02 tháng 2", 2026,
                         "Cải cách hành chính năm 2026", ["Nội dung kế hoạch cải cách hành chính của phường."])
    broken = tmp_path / name
    broken.write_bytes(good.read_bytes()[:cut])
    with pytest.raises(ExtractionError) as err:
        add_file(broken, tmp_path / "knowledge")
    assert_refused(err, name, "hỏng")
    assert not (tmp_path / "knowledge").exists()


# ---------------------------------------------------------------------------------- DOCX
def test_docx_keeps_numbering_tables_and_footnotes_in_reading_order(tmp_path):
    path = make_docx(
        tmp_path / "kh-son-tra.docx", "phường Sơn Trà", "  /KH-UBND", "  tháng 4", 2026,
        "Tuyên truyền cải cách hành chính năm 2026",
        ["# MỤC ĐÍCH", "Nâng cao nhận thức của người dân về dịch vụ công trực tuyến.",
         "# NỘI DUNG", "Phát 40 bản tin trên loa truyền thanh về thủ tục hành chính.",
         "# TỔ CHỨC THỰC HIỆN", "Các đơn vị báo cáo kết quả trước ngày 25 tháng 11 năm 2026."],
        table=[["STT", "Nhiệm vụ", "Thời gian"],
               ["1", "Tuyên truyền trên Cổng thông tin điện tử phường", "Quý II"],
               ["2", "Tập huấn sử dụng VNeID cho tổ trưởng tổ dân phố", "Quý III"]],
    )
    document = docx.Document(str(path))
    target = next(p for p in document.paragraphs if p.text.startswith("Phát 40 bản tin"))
    add_footnote(document, target, "Theo Quyết định số 15/QĐ-UBND ngày 02/01/2026 của UBND thành phố.")
    document.save(str(path))

    text = extract(path).text
    order = [text.index(s) for s in ("ỦY BAN NHÂN DÂN", "1. MỤC ĐÍCH", "2. NỘI DUNG", "3. TỔ CHỨC THỰC HIỆN",
                                      "PHỤ LỤC", "Tập huấn sử dụng VNeID")]
    assert order == sorted(order)
    assert "(chú thích 1)" in text and "(Chú thích 1: Theo Quyết định số 15/QĐ-UBND" in text

    result = add_file(path, tmp_path / "knowledge")
    doc = result.document
    assert doc.number is None  # "Số:   /KH-UBND": a draft keeps its number empty
    assert doc.ward == "phường Sơn Trà" and doc.signer == "Lê Quốc Hùng"
    assert any("Số văn bản để trống" in n for n in result.notes)
    assert "Nhiệm vụ 2: Tập huấn sử dụng VNeID cho tổ trưởng tổ dân phố" in doc.body


def test_word_drawing_positions_are_dropped_from_text(tmp_path):
    path = tmp_path / "chuyen-tu-word.txt"
    path.write_text("\n".join(plan_lines(
        "phường Hòa Khánh", "30/KH-UBND", "03 tháng 5", 2026, "Chuyển đổi số năm 2026",
        ["1905000", "-228600", "I. MỤC TIÊU", "100% hồ sơ được số hóa khi tiếp nhận tại bộ phận một cửa."])),
        encoding="utf-8")
    result = add_file(path, tmp_path / "knowledge")
    assert "1905000" not in result.document.body and "228600" not in result.document.body
    assert "100% hồ sơ được số hóa" in result.document.body


# ------------------------------------------------------------------------ legacy encodings
def test_tcvn3_text_file_is_detected_and_converted(tmp_path):
    path = tmp_path / "vantban-cu.txt"
    path.write_bytes(TCVN3_PLAN.encode("cp1252"))  # the bytes an old .VnTime file holds
    extraction = extract(path)
    assert extraction.encoding == "tcvn3"
    for phrase in TCVN3_EXPECTED:
        assert phrase.lower() in extraction.text.lower(), extraction.text
    assert any("TCVN3" in n for n in extraction.notes)


def test_tcvn3_runs_in_a_docx_are_converted_by_their_font(tmp_path):
    document = docx.Document()
    heading = document.add_paragraph().add_run("KÕ HO¹CH")
    heading.font.name = ".VnTimeH"  # the capitals font: TCVN3 has no capital toned letters
    body = document.add_paragraph("Nội dung: ")
    run = body.add_run("thñ tôc hµnh chÝnh ®­îc gi¶i quyÕt ®óng h¹n trªn ®Þa bµn ph­êng")
    run.font.name = ".VnTime"
    document.add_paragraph("Đoạn này đã là Unicode và phải giữ nguyên: Độc lập - Tự do - Hạnh phúc.")
    path = tmp_path / "tron-ma.docx"
    document.save(str(path))
    text = extract(path).text
    assert "KẾ HOẠCH" in text
    assert "Nội dung: thủ tục hành chính được giải quyết đúng hạn trên địa bàn phường" in text
    assert "Độc lập - Tự do - Hạnh phúc." in text


def test_vni_text_is_detected_and_converted(tmp_path):
    path = tmp_path / "vni.txt"
    path.write_text(VNI_PLAN, encoding="utf-8")  # copied out of a VNI-Times document
    extraction = extract(path)
    assert extraction.encoding == "vni"
    assert "Cộng hòa xã hội chủ nghĩa Việt Nam" in extraction.text
    assert "Thủ tục hành chính được giải quyết đúng hạn" in extraction.text


def test_unicode_text_is_left_alone(tmp_path):
    path = tmp_path / "unicode.txt"
    text = "Kế hoạch cải cách hành chính năm 2026 của phường Hòa Bình.\nHòa Bình, ngày 05 tháng 3 năm 2026"
    path.write_text(text, encoding="utf-8")
    extraction = extract(path)
    assert extraction.encoding is None and extraction.text == text


# ------------------------------------------------------------------------ other bad input
def test_old_word_doc_is_converted_or_asks_for_docx(tmp_path):
    path = tmp_path / "ke-hoach-cu.doc"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2048)  # an OLE container, no Word stream
    with pytest.raises(ExtractionError) as err:
        extract(path)
    assert_refused(err, "ke-hoach-cu.doc", "DOCX")
    if not (shutil.which("antiword") or shutil.which("soffice") or shutil.which("libreoffice")):
        assert "libreoffice" in str(err.value).lower() and "antiword" in str(err.value)


def test_duplicate_of_an_indexed_document_is_refused(tmp_path):
    lines = plan_lines("phường Hòa Khánh", "21/KH-UBND", "12 tháng 3", 2026, "Cải cách hành chính năm 2026",
                       ["I. MỤC TIÊU", "Tổ chức Ngày hội dịch vụ công trực tuyến tại Nhà văn hóa tổ dân phố 7."])
    knowledge = tmp_path / "knowledge"
    first = add_file(make_pdf(tmp_path / "a.pdf", lines), knowledge)
    txt = tmp_path / "ban-sao.txt"
    txt.write_text("\n".join(lines), encoding="utf-8")
    before = sorted(p.name for p in (knowledge / "plans").iterdir())
    with pytest.raises(KnowledgeError) as err:
        add_file(txt, knowledge, doc_id="ban-sao-khac-ma")
    assert_refused(err, "ban-sao.txt", "trùng", first.document.id)
    assert sorted(p.name for p in (knowledge / "plans").iterdir()) == before


def test_a_newer_plan_for_the_same_ward_and_topic_replaces_the_old_one(tmp_path):
    knowledge = tmp_path / "knowledge"
    old = tmp_path / "2025.txt"
    old.write_text("\n".join(plan_lines(
        "phường Hòa Khánh", "8/KH-UBND", "10 tháng 1", 2025, "Tuyên truyền cải cách hành chính năm 2025",
        ["I. NỘI DUNG", "Phát 20 bản tin trên loa truyền thanh về thủ tục hành chính."])), encoding="utf-8")
    new = tmp_path / "2026.txt"
    new.write_text("\n".join(plan_lines(
        "phường Hòa Khánh", "9/KH-UBND", "12 tháng 1", 2026, "Tuyên truyền cải cách hành chính năm 2026",
        ["I. NỘI DUNG", "Phát 40 bản tin trên loa truyền thanh và mạng xã hội Zalo của phường."])),
        encoding="utf-8")
    other_topic = tmp_path / "chuyen-doi-so.txt"
    other_topic.write_text("\n".join(plan_lines(
        "phường Hòa Khánh", "10/KH-UBND", "15 tháng 1", 2026, "Chuyển đổi số năm 2026",
        ["I. NỘI DUNG", "Số hóa 100% kết quả giải quyết thủ tục hành chính còn hiệu lực."])), encoding="utf-8")
    first = add_file(old, knowledge)
    second = add_file(new, knowledge)
    third = add_file(other_topic, knowledge)
    assert first.replaces is None and third.replaces is None
    assert second.replaces == first.document.id
    assert frontmatter.load(second.path).metadata["replaces"] == first.document.id
    assert any(first.document.id in n for n in second.notes)
    assert superseded_by(load_documents(knowledge)) == {first.document.id: second.document.id}


def test_docx_text_box_is_read_once_without_its_drawing_position(tmp_path):
    """A Word text box is stored twice (DrawingML and a VML fallback) next to its position in EMU."""
    from docx.oxml import parse_xml

    ns = ('xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
          'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
          'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
          'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
          'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
          'xmlns:v="urn:schemas-microsoft-com:vml"')
    box = '<w:txbxContent><w:p><w:r><w:t>DỰ THẢO</w:t></w:r></w:p></w:txbxContent>'
    run = parse_xml(
        f'<w:r {ns}><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wp:anchor>'
        '<wp:positionH relativeFrom="column"><wp:posOffset>1905000</wp:posOffset></wp:positionH>'
        '<wp:positionV relativeFrom="paragraph"><wp:posOffset>-228600</wp:posOffset></wp:positionV>'
        f'<a:graphic><a:graphicData><wps:wsp><wps:txbx>{box}</wps:txbx></wps:wsp></a:graphicData></a:graphic>'
        f'</wp:anchor></w:drawing></mc:Choice><mc:Fallback><w:pict><v:shape><v:textbox>{box}</v:textbox>'
        '</v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r>')
    document = docx.Document()
    paragraph = document.add_paragraph("Kế hoạch cải cách hành chính năm 2026 của phường Hòa Khánh.")
    paragraph._p.append(run)
    path = tmp_path / "hop-chu.docx"
    document.save(str(path))
    text = extract(path).text
    assert text.count("DỰ THẢO") == 1
    assert "1905000" not in text and "228600" not in text
    assert text.startswith("Kế hoạch cải cách hành chính năm 2026 của phường Hòa Khánh.")
