"""Understanding a message as citizens type it: no accents, chat abbreviations, ward names, other languages."""
import pytest

from bot.understand import looks_foreign, understand

WARDS = {"an hai": "phuong an hai", "phu thai": "xa phu thai", "hung phu": "phuong hung phu"}


def read(text: str):
    return understand(text, 1000, WARDS)


@pytest.mark.parametrize("text", [
    "can giay to gi", "to muon hoi", "an com chua", "i do lam the nao", "do an o dau", "can cuoc cong dan",
    "cho toi hoi thu tuc", "lam the nao de dang ky tam tru", "sdt phuong la gi", "tthc la gi", "ko biet nop o dau",
    "iphone 16 pro max gia bn", "wifi ubnd phuong pass la gi",  # brand and tech words in a Vietnamese question
])
def test_unaccented_vietnamese_is_never_taken_for_english(text):
    assert not looks_foreign(text)
    assert read(text).kind != "invalid"


@pytest.mark.parametrize("text", [
    "What is the weather today?", "How do I renew my passport", "please tell me the price", "where is the office",
    "birth certificate fee", "I want to book a flight to Hanoi",
])
def test_english_is_recognised(text):
    assert looks_foreign(text)
    assert read(text).kind == "invalid"


@pytest.mark.parametrize("text", ["phường Phú Thái tuyên truyền gì", "xã Phú Thái tuyên truyền gì",
                                  "phu thai tuyen truyen gi", "p phú thái tuyên truyền gì"])
def test_a_ward_is_one_place_whatever_unit_is_written(text):
    u = read(text)
    assert u.wards == {"phu thai"}
    assert "xa phu thai" in u.folded  # the document's own wording, so the wrong unit costs no coverage


def test_years_and_question_shapes_are_read():
    u = read("an hai nam 2026 tuyen truyen bang nhung hinh thuc nao")
    assert u.years == {2026} and u.asks_list and u.wards == {"an hai"}
    assert read("ti le ho so dung han bao nhieu phan tram").asks_quantity
    assert read("so dien thoai tong dai ho tro").asks_phone


def test_office_detail_and_personal_questions_are_flagged_from_lexicon_cues():
    assert read("phuong lam viec thu 7 khong").asks_office
    assert read("lam giay xac nhan doc than can nhung giay to gi").asks_detail
    assert read("ho so cua toi nop tuan truoc sao chua xong").personal_file
    assert read("đơn xin cấp đổi căn cước của tôi bị từ chối là sao").personal_file  # one's own file, however said
    assert read("tôi đặt lịch làm hộ chiếu rồi mà chưa nhận được tin nhắn").personal_file
    assert not read("đổi căn cước cần những giấy tờ gì").personal_file


def test_work_per_question_is_bounded():
    u = read(" ".join(["thu tuc hanh chinh"] * 300))
    assert len(u.folded.split()) <= 60


def test_markup_and_empty_messages():
    assert read("   ").kind == "invalid"
    assert read("🙂🙂").kind == "invalid"
    assert read("<b>xin chào</b>").kind == "smalltalk"


def test_numbers_stay_whole_as_the_index_cuts_them():
    u = read("tổng đài 1800.1096 hỗ trợ gì, hạn 26/01/2026")
    assert "1800.1096" in u.folded.split() and "26/1/2026" in u.folded.split()


def test_how_a_question_is_asked_is_not_what_it_asks():
    """Coverage is measured on what is asked: "như thế nào", "bằng cách nào", "xong thì" go; the topic stays."""
    assert read("tra cứu hồ sơ bằng cách nào").asked == "tra cuu ho so"
    asked = read("nộp online xong thì cần lưu lại gì").asked
    assert "xong" not in asked.split() and "luu lai" in asked
    assert "the" in read("làm thẻ bhyt như thế nào").asked.split()  # "thẻ" is the topic, "thế nào" the frame
    assert read("như thế nào").asked == "nhu the nao"  # nothing else asked: the question stays whole
    # calling on a group chat ("… không mọi người?") asks nothing either
    assert "moi nguoi" not in read("nộp hồ sơ qua bưu điện được không mọi người").asked


def test_the_connector_thi_is_not_measured_but_do_thi_and_cuoc_thi_are():
    """"thì" typed "thi" says nothing about the topic; "đô thị" and "cuộc thi" are topics."""
    assert "thi" not in read("mat ma ho so thi tra cuu the nao").asked.split()
    assert read("mất mã hồ sơ thì tra cứu thế nào").asked == read("mat ma ho so thi tra cuu the nao").asked
    assert "thi" in read("phong kinh te ha tang va do thi lam gi").asked.split()
    assert "thi" in read("cuoc thi tim hieu cchc to chuc khi nao").asked.split()


def test_a_deadline_question_is_flagged():
    assert read("nguoi nha mat bao lau thi phai khai tu").asks_deadline
    assert not read("khai tu mat bao lau").asks_deadline
    # "bao lâu … phải": a few words may sit between ("bao lâu gia đình phải", "bao lâu thì bắt buộc")
    assert read("bo mat thi trong bao lau gia dinh phai xoa thuong tru").asks_deadline
    assert read("sinh con được bao lâu thì bắt buộc phải khai sinh").asks_deadline
    assert not read("lam can cuoc bao lau thi co, co phai chup anh khong nhi ban oi").asks_deadline


def test_pairs_made_by_rewriting_are_known_so_coverage_can_skip_them():
    """"… làm khó thì báo …" becomes "… phản ánh kiến nghị …": the pair across the edge was never written."""
    u = understand("cán bộ làm khó thì báo cho ai", 1000, WARDS,
                   rewrite=lambda folded: folded.replace("lam kho", "phan anh kien nghi"))
    assert "bo_phan" in u.made_pairs  # "cán bộ" + the synonym's first word
    assert "phan_anh" not in u.made_pairs and "can_bo" not in u.made_pairs


def test_a_stopword_written_with_other_marks_is_a_content_word():
    """"tài chính" folds to the stopword "tai" (tại) but is what the question is about; unmarked "tai" stays a stopword."""
    from bot.understand import marked_content
    assert marked_content("ai phụ trách cải cách tài chính công") == {"tai"}
    assert marked_content("tại sao mọi người phải làm mới") == set()
    assert marked_content("ai phu trach cai cach tai chinh cong") == set()


def test_the_kind_of_figure_asked_is_read():
    assert read("xã chi bao nhiêu tiền cho tuyên truyền").figure_kind == "money"
    assert read("kinh phi la bao nhieu").figure_kind == "money"
    assert read("tỷ lệ hồ sơ trực tuyến đạt bao nhiêu").figure_kind == "percent"
    assert read("hạn nộp báo cáo là ngày nào").figure_kind is None


def test_a_capitalised_ward_not_known_here_is_noted():
    u = understand("Kế hoạch của phường Ninh Kiều năm 2025", 2000, wards={"an hai": "phuong an hai"})
    assert u.other_wards == {"ninh kieu"} and not u.wards
    assert understand("Phường An Hải tuyên truyền gì", 2000, wards={"an hai": "phuong an hai"}).other_wards == set()
    # the unit abbreviated ("p.", "X.") counts; the "P." of "TP.HCM" does not
    assert understand("p. Tan Dinh TP.HCM co ke hoach cchc gi", 2000, {"an hai": "phuong an hai"}).other_wards == {
        "tan dinh"}
    assert understand("TP.HCM có tổng đài 1022 không", 2000, {"an hai": "phuong an hai"}).other_wards == set()


def test_a_question_about_a_fine_is_flagged_but_not_a_broadcast_or_a_discovery():
    assert read("không khai báo tạm vắng thì có bị phạt không").asks_sanction
    assert read("khong dang ky tam tru cho nguoi thue tro bi phat bao nhieu").asks_sanction
    # "phát thanh", "phát hiện" fold to "phat" as well: written with marks they are not a fine
    assert not read("phường làm chuyên mục phát thanh về cải cách hành chính ở đâu").asks_sanction
    assert not read("làm giả giấy tờ có bị phát hiện không").asks_sanction


def test_what_is_asked_about_the_document_itself_is_named():
    assert read("kế hoạch này do ai ký, ký ngày nào").document_facts == ["signer", "date"]
    assert read("ke hoach tuyen truyen gui toi nhung noi nao").document_facts == ["recipients"]
    assert not read("kế hoạch tuyên truyền qua những hình thức nào").asks_document


def test_a_social_network_is_not_filing_online():
    """"trên mạng" is "trực tuyến" (filing online), but "trên mạng xã hội" is Facebook, Zalo."""
    from index.vietnamese import rewrite_query

    assert "mang xa hoi" in rewrite_query("phuong tuyen truyen tren mang xa hoi nao")
    assert "truc tuyen" in rewrite_query("lam ho chieu tren mang duoc khong")


def test_a_salary_asked_is_a_sum_of_money_but_quality_is_not():
    """"lương … bao nhiêu 1 tháng" must be answered by a sum ("1 tháng" and a date are not); "chất lượng", "số lượng"
    fold to "luong" too and ask no money."""
    assert understand("luong can bo mot cua phuong bao nhieu 1 thang", 500).figure_kind == "money"
    assert understand("chat luong phuc vu dat bao nhieu phan tram", 500).figure_kind == "percent"
    assert understand("so luong ho so truc tuyen la bao nhieu", 500).figure_kind != "money"
