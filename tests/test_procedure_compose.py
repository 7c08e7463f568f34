"""Procedure answers a citizen reads on a phone: the field asked, a card, or a choice — extractive from
real portal records, with the fee note, missing-unit, HĐND and district-era cases said plainly."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.procedure_compose import (FIELD_LABELS, MAX_BODY, compose_card, compose_choice, compose_field,
                                   compose_fields, paper_text, with_sibling)
from bot.procedures import ProcedureCatalog, load_procedure_lexicon
from index.documents import read_document
from index.procedure_record import Paper

FIXTURES = Path(__file__).parent / "fixtures" / "procedure_records"
LEXICON_DIR = Path(__file__).resolve().parents[1] / "knowledge" / "lexicon"
DOCS = {p.stem: read_document(p) for p in sorted(FIXTURES.glob("*.md"))}
RAW = {p.stem: " ".join(p.read_text(encoding="utf-8").split()) for p in FIXTURES.glob("*.md")}


@pytest.fixture(scope="module")
def catalog():
    return ProcedureCatalog.from_documents(list(DOCS.values()), load_procedure_lexicon(LEXICON_DIR))


def test_fee_by_channel_with_its_notes():
    a = compose_field(DOCS["1.004222"], "fee")
    assert a.text.startswith("Lệ phí đăng ký thường trú: 20.000 đồng nộp trực tiếp, 10.000 đồng nộp trực tuyến.")
    assert "Ghi chú trên Cổng: Trường hợp công dân nộp hồ sơ qua cổng dịch vụ công trực tuyến thu 10.000" in a.text
    assert a.facts["code"] == "1.004222"


def test_the_same_service_online_is_named_as_a_second_source():
    a = with_sibling(compose_field(DOCS["1.013082"], "fee"), DOCS["1.013080"])
    assert a.text.startswith("Lệ phí cấp lại chứng nhận đăng ký xe, biển số xe: ")  # how it is filed: said apart
    assert a.text.endswith("Có thể làm trực tuyến toàn trình trên Cổng DVCQG (thủ tục mã 1.013080) [2].")
    assert [c.doc_id for c in a.citations] == ["1.013082", "1.013080"]
    assert a.sources[1].startswith("[2] Cấp lại chứng nhận đăng ký xe, biển số xe thực hiện bằng dịch vụ công trực "
                                   "tuyến toàn trình (mã 1.013080)")
    back = with_sibling(compose_card(DOCS["1.013080"]), DOCS["1.013082"])
    assert back.text.splitlines()[0] == "Cấp lại chứng nhận đăng ký xe, biển số xe (mã 1.013080)"
    assert back.text.endswith("Nộp trực tiếp hoặc trực tuyến một phần: thủ tục mã 1.013082 [2].")


def test_fee_set_by_the_provincial_council_says_so():
    a = compose_field(DOCS["1.004873"], "fee")
    assert "miễn phí" in a.text and "Mức cụ thể do HĐND tỉnh quyết định" in a.text


def test_fee_figure_that_disagrees_with_its_note_is_flagged():
    a = compose_field(DOCS["3.000347"], "fee")  # portal figure "Miễn phí", note "135.000 đồng/lần"
    assert "khác với ghi chú" in a.text and "135.000 đồng/lần" in a.text


def test_fee_unit_note_joins_the_figure():
    a = compose_field(DOCS["2.000815"], "fee")
    assert "2.000 đồng/trang" in a.text and "10 USD/bản" in a.text
    assert "Ghi chú trên Cổng: /trang" not in a.text


def test_time_with_a_lost_unit_gives_the_figure_and_says_the_unit_is_missing():
    a = compose_field(DOCS["1.001193"], "time")
    assert a.text.startswith("Thời hạn giải quyết đăng ký khai sinh: 1.")
    assert "không ghi đơn vị" in a.text
    assert "ngày" not in a.text.split("\n")[0]  # never guessed


def test_time_grouped_by_channel():
    a = compose_field(DOCS["1.004222"], "time")
    assert a.text == "Thời hạn giải quyết đăng ký thường trú: 7 ngày làm việc."


def test_papers_list_forms_and_copies_then_how_many_more():
    a = compose_field(DOCS["1.004194"], "papers")
    assert a.text.startswith("Giấy tờ cần nộp để đăng ký tạm trú")
    assert "Tờ khai thay đổi thông tin cư trú (Mẫu CT01), 1 bản chính" in a.text
    assert re.search(r"và \d+ mục khác \(xem trên Cổng DVCQG\)\.$", a.text.split("\n")[-1])


def test_papers_put_main_papers_before_special_cases():
    lines = [ln for ln in compose_field(DOCS["1.001193"], "papers").text.splitlines() if ln.startswith("- ")]
    birth = next(i for i, ln in enumerate(lines) if ln.startswith("- Giấy chứng sinh"))
    assert all(not ln.startswith("- Trường hợp") for ln in lines[:birth])


def test_paper_name_is_cut_at_a_clause_without_a_dangling_parenthesis():
    p = Paper(name="Tờ khai thay đổi thông tin cư trú (mẫu CT01 ban hành kèm theo Thông tư số 53/2025/TT-BCA).",
              form="Mẫu CT01", copies="1 bản chính")
    assert paper_text(p) == "- Tờ khai thay đổi thông tin cư trú (Mẫu CT01), 1 bản chính"


def test_where_names_the_level_and_the_agency():
    a = compose_field(DOCS["1.004222"], "where")
    assert "cấp xã (Trung tâm phục vụ hành chính công / UBND cấp xã)" in a.text
    assert "Công an cấp Xã" in a.text
    passport = compose_field(DOCS["1.001456"], "where")
    assert "cấp tỉnh" in passport.text and "cấp xã" not in passport.text


def test_where_quotes_the_office_the_steps_send_the_file_to_when_no_address_is_given():
    """"Cơ quan thực hiện: Ủy ban nhân dân cấp xã" — but the steps say the file goes to the business registry."""
    a = compose_field(DOCS["1.001612"], "where")
    assert "hồ sơ nộp tới: Cơ quan đăng ký kinh doanh cấp xã" in a.text
    assert ".." not in a.text and "…." not in a.text
    assert "hồ sơ nộp tới" not in compose_field(DOCS["1.004222"], "where").text  # its receiving address says it


def test_online_gives_the_portal_link_or_says_it_is_not_possible():
    yes = compose_field(DOCS["1.010041"], "online")
    assert f"Cổng Dịch vụ công quốc gia: {DOCS['1.010041'].source}" in yes.text
    no = compose_field(DOCS["2.000815"], "online")
    assert "chưa nộp trực tuyến được" in no.text


def test_conditions_who_and_result():
    assert "không nêu yêu cầu, điều kiện" in compose_field(DOCS["1.001193"], "conditions").text
    assert "Cơ sở dữ liệu quốc gia về dân cư" in compose_field(DOCS["1.004222"], "conditions").text
    assert "Công dân Việt Nam" in compose_field(DOCS["1.004222"], "who").text
    assert "Giấy khai sinh" in compose_field(DOCS["1.001193"], "result").text


def test_district_era_record_warns_in_every_answer():
    for field in (*FIELD_LABELS, None):
        a = compose_card(DOCS["2.000986"]) if field is None else compose_field(DOCS["2.000986"], field)
        assert "cấp huyện" in a.text and "01/7/2025" in a.text and len(a.text) <= MAX_BODY
    assert "cấp huyện" not in compose_field(DOCS["1.004222"], "fee").text


def test_card_has_where_time_fee_papers_and_link():
    a = compose_card(DOCS["1.014063"])
    assert a.text.startswith("Cấp đổi thẻ căn cước (mã 1.014063)")
    for part in ("cấp xã", "Công an cấp Xã", "Thời hạn: 7 ngày làm việc", "Lệ phí: 50.000 đồng",
                 DOCS["1.014063"].source):
        assert part in a.text
    card = compose_card(DOCS["1.004194"])
    assert "Giấy tờ chính:" in card.text and "Tờ khai thay đổi thông tin cư trú (Mẫu CT01)" in card.text
    assert a.field is None


def test_choice_names_the_candidates_and_returns_buttons(catalog):
    found = catalog.match("xóa đăng ký")
    a = compose_choice(found)
    assert a.text.startswith("Có vài thủ tục gần với câu hỏi:") and a.text.endswith("Bạn hỏi thủ tục nào?")
    assert "1) Xóa đăng ký" in a.text and "2) Xóa đăng ký" in a.text
    assert [o["code"] for o in a.options] == [m.code for m in found[:3]]
    assert [c.doc_id for c in a.citations] == [m.code for m in found[:3]] and a.field == "choice"


def test_every_answer_cites_code_name_portal_and_crawl_month(catalog):
    a = compose_field(catalog.match("đăng ký thường trú bao nhiêu tiền")[0], "fee")
    c = a.citations[0]
    assert c.doc_id == "1.004222" and c.title == "Đăng ký thường trú (mã 1.004222)"
    assert c.source == DOCS["1.004222"].source and c.label().endswith("tháng 6/2026")
    assert a.sources == [f"[1] Đăng ký thường trú (mã 1.004222) — cập nhật theo Cổng DVCQG, tháng 6/2026: "
                         f"{DOCS['1.004222'].source}"]


@pytest.mark.parametrize("code", sorted(DOCS))
def test_every_record_and_field_fits_a_phone_without_headings(code):
    for field in (*FIELD_LABELS, None):
        a = compose_card(DOCS[code]) if field is None else compose_field(DOCS[code], field)
        assert 0 < len(a.text) <= MAX_BODY, (field, a.text)
        assert "##" not in a.text and not a.text.rstrip().endswith(":")
        assert not re.search(r"như sau\s*:?\s*$", a.text)


@pytest.mark.parametrize("code", sorted(DOCS))
def test_figures_come_from_the_record(code):
    """Extractive: every amount and duration stated appears in the record file itself."""
    for field in ("fee", "time"):
        text = compose_field(DOCS[code], field).text
        for figure in re.findall(r"\d[\d.]*(?= (?:đồng|USD|ngày|giờ|tháng))", text):
            assert figure in RAW[code], (field, figure)


def test_abolished_paper_named_by_the_citizen_is_explained(catalog):
    match = catalog.match("làm hộ khẩu cho vợ mất bao lâu")[0]
    a = compose_field(match, "time")
    assert a.text.startswith("Thời hạn giải quyết đăng ký thường trú: 7 ngày làm việc.")
    assert "Ghi chú: Sổ hộ khẩu đã bỏ từ 01/01/2023" in a.text
    plain = compose_field(catalog.match("đăng ký thường trú mất bao lâu")[0], "time")
    assert "hộ khẩu" not in plain.text  # no note when the citizen used the catalogue's name


def test_several_fields_in_one_reply_in_the_order_asked():
    from bot.procedure_compose import compose_fields

    a = compose_fields(DOCS["1.004194"], ["time", "fee"])
    lines = a.text.splitlines()
    assert lines[0] == "Thời hạn giải quyết đăng ký tạm trú: 3 ngày làm việc."
    assert lines[1].startswith("Lệ phí đăng ký tạm trú: 10.000 đồng nộp trực tiếp, 7.000 đồng nộp trực tuyến.")
    assert len(a.text) <= MAX_BODY and a.facts["times"] and a.facts["fees"]
    both = compose_fields(DOCS["2.000986"], ["papers", "time", "fee"])  # district era: warning kept at the end
    assert len(both.text) <= MAX_BODY and both.text.endswith("hãy hỏi Trung tâm phục vụ hành chính công xã/phường.")


def test_the_form_to_fill_in_comes_first_even_when_the_page_lists_it_late():
    """"Tờ khai … (nếu … nộp hồ sơ theo hình thức trực tiếp …)" is everyone's form, not a special case."""
    a = compose_field(DOCS["1.001193"], "papers")
    first = a.text.split("\n")[1]
    assert first.startswith("- Tờ khai đăng ký khai sinh")


def test_a_fee_whose_notes_do_not_fit_says_it_has_notes():
    """Another field came first and left no room for the fee's notes: the figure still says the portal notes it."""
    from bot.procedure_compose import field_text, sections
    from index.procedure_record import procedure_fields
    doc = DOCS["1.004194"]
    short = field_text(procedure_fields(doc), sections(doc.body), "fee", [], 180)[0]
    assert "10.000 đồng" in short and "có ghi chú trên Cổng" in short and "Ghi chú trên Cổng:" not in short


def test_a_time_the_channel_table_lacks_is_quoted_from_the_steps():
    """The household-business page leaves every channel's time blank; its steps say "trong thời hạn 03 ngày làm
    việc". The citizen gets that sentence, with where it comes from, rather than "not stated"."""
    text = compose_field(DOCS["1.001612"], "time").text
    assert "03 ngày làm việc" in text and "trình tự thực hiện ghi" in text


def test_a_step_time_is_quoted_from_its_own_clause_whole():
    from bot.procedure_text import step_time

    assert step_time({"Trình tự thực hiện": "- Cơ quan giải quyết trong thời hạn 05 ngày làm việc kể từ ngày nhận."}) \
        == "Cơ quan giải quyết trong thời hạn 05 ngày làm việc kể từ ngày nhận"
    assert step_time({"Trình tự thực hiện": "- Bước 1: nộp hồ sơ. Cơ quan trả kết quả trong 3 ngày làm việc; sau đó"}) \
        == "Cơ quan trả kết quả trong 3 ngày làm việc"
    assert step_time({"Trình tự thực hiện": "- Nộp hồ sơ tại bộ phận một cửa."}) is None
