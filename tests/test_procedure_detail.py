"""A question that adds its own point to a procedure's name gets the record's sentence about that point."""
import pytest


@pytest.mark.parametrize("question, code, fact", [
    ("sắp hết hạn tạm trú thì phải gia hạn trước mấy ngày", "1.002755", "15 ngày"),
    ("đặt tên cho con khi làm khai sinh có được đặt tên quá dài không", "1.001193", "quá dài"),
])
def test_the_records_own_sentence_answers_what_the_question_adds(assistant, question, code, fact):
    answer = assistant.answer(question)
    assert answer.found is True
    assert answer.citations[0].doc_id == code
    assert answer.body.startswith("Theo hồ sơ thủ tục: “")
    assert fact in answer.body
    assert len(answer.body) <= 700


def test_a_word_written_with_marks_is_not_matched_by_its_folded_twin(assistant):
    """"trọ" and "trở", "chủ" (nhà) and "Chủ" (tịch nước) fold alike: the record's sentence about regaining
    nationality ("… trở lại quốc tịch … Chủ tịch nước …") does not answer a landlord's question."""
    answer = assistant.answer("chủ nhà trọ có phải khai báo tạm trú cho người thuê không")
    assert answer.found is True and answer.citations[0].doc_id == "1.004194"
    assert "quốc tịch" not in answer.body


@pytest.mark.parametrize("question", ["lệ phí đăng ký tạm trú bao nhiêu", "đăng ký kết hôn ở đâu",
                                      "làm giấy khai sinh cho con cần giấy tờ gì"])
def test_a_plain_field_question_gets_no_extra_sentence(assistant, question):
    """Nothing beyond the name and the field asked: the field answer alone, as before."""
    answer = assistant.answer(question)
    assert answer.found is True
    assert "Theo hồ sơ thủ tục" not in answer.body


@pytest.mark.parametrize("question, code", [
    ("vợ tôi mới chuyển về ở cùng nhà chồng, muốn đăng ký thường trú thì cần gì", "1.004222"),
    ("con trai tôi đi làm ở nhật về nước, muốn đăng ký kết hôn ở xã thì nộp ở đâu", "1.000894"),
])
def test_a_question_naming_a_procedure_in_full_amid_its_circumstances_is_answered(assistant, question, code):
    """The citizen's situation takes most of the words; the whole official name is still there."""
    answer = assistant.answer(question)
    assert answer.found is True
    assert answer.citations[0].doc_id == code


@pytest.mark.parametrize("question, code", [
    ("công chứng bản sao học bạ ở phường mất mấy nghìn", "2.000815"),
    ("nhà em muốn làm giấy xác nhận độc thân để vay ngân hàng thì lệ phí bao nhiêu", "1.004873"),
])
def test_a_colloquial_name_names_a_procedure_however_long_its_official_name(assistant, question, code):
    """“công chứng bản sao” is how citizens say “Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ quan…”."""
    answer = assistant.answer(question)
    assert answer.found is True
    assert answer.citations[0].doc_id == code


def test_who_must_do_it_comes_from_the_records_duty_sentence(assistant):
    """“Ai phải đi làm khai sinh” is answered by “… cha hoặc mẹ có trách nhiệm đăng ký khai sinh cho con”, not only
    by the applicants field (“Công dân Việt Nam”)."""
    answer = assistant.answer("ai phải đi làm khai sinh cho em bé")
    assert answer.citations[0].doc_id == "1.001193"
    assert "cha hoặc mẹ có trách nhiệm đăng ký khai sinh" in answer.body


@pytest.mark.parametrize("question, code, fact", [
    ("bố tôi mất được 1 tuần rồi, trong vòng bao lâu phải đi khai tử", "1.000656", "15 ngày kể từ ngày có người chết"),
    ("người thân qua đời thì mấy ngày phải xóa thường trú", "1.003197", "07 ngày"),
])
def test_a_deadline_question_gets_the_citizens_deadline_not_the_processing_time(assistant, question, code, fact):
    """"bao lâu thì phải khai tử" asks by when the family must act (15 days from the death), not how long the ward
    takes to register it."""
    answer = assistant.answer(question)
    assert answer.found is True and answer.citations[0].doc_id == code
    assert fact in answer.body
    assert "Thời hạn giải quyết" not in answer.body


def test_of_several_duty_sentences_the_one_about_the_askers_case_is_quoted(assistant):
    """The record names who must act for each case (guardians online, guardians in person): the question's own
    words pick the case. Under-14 card: the legal representative does it."""
    answer = assistant.answer("bé nhà tôi 5 tuổi thì ai đi làm căn cước cho bé")
    assert answer.found is True and answer.citations[0].doc_id == "1.014062"
    assert "người đại diện hợp pháp" in answer.body


def test_a_household_guest_is_reported_by_the_household():
    """"… thì phải thực hiện việc thông báo lưu trú" is a duty too: hosts, not hospitals, answer a host's question."""
    from bot.procedure_detail import who_sentence
    body = ("## Trình tự thực hiện\nBước 1: Cá nhân, tổ chức thông báo lưu trú tới cơ quan đăng ký cư trú.\n"
            "## Yêu cầu, điều kiện\nKhi có người đến lưu trú, đại diện hộ gia đình, cơ sở khám bệnh thì phải thực hiện "
            "việc thông báo lưu trú; - Đại diện cơ sở khám bệnh, chữa bệnh có trách nhiệm lập danh sách người đến "
            "điều trị nội trú và thực hiện thông báo lưu trú với cơ quan đăng ký cư trú.\n")
    quote = who_sentence("Thông báo lưu trú", body, question="nha co nguoi den o thi ai phai bao luu tru")
    assert quote and "đại diện hộ gia đình" in quote


def test_who_files_for_a_minor_is_said_by_the_record():
    """"… thì người thực hiện khai báo là cha, mẹ hoặc người giám hộ": a clause naming who files is a duty too,
    though it repeats only part of the name ("khai báo", not "tạm vắng")."""
    from bot.procedure_detail import who_sentence
    body = ("## Trình tự thực hiện\nBước 1: Công dân khai báo tạm vắng với cơ quan đăng ký cư trú.\n"
            "- Trường hợp người đi khỏi nơi cư trú là người chưa thành niên thì người thực hiện khai báo là cha, mẹ "
            "hoặc người giám hộ.\n")
    quote = who_sentence("Khai báo tạm vắng", body, question="con toi 16 tuoi di hoc xa thi ai khai bao tam vang")
    assert quote and "cha, mẹ hoặc người giám hộ" in quote


def test_fillers_written_with_their_marks_are_not_what_the_question_adds():
    """"Mua xe cũ … thì người mua cần nộp những giấy tờ gì": "thì", "cần" match any step ("… thì đăng ký với …")."""
    from bot.procedure_detail import residual_terms
    from bot.procedure_terms import _default_analyzer
    tokens, _, _ = _default_analyzer().tokens("bán xe thì người mua cần nộp những giấy tờ gì", with_names=True)
    terms = residual_terms(tokens, "Cấp chứng nhận đăng ký xe, biển số xe trong trường hợp thay đổi chủ xe")
    assert "thi" not in terms and "can" not in terms and "mua" in terms
