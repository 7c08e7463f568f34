"""Recognising the procedure a citizen means and the field asked, on real portal records (fixtures made
by the real importer from the June 2026 crawl) and the project's own lexicon files."""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from bot.procedures import (ProcedureCatalog, ambiguous, asked_field, asked_fields, document_from_meta,
                            load_procedure_lexicon)
from bot.procedure_names import action_heads, unique_short_names, with_action
from index.documents import read_document
from index.lexicon import load_lexicon

FIXTURES = Path(__file__).parent / "fixtures" / "procedure_records"
LEXICON_DIR = Path(__file__).resolve().parents[1] / "knowledge" / "lexicon"


@pytest.fixture(scope="module")
def docs():
    return [read_document(p) for p in sorted(FIXTURES.glob("*.md"))]


@pytest.fixture(scope="module")
def catalog(docs):
    return ProcedureCatalog.from_documents(docs, load_procedure_lexicon(LEXICON_DIR))


def top(catalog, question: str) -> str | None:
    found = catalog.match(question)
    return found[0].code if found else None


@pytest.mark.parametrize("question, code", [
    ("thủ tục đăng ký thường trú cần những gì", "1.004222"),
    ("dang ky thuong tru can nhung gi", "1.004222"),
    ("đăng ký tạm trú ở đâu", "1.004194"),
    ("dang ky tam tru o dau", "1.004194"),
    ("dky tam tru o dau", "1.004194"),  # chat abbreviation
    ("đăng kí tạm trú ở đâu", "1.004194"),  # "kí" spelling
    ("gia hạn tạm trú mất mấy ngày", "1.002755"),
    ("cấp đổi thẻ căn cước lệ phí bao nhiêu", "1.014063"),
    ("cap lai the can cuoc bao lau thi co", "1.014064"),
    ("đăng ký kết hôn cần mang theo gì", "1.000894"),
    ("dang ky khai tu o dau", "1.000656"),
    ("xác nhận thông tin về cư trú làm trực tuyến được không", "1.010041"),
    ("tach ho can dieu kien gi", "1.010038"),
    ("khai báo tạm vắng", "1.003677"),
    ("cấp bản sao giấy khai sinh", "2.000635"),
    ("đăng ký thành lập hộ kinh doanh mất bao lâu", "1.001612"),
])
def test_official_names_with_and_without_diacritics(catalog, question, code):
    assert top(catalog, question) == code


@pytest.mark.parametrize("question, code", [
    ("làm sổ hồng mất bao lâu", "1.013978"),
    ("lam so do lan dau o dau", "1.013978"),
    ("giay chung tu lam o dau", "1.000656"),
    ("mẹ tôi mất, làm giấy chứng tử cần gì", "1.000656"),
    ("xin lý lịch tư pháp mất mấy ngày", "3.000333"),
    ("xin ly lich tu phap o dau", "3.000333"),
    ("đổi bằng lái hết hạn cần giấy tờ gì", "3.000347"),
    ("mất bằng lái thì làm lại thế nào", "3.000348"),
    ("nhập hộ khẩu cho con mới sinh", "1.004222"),
    ("cat khau cho nguoi da mat", "1.003197"),
    ("tách hộ khẩu ra ở riêng", "1.010038"),
    ("trường bắt nộp sổ hộ khẩu thì xin ở đâu", "1.010041"),
    ("xin giấy xác nhận độc thân để mua nhà", "1.004873"),
    ("giay doc than lam o dau", "1.004873"),
    ("đổi cccd hết bao nhiêu tiền", "1.014063"),
    ("làm căn cước cho con 5 tuổi", "1.014062"),
    ("photo công chứng giấy tờ ở phường", "2.000815"),
    ("mua xe máy cũ sang tên xe ở đâu", "1.013076"),
    ("dang ky xe may moi o dau", "1.013067"),  # one word said inside the colloquial name "đăng ký xe mới"
    ("mở quán ăn có cần giấy phép kinh doanh không", "1.001612"),
    ("rut bhxh 1 lan can gi", "1.001613"),
    ("làm hộ chiếu lần đầu bao lâu", "1.001456"),
    ("chồng tôi là người Hàn, lấy chồng nước ngoài thì đăng ký ở đâu", "2.000806"),
    ("mat bang lai xe may lam lai the nao", "3.000348"),  # two overlapping colloquial terms both count
    ("công chứng bản sao sổ đỏ ở phường bao nhiêu tiền", "2.000815"),  # the object does not swamp the action
    ("đổi sổ đỏ bị rách", "1.012783"),
])
def test_colloquial_names_from_the_lexicon(catalog, question, code):
    assert top(catalog, question) == code
    assert catalog.match(question)[0].recognised


def test_hokhau_note_explains_the_abolished_book(catalog):
    found = catalog.match("làm hộ khẩu cho vợ về ở chung")
    assert found[0].code == "1.004222"
    assert any("2023" in e.note for e in found[0].via)
    assert found[0].why().startswith("Nhận ra thủ tục “Đăng ký thường trú” (mã 1.004222) qua tên gọi “hộ khẩu”")


def test_general_variant_wins_when_no_special_case_is_named(catalog):
    found = catalog.match("khai sinh cho con cần gì")
    assert found[0].code == "1.001193"
    assert not ambiguous(found)
    foreign = catalog.match("khai sinh có yếu tố nước ngoài cần gì")
    assert foreign[0].code == "2.000528"
    assert catalog.match("đăng ký khai sinh lưu động")[0].code == "1.003583"
    assert catalog.match("đăng ký lại kết hôn")[0].code == "1.004746"



@pytest.mark.parametrize("question, code", [
    ("chứng thực chữ ký hết bao nhiêu tiền", "2.000884"),  # "… trong các giấy tờ, văn bản (áp dụng cho cả …)"
    ("chung thuc ban sao lam o dau", "2.000815"),  # "… từ bản chính giấy tờ, văn bản do cơ quan, tổ chức …"
])
def test_the_head_of_a_long_official_name_names_it(catalog, question, code):
    """People say the head of a long name; the variants whose names add to it ("… người dịch mà …") are not
    offered as a choice nobody asked for."""
    found = catalog.match(question)
    assert found[0].code == code and found[0].recognised
    assert not found.ambiguous


def test_do_or_ask_for_stands_for_the_action_a_name_opens_with(catalog):
    """"làm khai tử", "xin hộ chiếu": the generic verb is read as the name's own action (đăng ký, cấp), so a question
    full of the citizen's situation still names the procedure whole."""
    situation = catalog.match("Bố tôi vừa mất ở nhà, đi làm khai tử cần mang theo những giấy tờ gì?")[0]
    assert situation.code == "1.000656" and situation.name_coverage == 1.0
    assert catalog.match("xin hộ chiếu mất mấy ngày")[0].code == "1.001456"
    heads = action_heads(["Thủ tục đăng ký khai tử", "Cấp hộ chiếu phổ thông", "Cấp giấy phép lái xe",
                          "Đăng ký giấy phép kinh doanh"])
    assert heads == {("khai", "tu"): "đăng ký", ("ho", "chieu"): "cấp"}  # "giấy …" opened by two actions: no guess
    assert with_action("đi làm khai tử", heads) == "đi đăng ký khai tử"
    assert with_action("đăng ký khai tử", heads) == "đăng ký khai tử"


def test_a_head_shared_by_two_names_or_too_short_names_nothing():
    heads = unique_short_names(["Cấp đổi thẻ căn cước trong trường hợp …", "Cấp đổi thẻ căn cước mà không …",
                                "Cấp giấy phép mà không có", "Xóa đăng ký tạm trú",
                                "Chứng thực bản sao từ bản chính giấy tờ, văn bản"])
    assert heads == [None, None, None, None, "Chứng thực bản sao"]  # shared, too short, no qualifier, a head


def test_ward_level_preferred_over_province_and_ministry(catalog):
    found = catalog.match("cấp thẻ căn cước cho người từ đủ 14 tuổi trở lên")
    assert [m.code for m in found[:2]] == ["1.014061", "2.000200"]
    assert not found.ambiguous  # one procedure at two levels is no reason to ask back


def test_one_service_published_for_two_channels_is_not_a_choice(catalog):
    """The police publish "cấp lại chứng nhận đăng ký xe" twice: fully online, and in person or partly online.
    A citizen asking gets the in-person record unless they ask about doing it online."""
    found = catalog.match("lam lai cavet xe may het bao nhieu tien")
    assert [m.code for m in found[:2]] == ["1.013082", "1.013080"]
    assert not found.ambiguous
    online = catalog.match("làm lại cà vẹt online được không")
    assert online[0].code == "1.013080" and not online.ambiguous


def test_a_name_compound_matches_only_when_said_whole(catalog):
    """"xe máy" of a citizen is a motorbike, not the "xe máy chuyên dùng" (machinery) of inspection procedures."""
    assert "1.013335" not in [m.code for m in catalog.match("đăng ký xe máy mới mua cần gì")]
    assert top(catalog, "bổ sung hồ sơ đăng ký chứng nhận xe máy chuyên dùng") == "1.013335"


def test_close_different_procedures_are_ambiguous(catalog):
    found = catalog.match("xóa đăng ký")
    assert {m.code for m in found[:2]} == {"1.010028", "1.003197"}
    assert found.ambiguous


def test_withdrawn_records_are_never_matched(catalog, docs):
    assert any(d.id == "1.010385" and d.extra["status"] == "withdrawn" for d in docs)
    for q in ("trình báo mất hộ chiếu phổ thông thực hiện tại cấp huyện", "mất hộ chiếu báo ở đâu"):
        codes = [m.code for m in catalog.match(q, k=10)]
        assert "1.010385" not in codes
        assert codes[0] == "1.010386"


@pytest.mark.parametrize("question", ["xin học bổng cho con", "thời tiết hôm nay thế nào", "lệ phí bao nhiêu",
                                      "xin việc làm ở phường", "đăng ký tiêm chủng cho trẻ"])
def test_questions_outside_the_catalogue_are_not_recognised(catalog, question):
    found = catalog.match(question)
    assert not found or not found[0].recognised


@pytest.mark.parametrize("question", ["con tôi mới sinh được 1 tháng, giờ đi làm khai sinh thì mang những gì",
                                      "chứng thực chữ ký", "khai tử", "làm sổ hồng mất bao lâu"])
def test_chatty_or_short_questions_are_recognised(catalog, question):
    assert catalog.match(question)[0].recognised


def test_coverage_drops_with_words_no_name_has(catalog):
    exact = catalog.match("đăng ký khai tử")[0]
    vague = catalog.match("đăng ký khai tử cho cụ ông ở bệnh viện tỉnh bên")[0]
    assert exact.code == vague.code == "1.000656"
    assert exact.coverage == 1.0 and vague.coverage < 0.8


@pytest.mark.parametrize("question, field", [
    ("đăng ký tạm trú mất bao nhiêu tiền", "fee"),
    ("dang ky tam tru bn tien", "fee"),
    ("lệ phí cấp đổi căn cước", "fee"),
    ("đổi căn cước có mất phí hong", "fee"),
    ("làm căn cước mất mấy ngày", "time"),
    ("chứng thực di chúc ở xã mất bao nhiêu", "fee"),  # "mất / hết bao nhiêu" with no unit asks the fee …
    ("đăng ký thường trú hết bao nhiêu ngày", "time"),  # … with "ngày" the time
    ("lam can cuoc bao lau thi co", "time"),
    ("đăng ký kết hôn cần giấy tờ j", "papers"),
    ("khai tu can mang theo nhung gi", "papers"),
    ("xin lý lịch tư pháp làm ở đâu", "where"),
    ("lam so do nop o dau", "where"),
    ("đăng ký khai tử làm như thế nào", "steps"),
    ("thuê nhà có đủ điều kiện đăng ký thường trú không", "conditions"),
    ("cấp đổi căn cước nộp onl đc ko", "online"),
    ("xac nhan cu tru lam online duoc khong", "online"),
    ("ai được đi khai tử cho người mất", "who"),
    ("nhờ chị gái đi đăng ký kết hôn thay có được không", "who"),  # someone else doing it
    ("đăng ký tạm trú cho người thuê trọ thì khai mẫu gì", "papers"),  # which form
    ("đổi căn cước có phải mang bản gốc giấy khai sinh không", "papers"),
    ("cấp lại thẻ căn cước bị mất, thẻ mới có gửi về tận nhà không", "online"),  # delivered home by post
    ("đăng ký thường trú xong thì nhận được giấy gì", "result"),
    ("đăng ký thường trú", None),
])
def test_asked_field_from_cue_phrases(question, field):
    assert asked_field(question) == field


def test_several_fields_in_the_order_asked():
    assert asked_fields("làm sổ đỏ cần giấy tờ gì và mất bao lâu") == ["papers", "time"]


def test_the_last_sentence_says_what_is_asked_the_earlier_ones_the_situation():
    """"được phép", "mang theo" tell what happened; the last sentence asks the time, which is answered first."""
    asked = asked_fields("Nhà tôi được phép xây thêm tầng, tôi mang theo bản vẽ rồi. Xin cấp phép thì mất mấy ngày?")
    assert asked[0] == "time" and set(asked) == {"time", "conditions", "papers"}
    assert asked_fields("mua xe cũ thì làm bước gì trước") == ["steps"]
    assert asked_fields("hồ sơ của tôi đang xử lý đến bước nào rồi") == []  # one's own file, not the steps


def test_cue_inside_a_colloquial_name_is_not_a_field():
    # "công chứng giấy tờ" is a procedure name, not a question about papers
    assert asked_fields("công chứng giấy tờ ở phường bao nhiêu tiền") == ["fee"]


def test_lexicon_files_are_data_with_notes_and_examples():
    lex = load_lexicon(LEXICON_DIR)
    assert len(lex.procedure_names) >= 60
    assert all(e.note and e.example for e in lex.procedure_names)
    hokhau = next(e for e in lex.procedure_names if e.term == "hộ khẩu")
    assert "thường trú" in hokhau.means and "2023" in hokhau.note
    assert set(lex.procedure_fields) == {"fee", "time", "papers", "where", "steps", "conditions", "online", "who",
                                         "result"}


def test_an_officer_entry_changes_recognition(tmp_path, docs):
    (tmp_path / "procedure_names.yaml").write_text(
        "entries:\n  - term: giấy báo hỉ\n    means: đăng ký kết hôn\n    note: thử\n"
        "    example: làm giấy báo hỉ ở đâu\n", encoding="utf-8")
    (tmp_path / "procedure_fields.yaml").write_text((LEXICON_DIR / "procedure_fields.yaml").read_text("utf-8"),
                                                   encoding="utf-8")
    before = ProcedureCatalog.from_documents(docs, load_procedure_lexicon(LEXICON_DIR))
    after = ProcedureCatalog.from_documents(docs, load_procedure_lexicon(tmp_path))
    assert top(before, "làm giấy báo hỉ ở đâu") != "1.000894"
    assert top(after, "làm giấy báo hỉ ở đâu") == "1.000894"


def test_match_is_fast_at_catalogue_scale(docs):
    """2,650 records (the fixtures renamed 53 times): well under 10 ms per question."""
    many = []
    for i in range(53):
        for d in docs:
            many.append(dataclasses.replace(d, id=f"{d.id}-{i}", title=f"{d.title} nhóm {i}",
                                            extra={**d.extra, "code": f"{d.extra['code']}-{i}"}))
    catalog = ProcedureCatalog.from_documents(many, load_procedure_lexicon(LEXICON_DIR))
    questions = ["đăng ký khai sinh cần giấy tờ gì", "làm sổ hồng mất bao lâu", "doi bang lai het han",
                 "xin lý lịch tư pháp ở đâu", "cấp đổi căn cước nộp onl đc ko"] * 4
    catalog.match(questions[0])
    start = time.perf_counter()
    for q in questions:
        assert catalog.match(q)
    per_question_ms = (time.perf_counter() - start) * 1000 / len(questions)
    assert len(catalog) == 53 * len(docs) and per_question_ms < 10


def test_catalogue_from_index_chunk_meta_round_trips(docs):
    doc = next(d for d in docs if d.id == "1.004222")
    assert document_from_meta({**doc.metadata(), "body": doc.body}) == doc


def test_marks_as_written_separate_folded_look_alikes(catalog):
    # folded, "đổi" = "đối" (đối với) and "cũ" = "cư" (dân cư): with marks the question means "cấp đổi"
    assert top(catalog, "sổ đỏ cũ bị rách muốn đổi sổ mới") == "1.012783"
    # spelling variants are the same word: "kí" = "ký", "hoà" = "hòa"
    found = catalog.match("đăng kí thường trú")
    assert found[0].code == "1.004222" and found[0].coverage == 1.0


def test_overlapping_field_cues_leave_no_half_cue_behind(catalog):
    """"cần những giấy" and "giấy tờ" overlap: "tờ" left over would match "yếu tố" of the foreign variant."""
    assert top(catalog, "khai tu cho ong noi can nhung giay to gi") == "1.000656"
    assert asked_field("khai tu cho ong noi can nhung giay to gi") == "papers"


def test_a_procedure_for_police_staff_yields_to_the_citizens_one(catalog):
    """The police publish "Cấp lại thẻ bảo hiểm y tế" for their officers and families (the name does not say so);
    a citizen who lost the card needs the social-insurance procedure, whose name lists several actions."""
    found = catalog.match("xin cấp lại thẻ bảo hiểm y tế bị mất ở đâu")
    assert found[0].code == "1.002759" and found[0].recognised
    assert top(catalog, "cấp lại thẻ bảo hiểm y tế cho sĩ quan công an") == "1.001294"


def test_a_listed_name_is_named_by_one_action_and_its_object_not_by_the_object_alone(catalog):
    codes = [m.code for m in catalog.match("cap lai the bhyt")]
    assert codes.index("1.002759") < codes.index("1.002051") if "1.002051" in codes else codes[0] == "1.002759"


def test_district_and_ministry_level_names_rank_after_ward_and_province(catalog):
    """Since 1 July 2025 there is no district level; citizens rarely file at a ministry."""
    codes = [m.code for m in catalog.match("bao mat ho chieu o dau", k=3)]
    assert codes == ["1.010386", "1.001445", "2.000539"]


def test_an_age_range_is_part_of_the_name_not_an_explanation(catalog):
    """"… cho người từ đủ 14 tuổi trở lên" has no shorter head "… cho người": the range tells it from "… dưới 14 tuổi"."""
    assert unique_short_names(["Cấp thẻ căn cước cho người từ đủ 14 tuổi trở lên"]) == [None]
    assert top(catalog, "làm căn cước cho bé 2 tuổi cần gì") == "1.014062"
    assert top(catalog, "làm căn cước cần mang gì") == "1.014061"


def test_a_figure_in_the_question_is_the_citizens_situation_not_a_missing_topic(catalog):
    plain = catalog.match("xin bản sao giấy khai sinh hết bao nhiêu tiền")[0]
    counted = catalog.match("xin 3 bản sao giấy khai sinh hết bao nhiêu tiền")[0]
    assert counted.code == plain.code == "2.000635"
    assert counted.coverage == plain.coverage


@pytest.mark.parametrize("question", ["hồ sơ đăng ký kết hôn gồm những gì", "cấp bản sao trích lục kết hôn cần giấy gì"])
def test_papers_asked_with_the_name_in_between(question):
    assert asked_field(question) == "papers"


def test_changing_a_name_is_the_civil_status_correction(catalog):
    assert top(catalog, "thay đổi họ tên cho con cần giấy tờ gì") == "1.004859"
    assert top(catalog, "sửa tên trong giấy khai sinh mất bao lâu") == "1.004859"


def test_a_contract_is_certified_as_a_transaction_in_todays_names(catalog):
    """The decree renamed "chứng thực hợp đồng, giao dịch" to "chứng thực giao dịch"; citizens still say hợp đồng."""
    found = catalog.match("chứng thực hợp đồng thế chấp nhà ở xã mất bao lâu")
    assert found and found[0].code == "2.001035"


def test_a_rare_syllable_weighs_as_the_name_writes_it():
    """Folded, "dừng" (stop) is "dung" as in the many "sử dụng" names, and would weigh almost nothing: a question that
    never says "dừng" would cover "Dừng cấp điện" almost whole."""
    from index.types import Document

    titles = ["Sử dụng đất nông nghiệp", "Sử dụng nước sạch", "Sử dụng vỉa hè", "Cho thuê công cụ sử dụng",
              "Dừng cấp điện sinh hoạt", "Cấp điện sinh hoạt"]
    docs = [Document(id=f"9.00000{i}", title=t, body=f"# {t}\n", type="thủ tục", extra={"code": f"9.00000{i}"})
            for i, t in enumerate(titles)]
    found = ProcedureCatalog.from_documents(docs, load_procedure_lexicon(LEXICON_DIR)).match("cấp điện sinh hoạt", k=2)
    assert found[0].title == "Cấp điện sinh hoạt"
    assert found[1].title == "Dừng cấp điện sinh hoạt" and found[1].name_coverage < 0.75  # folded: 0.85


def test_filing_papers_names_no_procedure(catalog):
    """"nộp hồ sơ" is how every procedure is done: alone it must not pick "Gia hạn nộp hồ sơ khai thuế"."""
    found = catalog.match("nộp hồ sơ xong bao lâu thì xong")
    assert not found or not found[0].recognised


@pytest.mark.parametrize("question, field", [
    ("khi nào thì có căn cước", "time"),
    ("thủ tục đăng ký kết hôn gồm những bước nào", "steps"),
])
def test_fields_asked_with_a_filler_or_a_plural(question, field):
    assert asked_field(question) == field


def test_the_head_of_a_long_name_said_in_a_row_is_counted():
    from bot.procedure_names import head_said

    name = ("Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ quan, tổ chức có thẩm quyền của Việt Nam cấp "
            "hoặc chứng nhận")
    assert head_said("chung thuc ban sao tu ban chinh o ubnd xa moi trang bao nhieu", name) == 7
    assert head_said("ban sao tu ban chinh co chung thuc", name) == 2  # out of order: only "chứng thực" is its head
    assert head_said("thu tuc dang ky khai sinh", "Thủ tục đăng ký khai sinh") == 4  # "Thủ tục" is not the name


def test_capitalised_place_names_are_the_citizens_situation_not_the_procedure():
    from bot.procedure_terms import _WORD, proper_names

    def names(q):
        words = _WORD.findall(q)
        return [words[i] for i in sorted(proper_names(words))]

    assert names("Tôi quê Thanh Hóa, đang làm ở Bình Dương, xin lý lịch tư pháp ở đâu") == [
        "Thanh", "Hóa", "Bình", "Dương"]
    assert names("Đăng Ký Khai Sinh Cho Con Ở Đâu") == []  # a title-cased question names nothing
    assert names("đổi CCCD ở Hà Nội") == ["Hà", "Nội"]  # an abbreviation is not a name
    assert names("Khai sinh cho con") == []  # the first word is capitalised by habit
