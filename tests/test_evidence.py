"""Evidence is quoted, never invented: sentences are cut only where the answer is not."""
import pytest

from bot.evidence import _split_clauses, around_figure, new_figures, split_units

LONG = ("Từ đó, góp phần thực hiện hiệu quả Đề án “Tuyên truyền, phổ biến, nâng cao chất lượng về cung cấp và sử dụng "
        "hiệu quả dịch vụ công trực tuyến đến năm 2025, định hướng đến năm 2030” của cơ quan nhà nước các cấp, gắn với "
        "việc hỗ trợ người dân, doanh nghiệp khai thác, sử dụng dịch vụ công trực tuyến, được Thủ tướng Chính phủ phê "
        "duyệt tại Quyết định số 1588/QĐ-TTg ngày 17/12/2024.")


def test_a_long_sentence_is_quoted_around_the_number_asked_not_cut_before_it():
    quoted = around_figure(LONG, "de an duoc thu tuong phe duyet tai quyet dinh nao", limit=200)
    assert "1588/QĐ-TTg" in quoted and quoted.startswith("… ") and len(quoted) <= 205
    assert quoted in "… " + LONG or quoted[2:] in LONG  # every quoted word is the sentence's own


def test_a_sentence_whose_figure_is_near_its_head_or_already_asked_stays_whole():
    short = "Phấn đấu 90% hồ sơ được giải quyết đúng hạn."
    assert around_figure(short, "bao nhieu phan tram", limit=200) == short
    assert around_figure(LONG, "de an phe duyet tai quyet dinh nao", limit=1000) == LONG  # it fits whole


def test_short_fragments_join_their_neighbour():
    assert split_units("Mục tiêu. Phấn đấu 90% hồ sơ được giải quyết đúng hạn trên toàn phường.") == [
        "Mục tiêu. Phấn đấu 90% hồ sơ được giải quyết đúng hạn trên toàn phường."]


def test_a_reply_line_keeps_the_number_asked_when_the_body_has_little_room():
    from bot.compose import sentence

    assert "1588/QĐ-TTg" not in sentence(LONG, 220)  # room for the head only …
    assert "1588/QĐ-TTg" in sentence(LONG, 220, "de an phe duyet tai quyet dinh nao")  # … unless a number is asked


@pytest.mark.parametrize("sentence, pieces", [
    ("báo cáo về Ủy ban nhân dân xã (qua Phòng Văn hoá - Xã hội, cơ quan thường trực) để tổng hợp; rồi gửi Sở",
     ["báo cáo về Ủy ban nhân dân xã (qua Phòng Văn hoá - Xã hội, cơ quan thường trực) để tổng hợp;", "rồi gửi Sở"]),
    ("giao Phòng Kinh tế - Hạ tầng chủ trì - Tuyên truyền trên loa; - Phổ biến qua bảng tin",
     ["giao Phòng Kinh tế - Hạ tầng chủ trì", "- Tuyên truyền trên loa;", "- Phổ biến qua bảng tin"]),
])
def test_a_long_sentence_splits_at_list_dashes_not_at_the_hyphen_of_a_name(sentence, pieces):
    """An answer never begins "Xã hội, cơ quan thường trực …": the office's name is one piece."""
    assert _split_clauses(sentence) == pieces


def test_a_figure_that_varies_by_place_is_answered_by_the_sentence_that_says_so():
    from bot.evidence import RE_VARIES
    assert RE_VARIES.search("Số đường dây nóng của mỗi xã, phường là khác nhau.")
    assert not RE_VARIES.search("Các phường có cách làm khác nhau để tuyên truyền.")


def test_a_count_is_so_many_things_not_a_date_a_phone_number_or_a_decision():
    """"bao nhiêu đơn vị" is answered by "12 sở, ban, ngành", "90% hồ sơ"; never by "ngày 21/01/2022, ban đầu",
    "Tổng đài 1800.1096, người dân" or "Nghị quyết số 76/NQ-CP"."""
    assert new_figures("Đoàn kiểm tra 12 sở, ban, ngành.", "kiem tra bao nhieu don vi", "count")
    assert new_figures("Tối thiểu 90% hồ sơ được giải quyết đúng hạn.", "bao nhieu ho so", "count")
    assert not new_figures("Vận hành thử nghiệm từ ngày 21/01/2022, ban đầu để tiếp nhận.", "bao nhieu cuoc goi", "count")
    assert not new_figures("Ngoài Tổng đài 1800.1096, người dân có thể gửi đề nghị.", "bao nhieu cuoc goi", "count")
    assert not new_figures("Nghị quyết số 76/NQ-CP của Chính phủ.", "bao nhieu ho so", "count")
