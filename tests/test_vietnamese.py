"""Vietnamese text helpers: citizens type without diacritics and with abbreviations; both sides must meet."""
import unicodedata

import pytest

from index.vietnamese import (
    expand_abbreviations,
    fold,
    has_vietnamese_diacritics,
    keyword_terms,
    nfc,
    normalized_tokens,
    syllables,
)


def test_fold_strips_diacritics_and_lowercases():
    assert fold("Thủ tục Đăng ký") == "thu tuc dang ky"
    assert fold("ĐỒNG THUẬN Ủy ban") == "dong thuan uy ban"


def test_fold_treats_decomposed_and_composed_text_alike():
    composed = "Hưng Phú cải cách hành chính"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert fold(decomposed) == fold(composed)
    assert nfc(decomposed) == composed


@pytest.mark.parametrize(
    ("abbreviation", "expansion"),
    [("tthc", "thu tuc hanh chinh"), ("dvc", "dich vu cong"), ("sdt", "so dien thoai"), ("ko", "khong"),
     ("cchc", "cai cach hanh chinh")],
)
def test_abbreviations_expand(abbreviation, expansion):
    assert normalized_tokens(abbreviation) == expansion.split()
    assert expand_abbreviations([abbreviation]) == expansion.split()


def test_abbreviation_expansion_matches_the_spelled_out_question():
    short = keyword_terms("sdt ho tro dvc")
    spelled = keyword_terms("số điện thoại hỗ trợ dịch vụ công")
    assert set(short) == set(spelled)


def test_keyword_terms_contain_syllables_and_bigrams():
    terms = keyword_terms("Thủ tục hành chính")
    assert {"thu", "tuc", "hanh", "chinh"} <= set(terms)
    assert {"thu_tuc", "tuc_hanh", "hanh_chinh"} <= set(terms)


def test_keyword_terms_drop_function_words_as_unigrams():
    terms = keyword_terms("số tổng đài là gì vậy")
    assert "la" not in terms and "gi" not in terms and "vay" not in terms
    assert "tong" in terms and "dai" in terms


@pytest.mark.parametrize(
    ("with_marks", "without_marks"),
    [
        ("Kế hoạch tuyên truyền cải cách hành chính phường An Hải năm 2026",
         "ke hoach tuyen truyen cai cach hanh chinh phuong an hai nam 2026"),
        ("Số điện thoại hỗ trợ dịch vụ công là gì?", "so dien thoai ho tro dich vu cong la gi"),
        ("Đăng nhập Cổng Dịch vụ công bằng tài khoản nào", "dang nhap cong dich vu cong bang tai khoan nao"),
    ],
)
def test_question_without_diacritics_gives_the_same_terms(with_marks, without_marks):
    assert keyword_terms(with_marks) == keyword_terms(without_marks)


def test_numbers_and_dates_stay_one_token_and_ignore_leading_zeros():
    assert "1800.1096" in syllables("Gọi Tổng đài 1800.1096 nhé")
    assert syllables("ngày 06/07/2025") == syllables("ngày 6/7/2025")


def test_has_vietnamese_diacritics():
    assert has_vietnamese_diacritics("thủ tục")
    assert has_vietnamese_diacritics("ĐĂNG KÝ")
    assert not has_vietnamese_diacritics("thu tuc hanh chinh")
    assert not has_vietnamese_diacritics("What is the weather today?")


@pytest.mark.parametrize("spelling", ["1800.1096", "1800 1096", "1800-1096", "18001096"])
def test_a_hotline_is_one_number_however_it_is_spelled(spelling):
    assert syllables(f"gọi {spelling} có mất tiền không")[1] == "1800.1096"


def test_other_numbers_are_not_joined_as_hotlines():
    assert syllables("năm 2018 có 1096 hồ sơ") == ["nam", "2018", "co", "1096", "ho", "so"]
