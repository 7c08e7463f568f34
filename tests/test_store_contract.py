"""The Store contract, run on both backends: SQLite (one machine) and PostgreSQL (a throwaway cluster).

What channels and the console rely on — redacted question log, citations behind buttons, votes and notes,
chat memory, hand-offs, the officers' overview and question log (bot/store_questions.py's SQL) — must read the
same on either. PostgreSQL adds delivery claims shared by workers, checked at the end.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa

from bot.store import (DELIVERY_BUSY, DELIVERY_DONE, DELIVERY_NEW, LOST_QUESTION_ID, SqliteStore, StoreUnavailable,
                       StoreWriteFailed, UnknownQuestion, open_store)
from bot.store_questions import QuestionFilter, daily, get_question, known_values, list_questions, not_found_texts
from conftest import make_settings

DAY = 24 * 3600
CITATIONS = [{"n": 1, "doc_id": "kh-1", "title": "Kế hoạch CCHC 2026", "section": "I. MỤC TIÊU", "date": "2026-02-03",
              "source": "kh.txt", "text": "100% thủ tục trực tuyến", "label": "Kế hoạch CCHC 2026, mục I"}]


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = SqliteStore(tmp_path / "store.sqlite")
    else:
        url = request.getfixturevalue("postgres_url")
        s = open_store(make_settings(tmp_path / "k", tmp_path / "d", database_url=url))
    yield s
    s.close()


def backdate(store, table: str, row_id: int, ts: float) -> None:
    if isinstance(store, SqliteStore):
        store._execute(f"UPDATE {table} SET created_at = ? WHERE id = ?", (ts, row_id))
    else:
        with store.engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE {table} SET created_at = :ts WHERE id = :id"), {"ts": ts, "id": row_id})


def test_open_store_picks_the_backend_from_the_settings(postgres_url, tmp_path):
    from state.store import SqlStore

    sqlite = open_store(make_settings(tmp_path / "k", tmp_path / "d"))
    shared = open_store(make_settings(tmp_path / "k", tmp_path / "d", database_url=postgres_url))
    assert isinstance(sqlite, SqliteStore) and (tmp_path / "d" / "store.sqlite").exists()
    assert isinstance(shared, SqlStore)
    sqlite.close()
    shared.close()


def test_question_log_is_redacted_and_users_are_pseudonyms(store):
    user = store.hash_user("telegram", 123456789)
    assert user == store.hash_user("telegram", 123456789) != store.hash_user("zalo_bot", 123456789)
    assert "123456789" not in user and len(user) == 32
    qid = store.log_question("telegram", user, "Tôi (0912345678) hỏi về tổng đài?", "Gọi 1800.1096 [1]", True,
                             CITATIONS, 12.5, ward="Phường An Hải")
    item = get_question(store.read_only_query, qid)
    assert item.question == "Tôi ([SĐT]) hỏi về tổng đài?" and item.answer_text == "Gọi 1800.1096 [1]"
    assert item.ward == "Phường An Hải" and item.citations[0]["title"] == "Kế hoạch CCHC 2026"
    with pytest.raises(ValueError):
        store.read_only_query("DELETE FROM questions")


def test_citations_are_kept_under_a_short_key(store):
    qid = store.log_question("telegram", "u", "q", "a", True, CITATIONS, 1.0)
    key = store.save_citations(CITATIONS, qid)
    assert len(key) <= 12 and store.get_citations(key) == CITATIONS
    assert store.get_citations("nope") is None


def test_votes_notes_and_review(store):
    u1, u2 = store.hash_user("telegram", 1), store.hash_user("zalo_bot", 2)
    q1 = store.log_question("telegram", u1, "Câu hỏi một?", "Trả lời một [1]", True, CITATIONS, 10.0)
    q2 = store.log_question("zalo_bot", u2, "Câu hỏi hai?", "Không tìm thấy", False, [], 20.0, kind="not_found")
    down = store.record_vote(q1, "telegram", u1, -1)
    store.record_vote(q2, "zalo_bot", u2, 1)
    store.add_feedback_note(q1, u1, "Sai rồi, gọi tôi 0912345678")
    [fb] = store.list_feedback(vote=-1)
    assert (fb.id, fb.question, fb.note, fb.citations[0]["n"]) == (down, "Câu hỏi một?", "Sai rồi, gọi tôi [SĐT]", 1)
    assert [f.question for f in store.list_feedback(vote=None)] == ["Câu hỏi hai?", "Câu hỏi một?"]
    assert store.record_vote(q1, "telegram", u1, 1) == down  # a changed vote, not a second one
    assert store.list_feedback(vote=-1) == [] and len(store.list_feedback(vote=1)) == 2
    store.record_vote(q1, "telegram", u1, -1)
    assert store.mark_reviewed(down) and not store.mark_reviewed(999_999)
    assert store.list_feedback(vote=-1, reviewed=False) == [] and len(store.list_feedback(vote=-1, reviewed=True)) == 1
    with pytest.raises(UnknownQuestion):
        store.record_vote(999_999, "telegram", u1, 1)
    with pytest.raises(ValueError):
        store.record_vote(q1, "telegram", u1, 0)
    assert get_question(store.read_only_query, q1).notes == ["Sai rồi, gọi tôi [SĐT]"]


def test_chat_memory_and_handoffs(store):
    assert store.load_memory("telegram", "chat-1") is None
    store.save_memory("telegram", "chat-1", {"procedure": "khai sinh", "turns": [1]})
    store.save_memory("telegram", "chat-1", {"procedure": "tạm trú"})
    updated_at, payload = store.load_memory("telegram", "chat-1")
    assert payload == {"procedure": "tạm trú"} and abs(updated_at - time.time()) < 60
    assert store.load_memory("zalo_bot", "chat-1") is None
    first = store.enqueue_handoff("telegram", "u1", "người dân muốn gặp cán bộ", "Phường An Hải",
                                  [{"who": "dân", "text": "số tôi 0912345678"}])
    second = store.enqueue_handoff("zalo_bot", "u2", "hai lần không tìm thấy", None, [])
    assert [h["id"] for h in store.list_handoffs()] == [second, first]
    assert store.list_handoffs()[1]["transcript"] == [{"who": "dân", "text": "số tôi [SĐT]"}]
    assert store.mark_handoff_done(first) and not store.mark_handoff_done(999_999)
    assert [h["id"] for h in store.list_handoffs()] == [second]
    assert [h["id"] for h in store.list_handoffs(done=True)] == [first]


def test_overview_and_question_log_read_alike(store):
    now = time.time()

    def log(channel, question, found, kind="answer", age=0.0, ms=100.0, ward=None):
        qid = store.log_question(channel, "u", question, "Trả lời.", found, [], ms, kind=kind, ward=ward)
        backdate(store, "questions", qid, now - age)
        return qid

    old = log("zalo_bot", "Thủ tục khai sinh?", True, age=20 * DAY, ms=900.0)
    miss = log("telegram", "Làm căn cước ở đâu?", False, kind="not_found", ward="Phường An Hải", ms=300.0, age=2)
    log("telegram", "làm căn cước ở đâu", False, kind="not_found", ms=200.0, age=1)
    log("telegram", "Xin chào", True, kind="smalltalk", ms=10.0)
    store.record_vote(miss, "telegram", "u", -1)

    stats = store.stats()
    assert (stats.total, stats.not_found, stats.not_found_rate) == (4, 2, round(2 / 3, 4))
    assert stats.most_not_found[0]["count"] == 2 and stats.votes == {"up": 0, "down": 1, "unreviewed_down": 1}
    assert sum(r["count"] for r in stats.per_day) == 4 and stats.p95_reply_ms == 900.0
    assert store.stats(since=now - DAY).total == 3

    query = store.read_only_query
    assert list_questions(query, QuestionFilter())[1] == 4
    assert [q.id for q in list_questions(query, QuestionFilter(not_found=True))[0]] == [miss + 1, miss]
    assert [q.id for q in list_questions(query, QuestionFilter(down=True))[0]] == [miss]
    assert list_questions(query, QuestionFilter(channel="zalo_bot"))[0][0].id == old
    assert list_questions(query, QuestionFilter(search="CĂN CƯỚC".lower()))[1] == 2
    assert list_questions(query, QuestionFilter(search="50%_"))[1] == 0  # LIKE wildcards are taken literally
    today = time.gmtime(now + 7 * 3600)
    from datetime import date
    day = date(today.tm_year, today.tm_mon, today.tm_mday)
    assert list_questions(query, QuestionFilter(day_from=day, day_to=day))[1] == 3
    page, total = list_questions(query, QuestionFilter(), offset=1, limit=2)
    assert total == 4 and len(page) == 2
    assert known_values(query) == (["telegram", "zalo_bot"], ["Phường An Hải"])
    assert [q for _, q in not_found_texts(query)] == ["làm căn cước ở đâu", "Làm căn cước ở đâu?"]
    series = daily(query)
    assert len(series.days) == 2 and series.not_found[day.isoformat()] == 2 and series.down[day.isoformat()] == 1
    assert series.asked[day.isoformat()] == 2 and series.p95_all == 900.0


def test_delivery_keys_are_answered_once(store):
    assert store.claim_delivery("telegram", "7") == DELIVERY_NEW
    store.finish_delivery("telegram", "7")
    assert store.claim_delivery("telegram", "7") == DELIVERY_DONE
    assert store.claim_delivery("zalo_bot", "7") == DELIVERY_NEW  # keys are per channel


# ------------------------------------------------------------------------ PostgreSQL only
@pytest.fixture
def pg_url(postgres_url):
    return postgres_url


def two_workers(url, tmp_path, lease=30.0):
    settings = make_settings(tmp_path / "k", tmp_path / "d", database_url=url, delivery_lease_seconds=lease)
    return open_store(settings), open_store(settings)


def test_workers_share_salt_and_claims(pg_url, tmp_path):
    a, b = two_workers(pg_url, tmp_path)
    try:
        assert a.hash_user("telegram", 42) == b.hash_user("telegram", 42)
        assert a.claim_delivery("telegram", "1") == DELIVERY_NEW
        assert b.claim_delivery("telegram", "1") == DELIVERY_BUSY  # a is answering: b must not acknowledge
        a.finish_delivery("telegram", "1")
        assert b.claim_delivery("telegram", "1") == DELIVERY_DONE
        assert a.claim_delivery("telegram", "2") == DELIVERY_NEW
        assert a.release_delivery("telegram", "2")  # the reply could not be sent: the next delivery is answered
        assert b.claim_delivery("telegram", "2") == DELIVERY_NEW
    finally:
        a.close()
        b.close()


def test_concurrent_claims_have_one_winner(pg_url, tmp_path):
    stores = two_workers(pg_url, tmp_path)
    results: list[str] = []
    barrier = threading.Barrier(8)

    def claim(s):
        barrier.wait()
        results.append(s.claim_delivery("zalo_bot", "m:race"))

    threads = [threading.Thread(target=claim, args=(stores[i % 2],)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(results) == [DELIVERY_BUSY] * 7 + [DELIVERY_NEW]
    for s in stores:
        s.close()


def test_a_claim_left_by_a_dead_worker_is_retaken_but_a_live_one_is_renewed(pg_url, tmp_path):
    dead, alive = two_workers(pg_url, tmp_path, lease=0.6)
    try:
        assert dead.claim_delivery("telegram", "9") == DELIVERY_NEW
        dead.close()  # stops renewing its leases, like a killed process
        assert alive.claim_delivery("telegram", "10") == DELIVERY_NEW  # held and renewed while "answering"
        time.sleep(1.5)
        assert alive.claim_delivery("telegram", "9") == DELIVERY_NEW and alive.retaken == 1
        other = open_store(make_settings(tmp_path / "k", tmp_path / "d", database_url=pg_url))
        assert other.claim_delivery("telegram", "10") == DELIVERY_BUSY  # renewed past its first lease
        other.close()
    finally:
        alive.close()


def test_migrations_match_the_schema(pg_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from state.engine import make_engine
    from state.schema import metadata

    engine = make_engine(pg_url, pool_size=1)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    engine.dispose()
    assert diffs == []


def test_a_database_behind_the_code_is_refused_with_the_command_to_run(postgres_cluster, tmp_path):
    from state.store import SchemaBehind

    empty = postgres_cluster.url(postgres_cluster.create_database())
    with pytest.raises(SchemaBehind, match="cchc db upgrade"):
        open_store(make_settings(tmp_path / "k", tmp_path / "d", database_url=empty))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCHC_")}
    env.update(CCHC_DATABASE_URL=empty, CCHC_DATA_DIR=str(tmp_path / "d"), PYTHONIOENCODING="utf-8")

    def cchc(*args):
        return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env,
                              cwd=tmp_path, timeout=120)

    status, upgrade, again = cchc("db", "status"), cchc("db", "upgrade"), cchc("db", "status")
    assert status.returncode == 1 and "cchc db upgrade" in status.stdout
    assert upgrade.returncode == 0 and again.returncode == 0 and "sẵn sàng" in again.stdout
    assert "chưa xuất bản phiên bản nào" in again.stdout  # and says which index version the workers serve
    open_store(make_settings(tmp_path / "k", tmp_path / "d", database_url=empty)).close()


def test_a_database_that_is_down_loses_log_lines_not_answers(tmp_path):
    from pg_cluster import start_cluster

    from state.migrate import upgrade_url

    cluster = start_cluster()
    try:
        url = cluster.url(cluster.create_database())
        upgrade_url(url)
        store = open_store(make_settings(tmp_path / "k", tmp_path / "d", database_url=url))
        user = store.hash_user("telegram", 5)
        qid = store.log_question("telegram", user, "trước", "a", True, [], 1.0)
        cluster.stop()
        assert store.log_question("telegram", user, "trong lúc sập", "a", True, [], 1.0) == LOST_QUESTION_ID
        key = store.save_citations(CITATIONS)
        assert store.get_citations(key) == CITATIONS  # kept in memory: "Xem nguồn" still works
        store.save_memory("telegram", "c", {"ward": "An Hải"})  # kept in the process meanwhile
        with pytest.raises(StoreWriteFailed):
            store.record_vote(qid, "telegram", user, 1)
        with pytest.raises(StoreUnavailable):
            store.claim_delivery("telegram", "down-1")
        assert store.lost_writes == 4
        cluster.start()
        store.log_question("telegram", user, "sau", "a", True, [], 1.0)
        assert store.stats().lost_writes == 4  # recorded once the server is back, for every worker's console
        assert store.load_memory("telegram", "c")[1] == {"ward": "An Hải"}
        assert store.claim_delivery("telegram", "down-1") == DELIVERY_NEW
        store.close()
    finally:
        cluster.remove()


def test_without_postgresql_the_tests_skip_loudly_but_fail_under_ci(monkeypatch):
    import pg_cluster

    monkeypatch.setattr(pg_cluster, "pg_bindir", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="did NOT run"):
        pg_cluster.require_bindir()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y postgresql"):
        pg_cluster.require_bindir()
