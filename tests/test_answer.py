"""The answer core as a citizen meets it: the real index, the real model, Vietnamese answers with sources."""
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.answer import Assistant
from bot.replies import HELP
from bot.types import Answer
from index import store
from index.vietnamese import fold, has_vietnamese_diacritics

AN_HAI_2025 = "kh-tuyen-truyen-cchc-an-hai-2025"
AN_HAI_2026 = "kh-tuyen-truyen-cchc-an-hai-2026"

# Questions the knowledge base answers; used for the checks every answer must pass.
ANSWERABLE = [
    "số tổng đài hỗ trợ dịch vụ công là gì",
    "đăng nhập cổng dịch vụ công bằng tài khoản gì",
    "Làm sao tra cứu tình trạng hồ sơ?",
    "kinh phí tuyên truyền cải cách hành chính phường an hải năm 2025",
    "Kế hoạch CCHC phường Hưng Phú năm 2025 đặt mục tiêu gì về thanh toán trực tuyến?",
    "phú thái tuyên truyền cchc qua những hình thức nào",
]

BAD_INPUTS = {
    "empty": "",
    "spaces": "   ",
    "10k_chars": ("thủ tục hành chính " * 600)[:10_000],
    "emoji": "🙂🙂🙂",
    "script_tag": "<script>alert(1)</script>",
    "english": "What is the weather today?",
    "punctuation": "?!?!...",
    "control_chars": "\x00\x01\x02",
}


def squash(text: str) -> str:
    return " ".join(text.split())


def bullets(answer: Answer) -> list[tuple[str, int]]:
    """('quoted text', n) for each '• … [n]' line, or each '• …' item under a 'Section [n]:' list heading."""
    out, heading_n = [], None
    for line in answer.body.splitlines():
        m = re.match(r"^• (.*) \[(\d+)\]$", line)
        heading = re.match(r"^.*\[(\d+)\]:$", line)
        if m:
            out.append((m.group(1), int(m.group(2))))
        elif heading:
            heading_n = int(heading.group(1))
        elif line.startswith("• ") and heading_n is not None:
            out.append((line[2:], heading_n))
    return out


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("question", list(BAD_INPUTS.values()), ids=list(BAD_INPUTS))
def test_bad_input_gets_a_polite_vietnamese_reply(assistant, question):
    answer = assistant.answer(question)
    assert isinstance(answer, Answer)
    assert answer.found is False
    assert answer.kind in {"invalid", "not_found"}
    assert answer.citations == []
    assert answer.text.strip() and has_vietnamese_diacritics(answer.text)
    assert "Traceback" not in answer.text and "Error" not in answer.text
    assert "<script" not in answer.text
    assert set(answer.timings_ms) == {"retrieve", "compose", "total"}


def test_too_long_question_says_how_long_it_may_be(assistant):
    answer = assistant.answer("a" * 10_000)
    assert answer.kind == "invalid"
    assert str(assistant.settings.max_question_chars) in answer.text


def test_english_question_is_told_vietnamese_only(assistant):
    answer = assistant.answer("What is the weather today?")
    assert answer.found is False
    assert "tiếng Việt" in answer.text


# ----------------------------------------------------------------------------- small talk
@pytest.mark.parametrize("greeting", ["xin chào", "Chào bạn!", "hello", "chao ban"])
def test_greetings_are_answered(assistant, greeting):
    answer = assistant.answer(greeting)
    assert answer.kind == "smalltalk"
    assert answer.citations == []
    assert "Trợ lý CCHC" in answer.text


@pytest.mark.parametrize("question", ["bạn là ai", "ban la ai?", "Bạn tên là gì"])
def test_identity_question_is_answered(assistant, question):
    answer = assistant.answer(question)
    assert answer.kind == "smalltalk"
    assert "Trợ lý CCHC" in answer.text
    assert "tự động" in answer.text  # says it is a program, not an officer


def test_thanks_is_acknowledged(assistant):
    answer = assistant.answer("cảm ơn bạn nhiều")
    assert answer.kind == "smalltalk" and answer.citations == []


def test_every_example_in_the_help_reply_is_answered(assistant):
    """The bot must be able to answer the examples it suggests."""
    help_answer = assistant.answer("/help")
    assert help_answer.kind == "smalltalk"
    examples = [ln[2:].strip() for ln in HELP.splitlines() if ln.startswith("• ")]
    assert len(examples) >= 3
    for example in examples:
        answer = assistant.answer(example)
        assert answer.found, f"help example not answered: {example!r}"
        assert answer.citations


# -------------------------------------------------------------------------- hotline, scope
@pytest.mark.parametrize("question", ["số tổng đài hỗ trợ dịch vụ công là gì",
                                      "so tong dai ho tro dich vu cong la gi"])
def test_hotline_question_gives_the_number_with_a_source(assistant, question):
    answer = assistant.answer(question)
    assert answer.found is True
    assert "1800.1096" in answer.text
    assert "[1]" in answer.text
    first = answer.citations[0]
    assert first.n == 1
    assert first.doc_id == "huong-dan-tong-dai"
    assert any("1800.1096" in c.text for c in answer.citations)


@pytest.mark.parametrize(
    "question",
    ["giá vàng hôm nay bao nhiêu", "kết quả xổ số miền bắc hôm nay", "cách nấu phở bò ngon"],
)
def test_out_of_scope_question_is_declined_with_where_to_ask(assistant, question):
    answer = assistant.answer(question)
    assert answer.found is False
    assert answer.kind == "not_found"
    assert answer.citations == []
    assert "1800.1096" in answer.text
    assert "dichvucong.gov.vn" in answer.text


# -------------------------------------------------------------------------------- locality
def test_year_named_in_question_picks_that_years_plan(assistant):
    hits = assistant.retrieve("kế hoạch tuyên truyền cchc phường an hải năm 2025")
    assert hits[0].chunk.doc_id == AN_HAI_2025
    hits = assistant.retrieve("kế hoạch tuyên truyền cchc phường an hải năm 2026")
    assert hits[0].chunk.doc_id == AN_HAI_2026


def test_without_a_year_the_newest_plan_of_the_ward_comes_first(assistant):
    hits = assistant.retrieve("kế hoạch tuyên truyền cchc phường an hải")
    assert hits[0].chunk.doc_id == AN_HAI_2026


def test_answer_cites_the_plan_of_the_year_asked(assistant):
    answer = assistant.answer("kinh phí tuyên truyền cải cách hành chính phường an hải năm 2025")
    assert answer.found
    assert answer.citations[0].doc_id == AN_HAI_2025
    assert AN_HAI_2026 not in {c.doc_id for c in answer.citations}


def test_answer_without_year_cites_the_newest_plan_first(assistant):
    answer = assistant.answer("kinh phí tuyên truyền cải cách hành chính phường an hải")
    assert answer.found
    assert answer.citations[0].doc_id == AN_HAI_2026


def test_answer_about_one_ward_does_not_cite_another_wards_plan(assistant):
    answer = assistant.answer("phú thái tuyên truyền cchc qua những hình thức nào")
    assert answer.found
    cited = {c.doc_id for c in answer.citations}
    assert "kh-tuyen-truyen-cchc-phu-thai-2025" in cited
    assert not cited & {AN_HAI_2025, AN_HAI_2026, "kh-cchc-hung-phu-2025"}


# ------------------------------------------------------------------ shape of every answer
@pytest.fixture(scope="module")
def answered(assistant):
    return {q: assistant.answer(q) for q in ANSWERABLE}


@pytest.mark.parametrize("question", ANSWERABLE)
def test_answerable_question_is_found_with_citations(answered, question):
    answer = answered[question]
    assert answer.found is True and answer.kind == "answer"
    assert answer.citations


@pytest.mark.parametrize("question", ANSWERABLE)
def test_citation_numbers_match(answered, question):
    answer = answered[question]
    numbers_in_text = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    cited = [c.n for c in answer.citations]
    assert cited == list(range(1, len(cited) + 1))
    assert numbers_in_text == set(cited)


@pytest.mark.parametrize("question", ANSWERABLE)
def test_answer_names_the_plan_it_quotes(answered, question):
    answer = answered[question]
    first_line = answer.text.splitlines()[0]
    first_bullet_n = bullets(answer)[0][1]
    cited = next(c for c in answer.citations if c.n == first_bullet_n)
    assert first_line.startswith(f"Theo {cited.title}")


@pytest.mark.parametrize("question", ANSWERABLE)
def test_sources_are_listed_under_the_answer(answered, question):
    answer = answered[question]
    assert "Nguồn:" in answer.text
    sources = answer.text.split("Nguồn:", 1)[1]
    for c in answer.citations:
        assert f"[{c.n}] {c.title}" in sources


@pytest.mark.parametrize("question", ANSWERABLE)
def test_every_quoted_line_comes_from_its_cited_passage(answered, question):
    """Extractive: nothing invented. A line may be labelled with its section name ('Hình thức tuyên truyền: …')."""
    answer = answered[question]
    by_n = {c.n: c for c in answer.citations}
    lines = bullets(answer)
    assert lines
    for quoted, n in lines:
        citation = by_n[n]
        passage = squash(citation.text)
        # An excerpt of a longer sentence is marked with "…" at the cut; the words themselves are verbatim.
        quoted = squash(quoted.removeprefix("… ").removesuffix(" …").removesuffix("…"))
        # Verbatim but for case: a clause quoted as a bullet starts with a capital.
        if quoted.lower() in passage.lower():
            continue
        label, _, rest = quoted.partition(": ")
        assert rest and rest.lower() in passage.lower() and fold(label) in fold(citation.section), \
            f"[{n}] {quoted[:80]!r} is not in the cited passage"


def test_answers_are_deterministic(assistant):
    question = ANSWERABLE[0]
    assert assistant.answer(question).text == assistant.answer(question).text


def test_assistant_can_be_shared_between_threads(assistant, answered):
    with ThreadPoolExecutor(max_workers=4) as pool:
        texts = list(pool.map(lambda q: assistant.answer(q).text, ANSWERABLE * 2))
    assert texts == [answered[q].text for q in ANSWERABLE * 2]


# ------------------------------------------------------------------------------ loading
def test_load_without_an_index_raises_index_missing(small_settings, embedder):
    with pytest.raises(store.IndexMissing):
        Assistant.load(small_settings, embedder=embedder, build_if_missing=False)


def test_load_builds_a_missing_index_when_asked(small_settings, embedder):
    assistant = Assistant.load(small_settings, embedder=embedder, build_if_missing=True)
    assert store.current_version(small_settings.data_dir)
    answer = assistant.answer("tra cứu tình trạng hồ sơ bằng gì")
    assert answer.found
    assert answer.citations[0].doc_id == "huong-dan-nop-ho-so"


# ------------------------------------------------------------------------ procedures and memory
def test_a_picked_procedure_is_answered_from_its_own_record(assistant):
    """A choice button carries the procedure code: the answer is that record's field, not a new search."""
    answer = assistant.answer("Đăng ký thường trú lệ phí", procedure="1.004222")
    assert answer.found and answer.decision.rule == "procedure_picked"
    assert answer.citations[0].doc_id == "1.004222" and "20.000" in answer.body


def test_a_fee_question_names_the_fee_with_its_portal_source(assistant):
    answer = assistant.answer("le phi dang ky tam tru bao nhieu")
    assert answer.found and answer.decision.route == "procedure"
    assert "7.000" in answer.body and "10.000" in answer.body
    assert "dichvucong.gov.vn" in (answer.citations[0].source or "")
    assert len(answer.body) <= 700


def test_the_citizens_ward_is_preferred_when_the_question_names_none(assistant):
    question = "kế hoạch tuyên truyền cải cách hành chính 6 tháng cuối năm 2025 có những hình thức nào"
    for ward, doc in (("xã Phú Thái", "kh-tuyen-truyen-cchc-phu-thai-2025"),
                      ("phường An Hải", AN_HAI_2025)):
        answer = assistant.answer(question, ward=ward)
        assert answer.found and answer.citations[0].doc_id == doc, ward


@pytest.mark.parametrize("question", ["gọi tổng đài 1800.1096 có mất tiền không", "goi 1800 1096 co mat tien ko",
                                      "gọi 1800 1096 có tốn tiền không"])
def test_guidance_answer_quotes_the_one_section_that_answers(assistant, question):
    """A guidance note answers each citizen question in one short section: quote it whole, not sentences
    picked from its neighbours (which answer other questions)."""
    answer = assistant.answer(question)
    assert answer.found is True
    assert "không phải trả cước" in answer.body
    assert "1022" not in answer.body  # the next section, about the provinces' hotline
    assert {c.doc_id for c in answer.citations} == {"huong-dan-tong-dai"}


def test_a_guidance_note_answers_rather_than_asking_which_procedure(assistant):
    """Several catalogue procedures are named “cấp tài khoản định danh điện tử …”; with no field asked and a guidance
    note that covers the question as well, the note answers instead of a “which procedure?” question."""
    answer = assistant.answer("tài khoản định danh điện tử gồm những mức nào")
    assert answer.kind == "answer" and not answer.options
    assert answer.citations[0].doc_id == "huong-dan-dichvucong"
    assert "mức độ 2" in answer.body or "2 mức độ" in answer.body


@pytest.mark.parametrize("question, office, doc", [
    ("phòng nào chủ trì kế hoạch tuyên truyền cải cách hành chính của phường an hải năm 2025",
     "Phòng Văn hóa - Xã hội", AN_HAI_2025),
    ("xa phu thai phong nao chu tri ke hoach tuyen truyen cchc", "Phòng Văn hoá - Xã hội",
     "kh-tuyen-truyen-cchc-phu-thai-2025"),
])
def test_who_is_responsible_is_answered_by_the_office_the_plan_names(assistant, question, office, doc):
    """"Phòng nào chủ trì / ai phụ trách": the answer is the office's section of "Tổ chức thực hiện", named in the
    reply, even when the plan's title words outrank it in search."""
    answer = assistant.answer(question)
    assert answer.found and answer.citations[0].doc_id == doc
    assert office.lower() in answer.body.lower()


def test_a_figure_the_record_does_not_state_is_not_guessed(assistant):
    """The procedure is named but the figure asked is in none of its fields or sentences: say so, name the
    procedure and its portal page, point to the hotline — never a card that looks like an answer."""
    answer = assistant.answer("thành lập công ty tnhh một thành viên cần vốn tối thiểu bao nhiêu")
    assert answer.found is False
    assert "không nêu con số" in answer.body and "1800.1096" in answer.body
    assert "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/" in answer.body


def test_what_an_office_must_do_is_its_whole_section(assistant):
    """"Trung tâm … phải làm gì": the office's own section of the plan, its items in order, under its name —
    not sentences picked from other offices' sections."""
    answer = assistant.answer("trung tam van hoa the thao va truyen thong xa phu thai phai lam gi ve cchc")
    assert answer.found and answer.citations[0].doc_id == "kh-tuyen-truyen-cchc-phu-thai-2025"
    assert answer.citations[0].section.endswith("Trung tâm Văn hóa, thể thao và Truyền thông xã")
    assert answer.body.count("•") >= 3
    assert {c.section for c in answer.citations} == {answer.citations[0].section}


def test_a_complaint_about_an_officer_reaches_the_feedback_channels(assistant):
    """However the citizen words it, a complaint about how an officer behaved is answered with where to report it."""
    answer = assistant.answer("cán bộ ở bộ phận một cửa gây khó dễ thì báo cho ai")
    assert answer.found is True
    assert answer.citations[0].doc_id in ("huong-dan-tong-dai", "huong-dan-dichvucong")


@pytest.mark.parametrize("question, signer", [
    ("Ai ký kế hoạch tuyên truyền cải cách hành chính của xã Phú Thái?", "Phạm Tiến Nhuận"),
    ("ke hoach cchc phuong hung phu do ai ky", "Nguyễn Thị Trúc Linh"),
])
def test_who_signed_a_plan_is_answered_from_its_card(assistant, question, signer):
    """The signature block is not in the plan's text; the document's card holds it, and answers alone."""
    a = assistant.answer(question)
    assert a.found and signer in a.body
    assert "Người ký" in a.body.splitlines()[1] and len(a.body.splitlines()) == 2


@pytest.mark.parametrize("question, said", [
    ("kế hoạch tuyên truyền cchc xã phú thái do ai ký, chức vụ gì", "Phó Chủ tịch"),  # "công chức", "công vụ" in the text
    ("ke hoach cchc hung phu so hieu bao nhieu", "để trống trong bản gốc"),  # no figure to find: the card says so
    ("kế hoạch tuyên truyền xã phú thái gửi tới những nơi nào", "TT. HĐND xã; Lãnh đạo UBND xã"),  # the list, whole
])
def test_a_question_about_the_document_itself_is_answered_from_its_card_first(assistant, question, said):
    a = assistant.answer(question)
    assert a.found and said in a.body and a.decision.rule == "document_card"


def test_a_date_asked_of_another_document_named_by_its_number_is_not_the_plans_own(assistant):
    """"Quyết định số 03 ban hành ngày nào": the plan's card would give the plan's date, a wrong answer."""
    a = assistant.answer("kế hoạch tuyên truyền cchc phường an hải 2026 bám sát quyết định số 03 ban hành ngày nào")
    assert a.decision.rule != "document_card" and "Ngày ban hành: 26/01/2026" not in a.body


def test_a_plan_without_a_number_says_the_original_leaves_it_blank(assistant):
    a = assistant.answer("kế hoạch tuyên truyền cchc xã phú thái số hiệu là gì")
    assert a.found and "để trống trong bản gốc" in a.body


def test_a_whole_procedure_name_with_a_fee_asked_is_not_taken_by_guidance(assistant):
    """The portal guide shares "nộp hồ sơ", "trực tuyến", "cổng dịch vụ công" with the question, but never states a
    procedure's fee; the question names the procedure whole, so the record answers."""
    a = assistant.answer("nộp hồ sơ đăng ký tạm trú trực tuyến trên cổng dịch vụ công thì lệ phí bao nhiêu, "
                         "nộp trực tiếp thì sao")
    assert a.found and "1.004194" in [c.doc_id for c in a.citations]
    assert "10.000 đồng" in a.body and "7.000 đồng" in a.body


def test_a_year_no_document_of_the_ward_speaks_of_is_not_answered_from_another_year(assistant):
    """Only Hưng Phú's 2025 plan is here: its 2024 targets are not in it, and the 2025 ones are not an answer."""
    other = assistant.answer("kế hoạch cchc năm 2024 của phường hưng phú đặt mục tiêu gì")
    assert not other.found and other.decision.rule == "year_not_in_knowledge"
    assert "1800.1096" in other.body
    assert assistant.answer("kế hoạch cchc năm 2025 của phường hưng phú đặt mục tiêu gì").found


@pytest.mark.parametrize("question", ["hưng phú giao ai lo phần tài chính công trong cải cách hành chính",
                                      "ở phường hưng phú phòng nào chủ trì cải cách tài chính công"])
def test_who_is_responsible_names_the_office_first(assistant, question):
    """"tài chính" is not "tại đơn vị" (both fold to "tai"): the office whose tasks say it is quoted first."""
    a = assistant.answer(question)
    assert a.found and a.body.splitlines()[1].startswith("Phòng Kinh tế, Hạ tầng và đô thị")


def test_part_of_a_procedure_name_does_not_take_a_question_guidance_answers(assistant):
    """"tài khoản VNeID" is part of "Cấp tài khoản định danh điện tử cho cơ quan, tổ chức", but the question is the
    portal guide's: which body issues the account."""
    a = assistant.answer("tai khoan vneid la co quan nao cap")
    assert a.found and a.citations[0].doc_id == "huong-dan-dichvucong" and "Bộ Công an" in a.body


@pytest.mark.parametrize("question, said", [
    ("dạo này vào cổng dịch vụ công quốc gia thì đăng nhập bằng cái gì", "VNeID"),  # "now": the rule in force
    ("gọi số tổng đài 1800 có bị tính cước như gọi thường không", "không phải trả cước"),
])
def test_how_citizens_frame_a_guidance_question_does_not_hide_it(assistant, question, said):
    a = assistant.answer(question)
    assert a.found and said in a.body


@pytest.mark.parametrize("question, said", [
    ("ở xã Phú Thái ai lo việc tuyên truyền trên bảng tin của thôn", "Bí thư chi bộ"),  # "ai lo" = ai phụ trách
    ("bên Cần Thơ, phường Hưng Phú ai lo mảng cải cách thể chế", "Văn phòng"),
])
def test_who_looks_after_a_task_is_who_the_plan_puts_in_charge(assistant, question, said):
    a = assistant.answer(question)
    assert a.found and said in a.body


def test_a_number_that_differs_by_ward_is_answered_with_where_to_find_it(assistant):
    """The guidance says each ward's hotline number differs and where it is posted: that answers "số mấy"."""
    a = assistant.answer("số đường dây nóng của phường là số mấy vậy")
    assert a.found and "khác nhau" in a.body and "Trung tâm Phục vụ hành chính công" in a.body


@pytest.mark.parametrize("question", ["bây giờ chủ tịch phường An Hải là ai",
                                      "chủ tịch xã Phú Thái hiện nay tên là gì vậy"])
def test_who_holds_a_post_now_is_not_answered_from_a_plans_signature(assistant, question):
    a = assistant.answer(question)
    assert not a.found and a.decision.rule == "office_info_not_in_plans"


def test_a_sum_of_money_no_plan_states_is_not_answered_with_another_figure(assistant):
    """Phú Thái's plan says the budget is "bố trí" for "6 tháng cuối năm 2025", never how much: "6" is no sum."""
    a = assistant.answer("xã phú thái chi bao nhiêu tiền cho tuyên truyền cải cách hành chính")
    assert not a.found and a.decision.rule == "no_figure"


def test_a_ward_named_as_before_the_2025_mergers_is_the_ward_it_became(assistant):
    """Hưng Phú's plan lists the wards it was made of; citizens still say "phường Phú Thứ"."""
    a = assistant.answer("kế hoạch CCHC 2025 của phường Phú Thứ giao cơ quan nào làm thường trực")
    assert a.found and a.citations[0].doc_id == "kh-cchc-hung-phu-2025"


def test_a_former_ward_name_counts_only_with_its_unit(assistant):
    """"phụ thu" folds to "phu thu", the old ward Phú Thứ: bare, it is a surcharge, not a place."""
    assert assistant.understand("nộp hồ sơ online có bị phụ thu phí không").wards == set()
    assert assistant.understand("nhà em ở phường Phú Thứ cũ").wards == {"hung phu"}


def test_a_ward_the_knowledge_base_has_nothing_of_is_not_answered_from_another_ward(assistant):
    """"phường Lê Chân" is not here: Hưng Phú's or An Hải's plan is no answer for it; a national procedure still is."""
    plan = assistant.answer("Kế hoạch tuyên truyền cải cách hành chính của phường Lê Chân có những hình thức nào?")
    assert not plan.found and plan.decision.rule == "ward_not_in_knowledge"
    procedure = assistant.answer("tôi ở Phường Lê Chân, đăng ký thường trú mất bao nhiêu tiền")
    assert procedure.found and "1.004222" in [c.doc_id for c in procedure.citations]


def test_a_list_about_something_else_is_not_quoted_for_a_list_question(assistant):
    """"gộp từ những phường nào": no section lists merged wards ("gộp" is not "góp phần"); quoting the plan's aims
    as a list would be wrong — an honest "not found" is right."""
    a = assistant.answer("hưng phú được gộp từ những phường nào vậy")
    assert a.decision.rule != "list_section"
    assert assistant.answer("phú thái tuyên truyền cchc qua những hình thức nào").decision.rule == "list_section"


def test_a_sentence_naming_what_a_list_question_asks_beats_a_list_that_only_shares_its_place(assistant):
    """"nghị định 118 … nói những gì": the centre's list of tasks shares "trung tâm phục vụ", but only one sentence
    says "Nghị định số 118"; that sentence answers, not the list. A list that says what is asked still answers whole."""
    a = assistant.answer("nghị định 118 về trung tâm phục vụ hành chính công hưng phú nói những gì")
    assert a.found and a.decision.rule != "list_section" and "118/2025/NĐ-CP" in a.body
    assert assistant.answer("an hải năm 2026 tuyên truyền những nội dung gì").decision.rule == "list_section"


def test_the_more_of_a_name_is_said_the_more_of_the_message_may_be_the_citizens_situation(assistant):
    """"Phiếu lý lịch tư pháp" said in a message about a niece studying abroad: most of the name is said, so the
    rest may be the situation. A name said in part ("chứng chỉ hành nghề" of the vets' licence, for a doctor's)
    still needs most of the question."""
    a = assistant.answer("chau em sap di du hoc uc, can xin phieu ly lich tu phap nop xong bao lau lay duoc")
    assert a.found and "3.000333" in [c.doc_id for c in a.citations] and "ngày" in a.body
    doctor = assistant.answer("tôi là bác sĩ muốn mở phòng khám, xin chứng chỉ hành nghề khám bệnh ở Sở Y tế cần hồ sơ gì")
    assert not doctor.found


def test_how_is_a_procedure_done_gets_the_card_and_its_steps_only_when_they_are_named(assistant):
    """"Thủ tục khai tử làm thế nào" wants where, how long, how much; "gồm những bước nào" wants the steps."""
    how = assistant.answer("thủ tục đăng ký khai tử làm thế nào")
    assert how.found and "Thời hạn" in how.body and "Lệ phí" in how.body and "Các bước" not in how.body
    steps = assistant.answer("đăng ký khai tử gồm những bước nào")
    assert steps.found and "Các bước" in steps.body


def test_when_and_where_it_happened_are_the_situation_and_going_to_do_it_names_the_action(assistant):
    """"mới mất hôm qua ở nhà, mai chị đi khai tử": "hôm qua" tells when it happened, not which procedure, and "đi
    khai tử" is "đăng ký khai tử"; "nộp những giấy gì" asks the papers."""
    a = assistant.answer("chồng chị mới mất hôm qua ở nhà, mai chị đi khai tử thì mang giấy tờ gì")
    assert a.found and "1.000656" in [c.doc_id for c in a.citations] and "Giấy báo tử" in a.body
    b = assistant.answer("Bà ngoại em mất ở bệnh viện tuần trước, giờ nhà em đi khai tử ở phường thì nộp những giấy gì")
    assert b.found and "Giấy báo tử" in b.body


def test_what_a_plan_rests_on_is_asked_as_dua_vao_too(assistant):
    """"dựa vào văn bản số mấy" asks the basis, like "căn cứ … nào": the preamble's decision answers, not the card."""
    a = assistant.answer("xã phú thái làm kế hoạch tuyên truyền dựa vào văn bản số mấy")
    assert a.found and "533/QĐ-UBND" in a.body


def test_money_for_a_plans_work_is_its_budget(assistant):
    """"lấy tiền đâu ra", "tiền làm …" ask a plan's kinh phí (lexicon synonyms), not its card or closing lines."""
    a = assistant.answer("phường hưng phú lấy tiền đâu ra để làm cải cách hành chính năm 2025")
    assert a.found and "kinh phí" in a.body and "Số hiệu" not in a.body


@pytest.mark.parametrize("question,code", [
    ("nghỉ việc ở công ty rồi muốn rút bảo hiểm xã hội thì nộp ở đâu", "1.001613"),
    ("mẹ ốm, con lĩnh thay lương hưu cho mẹ được không", "1.001601"),
    ("tờ 500 nghìn bị rách đôi, tiền rách thì đổi ở đâu", "2.001077"),
    ("cây bàng trên vỉa hè trước nhà muốn chặt hạ thì xin phép ai", "1.002693"),
])
def test_everyday_names_of_social_insurance_money_and_trees(assistant, question, code):
    """Lexicon names citizens use: "rút bảo hiểm xã hội", "lĩnh thay", "tiền rách", "chặt hạ"."""
    a = assistant.answer(question)
    assert a.found and code in [c.doc_id for c in a.citations]


def test_how_many_things_is_answered_by_a_count_never_by_a_date_or_a_decisions_number(assistant):
    """"bao nhiêu cuộc gọi": the hotline notes count no calls (a date or "khác nhau" is no answer); "bao nhiêu hồ sơ"
    is answered by "90% hồ sơ"."""
    calls = assistant.answer("tổng đài 1800.1096 mỗi ngày nhận bao nhiêu cuộc gọi")
    assert not calls.found
    files = assistant.answer("phường hưng phú phấn đấu giải quyết đúng hạn bao nhiêu hồ sơ")
    assert files.found and "90%" in files.body


def test_opening_hours_asked_as_lam_viec_may_gio_are_not_in_a_plan(assistant):
    """"làm việc mấy giờ": no plan states a centre's hours; quoting a plan's "cải cách tài chính công" is wrong."""
    a = assistant.answer("bộ phận một cửa phường hưng phú làm việc mấy giờ")
    assert not a.found and a.decision.rule == "office_info_not_in_plans"


def test_who_takes_part_is_what_a_plan_calls_doi_tuong_tham_du(assistant):
    """"ai tham dự được": the plan's "Đối tượng tham dự: 100% cán bộ …" answers (lexicon synonym)."""
    a = assistant.answer("phú thái năm 2025 tổ chức cuộc thi trực tuyến tuyên truyền cải cách hành chính, ai tham dự được")
    assert a.found and "Đối tượng tham dự" in a.body


@pytest.mark.parametrize("question,code", [
    ("Vợ chồng tôi lấy nhau đã lâu mà chưa có con, muốn nhận một cháu bé ở trung tâm bảo trợ xã hội về nuôi. "
     "Đăng ký nuôi con nuôi thì nộp hồ sơ ở đâu?", "2.001263"),
    ("Bố tôi là thương binh, được hưởng trợ cấp hằng tháng, năm ngoái ông mất. Đăng ký khai tử cho ông ở xã thì "
     "cần giấy gì?", "1.000656"),
    ("Công ty tôi kinh doanh vận tải, có đăng ký thuế và giấy phép kinh doanh đầy đủ. Tôi muốn đăng ký kết hôn ở "
     "phường thì lệ phí bao nhiêu?", "1.000894"),
])
def test_sentences_before_the_question_tell_the_situation_not_the_procedure(assistant, question, code):
    """"Trợ cấp", "kinh doanh", "đăng ký thuế" in the story must not outweigh the procedure the last sentence names;
    and a record whose name is hardly said ("đăng ký nuôi trồng thuỷ sản") is no choice beside it."""
    a = assistant.answer(question)
    assert a.found and a.kind == "answer" and [c.doc_id for c in a.citations][0] == code


def test_a_name_said_whole_is_no_choice_beside_one_that_only_shares_words(assistant):
    """"đổi bằng lái ô tô hết hạn": the foreigners' licence exchange shares "bằng lái" but the question says "Đổi giấy
    phép lái xe" whole and only half of the other; no "which one?" for it."""
    a = assistant.answer("đổi bằng lái ô tô hết hạn thì mấy ngày có bằng mới")
    assert a.kind != "choice" and a.citations[0].doc_id == "3.000347"


@pytest.mark.parametrize("question", [
    "không khai báo tạm vắng cho con đi học xa thì có bị phạt không",
    "chu nha tro khong bao luu tru cho khach bi phat bao nhieu",
])
def test_a_fine_is_not_answered_with_the_procedures_fee(assistant, question):
    """Records state fees, never fines: "bao nhiêu tiền" must not get "Lệ phí …: 10.000 đồng"."""
    a = assistant.answer(question)
    assert not a.found and "đồng" not in a.body and "mức xử phạt" in a.body and "1800.1096" in a.body


def test_a_rate_the_record_never_states_is_said_to_be_missing(assistant):
    a = assistant.answer("lệ phí trước bạ nhà đất là mấy phần trăm")
    assert not a.found and "không nêu con số bạn hỏi" in a.body


@pytest.mark.parametrize("question", [
    "hồ sơ xin cấp sổ đỏ của tôi đang ở bước nào rồi",
    "đơn xin cấp lại căn cước của em nộp tháng trước mà vẫn chưa có kết quả",
    "đơn đăng ký tạm trú nộp online hôm qua được duyệt chưa vậy",  # the state of one's own file
    "giấy xác nhận tình trạng hôn nhân mình nộp từ thứ sáu tuần trước đã có kết quả chưa",
])
def test_the_state_of_ones_own_file_points_to_where_it_can_be_looked_up(assistant, question):
    a = assistant.answer(question)
    assert not a.found and "không xem được hồ sơ của riêng bạn" in a.body


@pytest.mark.parametrize("question, said", [
    ("bố mẹ đi vắng, ông bà đăng ký khai sinh thay cho cháu được không", "ông hoặc bà"),
    ("con 17 tuổi đi làm xa thì ai khai báo tạm vắng", "cha, mẹ hoặc người giám hộ"),
    ("ông bà đi khai sinh cho cháu có cần giấy ủy quyền không", "ông hoặc bà"),  # a paper asked, not a procedure
])
def test_who_may_do_it_for_someone_else_is_quoted_from_the_record(assistant, question, said):
    a = assistant.answer(question)
    assert a.found and said in a.body


@pytest.mark.parametrize("question, code", [
    ("con sinh ở Nhật Bản về nước làm khai sinh cần giấy tờ gì", "2.000528"),  # a country: a foreign element
    ("lấy chồng Hàn Quốc đăng ký kết hôn ở đâu", "2.000806"),
    ("mua lại xe máy của hàng xóm thì mấy ngày có đăng ký", "1.013076"),  # buying a used vehicle: a change of owner
    ("ông nội mất thì gia đình đi khai tử ở đâu ạ", "1.000656"),  # kin are who it is for, not what it is
    ("em gái tôi sắp lấy chồng, đăng ký kết hôn ở đâu", "1.000894"),
    ("làm gks cho bé mới sinh cần mang những gì", "1.001193"),  # chat abbreviations: gks, lltp
    ("xin lltp số 2 ở đâu", "3.000333"),
    ("chứng thực chữ ký trên giấy ủy quyền bán nhà mất mấy ngày", "2.000884"),
])
def test_how_citizens_name_a_situation_finds_its_procedure(assistant, question, code):
    a = assistant.answer(question)
    assert a.found and code in [c.doc_id for c in a.citations]



@pytest.mark.parametrize("question", [
    "số điện thoại trung tâm phục vụ hành chính công phường hưng phú là gì",  # the plan names the centre, no number
    "Nguyễn Thị Trúc Linh hiện còn làm chủ tịch ở Hưng Phú nữa không",  # the plan names its signer, not her post today
    "chủ tịch ubnd xã phú thái hiện tại tên gì",  # who holds a post today: no plan is the source
])
def test_what_the_plans_name_but_never_state_is_declined(assistant, question):
    a = assistant.answer(question)
    assert not a.found and "1800.1096" in a.body


def test_a_long_official_name_said_by_its_head_is_answered_without_a_choice(assistant):
    """Citizens say "chứng thực bản sao từ bản chính", never the rest of its 30-word name, and add where they
    go ("ở ubnd xã") and how it is charged ("mỗi trang"): the fee is answered, not a list to choose from."""
    a = assistant.answer("chứng thực bản sao từ bản chính ở ubnd xã mỗi trang tính bao nhiêu tiền")
    assert a.found and "2.000815" in [c.doc_id for c in a.citations] and "2.000 đồng" in a.body


@pytest.mark.parametrize("question, code", [
    ("làm hộ chiếu ở phòng xuất nhập cảnh công an tỉnh mất bao lâu", "1.001456"),  # the agency, in the record's text
    ("sổ đỏ bị cháy mất, nộp hồ sơ xin cấp lại ở văn phòng đăng ký đất đai thì bao lâu", "1.012786"),
])
def test_words_the_record_has_though_its_name_does_not_still_count(assistant, question, code):
    """Citizens name the procedure, then where they go and what they bring; the record's own text says those."""
    a = assistant.answer(question)
    assert a.found and a.citations[0].doc_id == code


@pytest.mark.parametrize("question, code", [
    ("xin bản sao khai sinh cho con đi học thì phí bao nhiêu", "2.000635"),  # a copy from the civil-status book
    ("chứng thực bản sao giấy khai sinh ở đâu", "2.000815"),  # certifying a photocopy is another procedure
])
def test_a_copy_of_a_birth_certificate_is_told_apart_from_certifying_one(assistant, question, code):
    a = assistant.answer(question)
    assert a.found and code in [c.doc_id for c in a.citations]


def test_where_the_citizen_lives_does_not_hide_the_procedure(assistant):
    """"Bố tôi ở Hải Dương mất rồi, tôi ở Hà Nội…": the places weigh like topic words the names never have."""
    a = assistant.answer("Bố tôi ở Hải Dương mất rồi, tôi ở Hà Nội có đi khai tử được không")
    assert a.found and "1.000656" in [c.doc_id for c in a.citations]
