"""Metadata proposed from the real seeds: only what the text says, nothing invented."""
import pytest

from index.clean import clean
from index.metadata import former_names, propose, ward_key


@pytest.fixture(scope="module")
def proposed(seed_text):
    cache = {}

    def get(prefix: str) -> dict:
        if prefix not in cache:
            cache[prefix] = propose(clean(seed_text(prefix)), source=f"{prefix}.txt")
        return cache[prefix]

    return get


def test_an_hai_2025_plan(proposed):
    p = proposed("000")
    v = p.values
    assert v["ward"] == "phường An Hải"
    assert v["city"] == "Hải Phòng"
    assert v["type"] == "kế hoạch"
    assert v["year"] == 2025
    assert v["period"] == "6 tháng cuối năm 2025"
    assert v["date"] == "2025-08"  # day left blank in the original
    assert "An Hải" in v["title"] and v["title"].startswith("Kế hoạch")


def test_blank_number_stays_empty(proposed, seed_text):
    assert "Số:       /KH-UBND" in seed_text("000")
    p = proposed("000")
    assert p.values["number"] is None
    assert "number" in p.missing
    assert p.values.get("number_note")


def test_hung_phu_plan(proposed):
    v = proposed("003").values
    assert v["ward"] == "phường Hưng Phú"
    assert v["city"] == "Cần Thơ"
    assert v["signer"] == "Nguyễn Thị Trúc Linh"
    assert v["number"] is None
    assert v["year"] == 2025
    assert v["issuer"] == "Ủy ban nhân dân phường Hưng Phú"
    assert v["former_names"] == ["Phú Thứ", "Tân Phú"]  # "03 phường cũ: Hưng Phú, Phú Thứ và Tân Phú"


@pytest.mark.parametrize("text, ward, former", [
    ("Phường Tân Lập được thành lập trên cơ sở sắp xếp toàn bộ diện tích tự nhiên của các xã Tân Hòa, Tân Bình "
     "và thị trấn Cát Hải.", "phường Tân Lập", ["Tân Hòa", "Tân Bình", "Cát Hải"]),
    ("Kế thừa kết quả của 02 xã cũ: Đông Sơn và Đông Hưng.", "xã Đông Sơn", ["Đông Hưng"]),
    ("Nghị quyết về sắp xếp đơn vị hành chính cấp huyện, cấp xã giai đoạn 2023 - 2030.", "phường A", []),
])
def test_the_wards_merged_in_2025_are_read_from_the_text(text, ward, former):
    assert former_names(text, ward) == former


def test_an_hai_2026_plan_dated_by_its_decision(proposed):
    v = proposed("002").values
    assert v["date"] == "2026-01-26"
    assert v["ward"] == "phường An Hải"
    assert v["year"] == 2026
    assert v["attached_to"] == "Quyết định số 123/QĐ-UBND"
    assert v["number"] is None


def test_phu_thai_plan_without_header_reads_ward_from_title(proposed):
    v = proposed("001").values
    assert v["ward"] == "xã Phú Thái"
    assert v["city"] == "Hải Phòng"
    assert v["signer"] == "Phạm Tiến Nhuận"
    assert v["signer_title"] == "Phó Chủ tịch"


def test_cong_van_does_not_invent_place_or_date(proposed):
    p = proposed("004")
    v = p.values
    assert v["type"] == "công văn"
    assert v["ward"] is None
    assert v["city"] is None
    assert v["date"] is None
    assert v["number"] is None
    assert v["title"] is None  # no title printed: the officer must write one
    assert v["signer"] == "Trần Thị Thủy Nga"
    assert {"ward", "date", "title"} <= set(p.missing)


def test_source_is_recorded(proposed):
    assert proposed("002").values["source"] == "002.txt"


@pytest.mark.parametrize(
    ("ward", "key"),
    [("phường An Hải", "an hai"), ("xã Phú Thái", "phu thai"), ("phường Hưng Phú", "hung phu"), (None, None)],
)
def test_ward_key(ward, key):
    assert ward_key(ward) == key


# ------------------------------------------------------------ provincial and other layouts
def letter(agency: list[str], number: str, place_date: str, title: list[str], body: list[str],
           motto: tuple[str, str] = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")) -> str:
    """Text as extraction gives it for a two-column letterhead: agency | motto side by side."""
    left = agency + [f"Số: {number}"]
    right = [*motto, place_date]
    rows = ["   ".join(p for p in pair if p) for pair in zip(left + [""] * 3, right + [""] * 3)]
    rows = [r for r in rows if r.strip()]
    return "\n".join([*rows, *title, *body, "Nơi nhận:", "- Như trên;", "- Lưu: VT.",
                      "TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Hoàng Văn Nam"])


SECTION = ["I. MỤC ĐÍCH, YÊU CẦU", "1. Mục đích", "a) Nâng cao nhận thức của người dân về dịch vụ công trực tuyến."]


def propose_text(text: str) -> dict:
    return propose(clean(text), source="x.docx").values


def test_provincial_plan_reads_number_date_issuer_scope():
    v = propose_text(letter(
        ["ỦY BAN NHÂN DÂN", "TỈNH QUẢNG TRỊ"], "123/KH-UBND", "Quảng Trị, ngày 15 tháng 01 năm 2026",
        ["KẾ HOẠCH", "Tuyên truyền cải cách hành chính năm 2026"],
        ["Căn cứ Nghị quyết số 76/NQ-CP ngày 15 tháng 7 năm 2021 của Chính phủ;",
         "Ủy ban nhân dân tỉnh ban hành Kế hoạch như sau:", *SECTION]))
    assert v["title"] == "Kế hoạch tuyên truyền cải cách hành chính năm 2026"
    assert (v["number"], v["date"], v["type"], v["year"]) == ("123/KH-UBND", "2026-01-15", "kế hoạch", 2026)
    assert (v["issuer"], v["scope"], v["city"], v["ward"]) == (
        "Ủy ban nhân dân tỉnh Quảng Trị", "province", "Quảng Trị", None)


def test_province_document_does_not_ask_for_a_ward():
    p = propose(clean(letter(["ỦY BAN NHÂN DÂN", "TỈNH QUẢNG TRỊ"], "412/BC-UBND",
                             "Quảng Trị, ngày 18 tháng 12 năm 2025",
                             ["BÁO CÁO", "Kết quả công tác cải cách hành chính năm 2025"],
                             ["Thực hiện Công văn số 6254/BNV-CCHC của Bộ Nội vụ, Ủy ban nhân dân tỉnh báo cáo:",
                              *SECTION])))
    assert p.values["type"] == "báo cáo" and p.values["scope"] == "province"
    assert "ward" not in p.missing


@pytest.mark.parametrize("first", [
    "- Căn cứ Kế hoạch số 45/KH-UBND ngày 05/01/2026 của Ủy ban nhân dân tỉnh về cải cách hành chính;",
    "Năm 2026 là năm đầu vận hành ổn định chính quyền địa phương hai cấp; Ủy ban nhân dân tỉnh ban hành "
    "Kế hoạch tuyên truyền cải cách hành chính với các nội dung sau:",
    "Triển khai Kế hoạch cải cách hành chính năm 2026 của tỉnh, Ủy ban nhân dân tỉnh ban hành Kế hoạch "
    "tuyên truyền với những nội dung chủ yếu như sau đây, để các cơ quan, đơn vị tổ chức thực hiện thống nhất.",
])
def test_title_stops_before_the_first_paragraph(first):
    c = clean(letter(["ỦY BAN NHÂN DÂN", "TỈNH QUẢNG TRỊ"], "123/KH-UBND", "Quảng Trị, ngày 15 tháng 01 năm 2026",
                     ["KẾ HOẠCH", "Tuyên truyền cải cách hành chính", "năm 2026"], [first, *SECTION]))
    v = propose(c).values
    assert v["title"] == "Kế hoạch tuyên truyền cải cách hành chính năm 2026"
    assert first.lstrip("- ")[:40] in c.body  # the first paragraph stays in the body


def test_subject_line_that_starts_like_a_sentence_stays_in_the_title():
    v = propose_text(letter(["ỦY BAN NHÂN DÂN", "TỈNH QUẢNG TRỊ"], "7/KH-UBND", "Quảng Trị, ngày 02 tháng 02 năm 2026",
                            ["KẾ HOẠCH", "Thực hiện Chương trình chuyển đổi số năm 2026"],
                            ["Căn cứ Nghị quyết số 57-NQ/TW của Bộ Chính trị;", *SECTION]))
    assert v["title"] == "Kế hoạch thực hiện Chương trình chuyển đổi số năm 2026"


def test_caps_title_becomes_sentence_case_and_keeps_the_province_name():
    v = propose_text(letter(["UBND TỈNH QUẢNG TRỊ"], "15/KH-UBND", "Quảng Trị, ngày 03 tháng 3 năm 2026",
                            ["KẾ HOẠCH", "TUYÊN TRUYỀN CẢI CÁCH HÀNH CHÍNH TỈNH QUẢNG TRỊ NĂM 2026"],
                            ["Căn cứ Kế hoạch số 45/KH-UBND;", *SECTION]))
    assert v["title"] == "Kế hoạch tuyên truyền cải cách hành chính tỉnh Quảng Trị năm 2026"


def test_old_style_accents_and_en_dash_motto_are_not_read_as_a_commune():
    text = letter(["UỶ BAN NHÂN DÂN", "TỈNH QUẢNG TRỊ"], "123/KH–UBND", "Quảng Trị, ngày 15 tháng 01 năm 2026",
                  ["KẾ HOẠCH", "Tuyên truyền cải cách hành chính năm 2026"], ["Căn cứ Kế hoạch số 45;", *SECTION],
                  motto=("CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập – Tự do – Hạnh phúc"))
    v = propose_text(text)
    assert v["ward"] is None and v["scope"] == "province"
    assert v["issuer"] == "Ủy ban nhân dân tỉnh Quảng Trị"
    assert v["number"] == "123/KH-UBND"


def test_department_of_a_province_and_a_ministry():
    dept = propose_text(letter(["UBND TỈNH QUẢNG TRỊ", "SỞ NỘI VỤ"], "88/HD-SNV", "Quảng Trị, ngày 20 tháng 01 năm 2026",
                               ["HƯỚNG DẪN", "Đánh giá chỉ số cải cách hành chính năm 2026"],
                               ["Căn cứ Kế hoạch số 45/KH-UBND;", *SECTION]))
    assert (dept["issuer"], dept["scope"], dept["type"]) == ("Sở Nội vụ tỉnh Quảng Trị", "province", "hướng dẫn")
    ministry = propose_text(letter(["BỘ NỘI VỤ"], "6254/BNV-CCHC", "Hà Nội, ngày 20 tháng 11 năm 2025",
                                   [], ["Kính gửi: Ủy ban nhân dân các tỉnh, thành phố", *SECTION]))
    assert (ministry["issuer"], ministry["scope"], ministry["type"]) == ("Bộ Nội vụ", "national", "công văn")


def test_letter_type_and_title_from_its_subject_line():
    text = letter(["ỦY BAN NHÂN DÂN", "TỈNH QUẢNG TRỊ"], "2345/UBND-VP", "Quảng Trị, ngày 10 tháng 3 năm 2026",
                  ["V/v triển khai dịch vụ công trực tuyến toàn trình"], ["Kính gửi: Các sở, ban, ngành", *SECTION])
    v = propose_text(text.replace("   Quảng Trị, ngày", "   Quảng Trị, ngày", 1))
    assert v["number"] == "2345/UBND-VP" and v["type"] == "công văn"
    assert v["title"] == "Công văn về việc triển khai dịch vụ công trực tuyến toàn trình"


def test_number_with_year_and_ward_scope():
    v = propose_text(letter(["ỦY BAN NHÂN DÂN", "XÃ PHÚ THÁI"], "12/2026/QĐ-UBND", "Phú Thái, ngày 05 tháng 02 năm 2026",
                            ["QUYẾT ĐỊNH", "Ban hành Quy chế làm việc của Ủy ban nhân dân xã"],
                            ["Căn cứ Luật Tổ chức chính quyền địa phương;", *SECTION]))
    assert v["number"] == "12/2026/QĐ-UBND"
    assert (v["ward"], v["scope"], v["issuer"]) == ("xã Phú Thái", "ward", "Ủy ban nhân dân xã Phú Thái")


def test_own_number_in_the_appendix_note_is_not_an_attachment():
    text = letter(["ỦY BAN NHÂN DÂN", "TỈNH QUẢNG TRỊ"], "123/KH-UBND", "Quảng Trị, ngày 15 tháng 01 năm 2026",
                  ["KẾ HOẠCH", "Tuyên truyền cải cách hành chính năm 2026"], ["Căn cứ Kế hoạch số 45;", *SECTION])
    text += "\nPHỤ LỤC\nDANH MỤC HOẠT ĐỘNG\n(Kèm theo Kế hoạch số 123/KH-UBND ngày 15/01/2026 của UBND tỉnh)\n" \
            "STT\nNội dung\n1\nPhát sóng chuyên mục"
    assert "attached_to" not in propose_text(text)


def test_type_and_subject_printed_on_one_caps_line():
    v = propose_text(letter(["ỦY BAN NHÂN DÂN", "TỈNH QUẢNG TRỊ"], "9/KH-UBND", "Quảng Trị, ngày 09 tháng 01 năm 2026",
                            ["KẾ HOẠCH TUYÊN TRUYỀN CẢI CÁCH HÀNH CHÍNH NĂM 2026"],
                            ["Căn cứ Kế hoạch số 45/KH-UBND;", *SECTION]))
    assert (v["type"], v["title"]) == ("kế hoạch", "Kế hoạch tuyên truyền cải cách hành chính năm 2026")
