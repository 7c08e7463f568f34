"""A question about a document itself is answered by its card's own line, never by a look-alike sentence."""
from bot.document_card import card_lines, names_other_document

CARD = ("Kế hoạch tuyên truyền cải cách hành chính nhà nước xã Phú Thái 6 tháng cuối năm 2025. Số hiệu: số văn bản để "
        "trống trong bản gốc. Ngày ban hành: tháng 7/2025. Cơ quan ban hành: Ủy ban nhân dân xã Phú Thái. Nơi nhận: Sở "
        "Nội vụ; TT. Đảng ủy; TT. HĐND xã; Lãnh đạo UBND xã. Người ký: Phạm Tiến Nhuận (Phó Chủ tịch).")


def test_the_line_of_each_fact_asked_is_read_whole():
    assert card_lines(CARD, ["signer"]) == [("Người ký: Phạm Tiến Nhuận (Phó Chủ tịch).", 0)]
    recipients = card_lines(CARD, ["recipients"])[0][0]
    assert recipients.startswith("Nơi nhận: Sở Nội vụ") and recipients.endswith("Lãnh đạo UBND xã.")  # "TT." inside
    assert [t for t, _ in card_lines(CARD, ["number", "date"])] == [
        "Số hiệu: số văn bản để trống trong bản gốc.", "Ngày ban hành: tháng 7/2025."]
    assert card_lines(CARD, []) == []


def test_a_question_naming_another_documents_number_is_not_about_this_card():
    card = CARD.replace("Số hiệu: số văn bản để trống trong bản gốc.", "Số hiệu: 123/KH-UBND.")
    assert names_other_document("Quyết định số 03 ban hành ngày nào", card)
    assert names_other_document("quyết định 1588/QĐ-TTg ký ngày nào", card)
    assert not names_other_document("kế hoạch 123/KH-UBND do ai ký", card)
    assert not names_other_document("kế hoạch này ký ngày nào", card)
