"""Diacritics restored from the knowledge base's own syllable statistics."""
from pathlib import Path

from bot.accents import AccentRestorer
from index.documents import load_documents

KNOWLEDGE = Path(__file__).resolve().parents[1] / "knowledge"


def test_restores_most_syllables_of_unaccented_questions():
    docs = [d for d in load_documents(KNOWLEDGE) if d.type != "thủ tục"]
    restorer = AccentRestorer(d.body for d in docs)
    pairs = {  # written for this test, not taken from any eval file
        "so tong dai ho tro dich vu cong": "số tổng đài hỗ trợ dịch vụ công",
        "ke hoach cai cach hanh chinh nam 2026": "kế hoạch cải cách hành chính năm 2026",
        "tuyen truyen tren trang thong tin dien tu": "tuyên truyền trên trang thông tin điện tử",
        "nop ho so truc tuyen": "nộp hồ sơ trực tuyến",
    }
    right = total = 0
    for plain, accented in pairs.items():
        out = restorer.restore(plain).split()
        right += sum(a == b for a, b in zip(out, accented.split()))
        total += len(accented.split())
    assert right / total >= 0.85


def test_accented_text_and_unknown_words_are_left_alone():
    restorer = AccentRestorer(["Thủ tục hành chính"])
    assert restorer.restore("Thủ tục đã có dấu") == "Thủ tục đã có dấu"
    assert restorer.restore("thu tuc xyz") == "thủ tục xyz"


def test_the_assistant_also_learns_how_citizens_write_from_the_lexicon_examples(assistant):
    """Documents rarely say "nào", "mẹ", "cần … gì": the lexicon's example messages teach those."""
    assert assistant.accents.restore("lam khai tu can nhung giay to nao") == "làm khai tử cần những giấy tờ nào"
