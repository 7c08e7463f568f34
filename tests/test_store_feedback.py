"""Redaction and the feedback store: what officers see, and what they must never see."""
from __future__ import annotations

import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from bot.redact import EMAIL, ID_NUMBER, PHONE, redact
from bot.store import SqliteStore, UnknownQuestion, citation_payload, open_store
from bot.types import Citation
from index.settings import Settings


# ---------------------------------------------------------------------------- redaction
@pytest.mark.parametrize("text", [
    "0912345678", "0912 345 678", "091.234.5678", "0912-345-678", "+84 912 345 678", "+84912345678",
    "(+84) 912345678", "84912345678", "0236 3822 123", "02363822123",
])
def test_phone_numbers_are_redacted(text):
    assert redact(f"Gọi cho tôi theo số {text} nhé.") == f"Gọi cho tôi theo số {PHONE} nhé."


@pytest.mark.parametrize("text", ["123456789", "001203012345", "001 203 012 345", "0012 0301 2345"])
def test_id_card_numbers_are_redacted(text):
    assert redact(f"CCCD của tôi: {text}, cấp năm 2021") == f"CCCD của tôi: {ID_NUMBER}, cấp năm 2021"


def test_emails_are_redacted():
    assert redact("gửi về lan.nguyen+cchc@gmail.com.vn giúp tôi") == f"gửi về {EMAIL} giúp tôi"


@pytest.mark.parametrize("text", [
    "Gọi Tổng đài 1800.1096 hoặc 1022.",
    "Tổng đài 1800 1096, gọi 0290 1022",
    "Kế hoạch ngày 26/01/2026, số 123/QĐ-UBND",
    "Nghị định 69/2024/NĐ-CP ngày 25/6/2024",
    "lệ phí 100.000.000 đồng, 1.000.000 đồng",
    "https://tanthanh.huonghoa.quangtri.gov.vn/chi-tiet-tin/-/view-article/1/1688518073224/1714808383758",
    "mã hồ sơ 000.00.12.H12-250101-0001 và 000.00.00.H00-123456789",
    "năm 2025 đạt 98% hồ sơ",
])
def test_hotlines_dates_document_numbers_and_urls_are_kept(text):
    assert redact(text) == text


def test_mixed_text_keeps_the_question():
    q = "SĐT 0987654321, CCCD 001203012345, email a@b.vn: tổng đài 1800.1096 làm việc giờ nào?"
    assert redact(q) == f"SĐT {PHONE}, CCCD {ID_NUMBER}, email {EMAIL}: tổng đài 1800.1096 làm việc giờ nào?"


# -------------------------------------------------------------------------------- store
CITATIONS = [
    Citation(n=1, doc_id="kh-an-hai-2026", title="Kế hoạch tuyên truyền CCHC phường An Hải năm 2026",
             section="V. TỔ CHỨC THỰC HIỆN > 4. Văn phòng HĐND&UBND phường", source="an-hai.txt",
             text="Tuyên truyền việc thực hiện cải cách lề lối làm việc.", score=0.9, date="2026-01-26"),
]


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "store.sqlite")
    yield s
    s.close()


def test_question_log_is_redacted_and_user_ids_hashed(store, tmp_path):
    user = store.hash_user("telegram", 123456789)
    qid = store.log_question("telegram", user, "Tôi (0912345678) hỏi về tổng đài?", "Gọi 1800.1096 [1]",
                             True, CITATIONS, 42.0)
    dump = "\n".join(sqlite3.connect(tmp_path / "store.sqlite").iterdump())
    assert "0912345678" not in dump and "123456789" not in dump
    assert "Tôi ([SĐT]) hỏi về tổng đài?" in dump and "1800.1096" in dump
    assert qid > 0 and len(user) == 32


def test_user_hash_is_stable_salted_and_per_channel(tmp_path):
    a = SqliteStore(tmp_path / "a" / "store.sqlite")
    h = a.hash_user("telegram", 42)
    a.close()
    again = SqliteStore(tmp_path / "a" / "store.sqlite")  # the salt file persists next to the database
    assert again.hash_user("telegram", 42) == h
    assert again.hash_user("zalo", 42) != h
    other = SqliteStore(tmp_path / "b" / "store.sqlite")  # another installation, another salt
    assert other.hash_user("telegram", 42) != h
    assert (tmp_path / "a" / "store.salt").stat().st_mode & 0o077 == 0


def test_citations_are_kept_server_side_under_a_short_key(store):
    qid = store.log_question("telegram", "u", "q", "a", True, CITATIONS, 1.0)
    key = store.save_citations(CITATIONS, qid)
    assert len(f"src:{key}".encode()) <= 64
    [c] = store.get_citations(key)
    assert c["title"] == CITATIONS[0].title and c["text"] == CITATIONS[0].text and c["date"] == "2026-01-26"
    assert c["label"] == CITATIONS[0].label()
    assert store.get_citations("nope") is None
    assert citation_payload(CITATIONS) == store.get_citations(store.save_citations(citation_payload(CITATIONS)))


def test_votes_are_listed_with_question_answer_and_citations(store):
    u1, u2 = store.hash_user("telegram", 1), store.hash_user("zalo", 2)
    q1 = store.log_question("telegram", u1, "Câu hỏi một?", "Trả lời một [1]", True, CITATIONS, 10.0)
    q2 = store.log_question("zalo", u2, "Câu hỏi hai?", "Không tìm thấy", False, [], 20.0, kind="not_found")
    down = store.record_vote(q1, "telegram", u1, -1)
    store.record_vote(q2, "zalo", u2, 1)
    [fb] = store.list_feedback(vote=-1)
    assert (fb.id, fb.question, fb.answer_text, fb.found, fb.channel) == (down, "Câu hỏi một?", "Trả lời một [1]",
                                                                          True, "telegram")
    assert fb.citations[0]["text"] == CITATIONS[0].text
    assert [f.question for f in store.list_feedback(vote=None)] == ["Câu hỏi hai?", "Câu hỏi một?"]
    # changing one's mind updates the vote instead of adding a second one
    assert store.record_vote(q1, "telegram", u1, 1) == down
    assert store.list_feedback(vote=-1) == [] and len(store.list_feedback(vote=1)) == 2


def test_mark_reviewed_moves_a_vote_out_of_the_review_queue(store):
    qid = store.log_question("telegram", "u", "q?", "a", True, [], 1.0)
    fid = store.record_vote(qid, "telegram", "u", -1)
    assert [f.id for f in store.list_feedback(vote=-1, reviewed=False)] == [fid]
    assert store.mark_reviewed(fid) is True
    assert store.list_feedback(vote=-1, reviewed=False) == []
    assert [f.id for f in store.list_feedback(vote=-1, reviewed=True)] == [fid]
    assert store.mark_reviewed(9999) is False


def test_bad_votes_are_refused(store):
    with pytest.raises(UnknownQuestion):
        store.record_vote(12345, "telegram", "u", -1)
    qid = store.log_question("telegram", "u", "q?", "a", True, [], 1.0)
    with pytest.raises(ValueError):
        store.record_vote(qid, "telegram", "u", 5)


def test_stats_count_questions_not_found_and_reply_times(store):
    for i in range(20):
        store.log_question("telegram", f"u{i % 3}", "Tổng đài 1800.1096 là gì?" if i < 12 else f"Câu lạ {i % 2}?",
                           "…", i < 12, [], float(i + 1), kind="answer" if i < 12 else "not_found")
    store.log_question("zalo", "z", "xin chào", "Xin chào!", True, [], 1.0, kind="smalltalk")
    s = store.stats()
    assert s.total == 21 and s.not_found == 8
    assert s.not_found_rate == pytest.approx(8 / 20)  # greetings are not questions
    assert s.p95_reply_ms == 19.0  # nearest rank of 1..20 and 1
    assert s.most_asked[0] == {"question": "Tổng đài 1800.1096 là gì?", "count": 12}
    assert {r["question"] for r in s.most_not_found} == {"Câu lạ 0?", "Câu lạ 1?"}
    assert {(r["channel"], r["count"]) for r in s.per_day} == {("telegram", 20), ("zalo", 1)}
    assert store.stats(since=datetime.now(timezone.utc) + timedelta(minutes=1)).total == 0
    assert s.to_json()["votes"] == {"up": 0, "down": 0, "unreviewed_down": 0}


def test_store_is_safe_from_many_threads(store):
    def work(n: int) -> None:
        for i in range(25):
            qid = store.log_question("telegram", f"u{n}", f"câu {n}-{i}", "a", True, CITATIONS, 1.0)
            store.save_citations(CITATIONS, qid)
            store.record_vote(qid, "telegram", f"u{n}", -1 if i % 2 else 1)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.stats().total == 200
    assert len(store.list_feedback(vote=-1, limit=1000)) == 8 * 12


def test_open_store_lives_in_the_data_dir(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    s = open_store(settings)
    try:
        s.log_question("telegram", "u", "q", "a", True, [], time.time() % 1)
        assert (tmp_path / "data" / "store.sqlite").is_file()
    finally:
        s.close()
