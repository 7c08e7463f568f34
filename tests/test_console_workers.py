"""Two console processes on one shared PostgreSQL (`cchc console` as N workers behind one proxy).

Each console is its own app (create_app) with its own data folder, its own engine and its own in-process objects,
served by uvicorn on 127.0.0.1 and used over real HTTP; the only thing they share is the throwaway database. A
session cookie from one works on the other, logout and account changes end sessions on both, an account added on
one logs in on the other, wrong passwords spread over both lock on both, and one audit log lists both.
"""
from __future__ import annotations

import base64
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from bot.console import auth
from bot.console.app import create_app
from bot.console.auth import Accounts
from bot.types import Answer
from conftest import make_settings
from served import serve
from state.console import ConsoleTables
from state.engine import make_engine
from test_console_http import EVAL_FILE, Client

ADMIN = ("quan.tri", "quan-tri-mat-khau")
OFFICER = ("nguyen.thi.c", "mat-khau-cua-chi-c")


class Canned:
    def answer(self, question: str, **_: object) -> Answer:
        return Answer(question, "Gọi Tổng đài 1800.1096.", True, body="Gọi Tổng đài 1800.1096.")


@dataclass
class Worker:
    url: str
    accounts: Accounts
    app: object

    def client(self, who: tuple[str, str] | None = None, address: str | None = None,
               cookie: str | None = None) -> Client:
        c = Client(self.url)
        if address:
            c.http.headers["x-forwarded-for"] = address  # uvicorn trusts it from 127.0.0.1
        c.cookie = cookie
        if who:
            response = c.login(*who)
            assert response.status_code == 303, response.text[:500]
        return c


@pytest.fixture
def consoles(postgres_url, tmp_path):
    """Two consoles ("A", "B") and the engine of a third party looking at the database."""
    workers, stops, engines = [], [], []
    for name in ("a", "b"):
        settings = make_settings(tmp_path / name / "knowledge", tmp_path / name / "data", database_url=postgres_url)
        engine = make_engine(postgres_url, pool_size=2)
        engines.append(engine)
        accounts = Accounts(db=ConsoleTables(engine))  # no environment account: every officer is in the database
        app = create_app(settings, Canned(), None, EVAL_FILE, accounts)
        url, stop = serve(app)
        workers.append(Worker(url, accounts, app))
        stops.append(stop)
    workers[0].accounts.add(*ADMIN)  # what `cchc console --add-user` does, on one machine only
    yield workers
    for stop in stops:
        stop()
    for engine in engines:
        engine.dispose()


def _table(url: str, table: str) -> str:
    """Every value of a table, as one string (what someone reading the database would see)."""
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return " ".join(str(v) for row in conn.execute(sa.text(f"SELECT * FROM {table}")) for v in row)
    finally:
        engine.dispose()


def _session_id(cookie: str) -> str:
    """The server-side session id inside the (signed, not encrypted) cookie."""
    data = cookie.split(".")[0]
    return json.loads(base64.b64decode(data + "=" * (-len(data) % 4)))["sid"]


def test_a_session_from_one_console_is_live_on_the_other_and_logout_on_either_ends_it(consoles, postgres_url):
    a, b = consoles
    on_a = a.client(ADMIN)
    stored = _table(postgres_url, "console_sessions")
    assert ADMIN[0] in stored and _session_id(on_a.cookie) not in stored  # a database reader gets no live id
    on_b = b.client(cookie=on_a.cookie)  # the proxy sent the next request to the other process
    page = on_b.get("/ask")
    assert page.status_code == 200 and ADMIN[0] in page.text
    assert on_b.get("/admin").status_code == 200  # the role travels too

    copied = on_a.cookie
    assert on_b.post("/logout", {"csrf_token": on_b.token()}).status_code == 303
    assert on_a.get("/ask").status_code == 303  # ended on A as well
    assert a.client(cookie=copied).get("/ask").status_code == 303
    assert b.client(cookie=copied).get("/ask").status_code == 303


def test_an_officer_added_on_one_console_logs_in_on_the_other_and_one_audit_log_lists_both(consoles):
    a, b = consoles
    admin_a = a.client(ADMIN)
    added = admin_a.post("/admin/accounts/add", {"csrf_token": admin_a.token("/admin"), "name": OFFICER[0],
                                                 "role": "viewer", "password": OFFICER[1]})
    assert added.status_code == 200 and f"Đã tạo tài khoản {OFFICER[0]}" in added.text

    officer_b = b.client(OFFICER)
    assert "Chỉ xem" in officer_b.get("/ask").text
    officer_a = a.client(cookie=officer_b.cookie)
    assert officer_a.get("/ask").status_code == 200

    admin_b = b.client(ADMIN)  # a second admin tab, on the other process
    changed = admin_b.post("/admin/accounts/role", {"csrf_token": admin_b.token("/admin"), "name": OFFICER[0],
                                                    "role": "editor"})
    assert changed.status_code == 303
    assert officer_a.get("/ask").status_code == 303 and officer_b.get("/ask").status_code == 303
    assert "Biên tập" in a.client(OFFICER).get("/ask").text

    for admin in (admin_a, admin_b):
        log = admin.get("/admin/audit").text
        assert "Thêm tài khoản" in log and "Chỉ xem → Biên tập" in log and OFFICER[1] not in log
    assert [e.action for e in a.app.state.audit.entries()] == ["account.role", "account.add"]


def test_wrong_passwords_spread_over_both_consoles_slow_and_lock_on_both(consoles, postgres_url):
    a, b = consoles
    a.accounts.create("le.van.d", "mat-khau-cua-le-van-d", "editor")
    b.accounts.create("pham.e", "mat-khau-cua-pham-e", "editor")
    guessers = (a.client(address="192.0.2.10"), b.client(address="192.0.2.10"))
    messages = []
    for i in range(auth.LOCK_AFTER):  # alternately: each process alone sees only half
        response = guessers[i % 2].login("le.van.d", f"doan-sai-{i}")
        assert response.status_code == 401
        messages.append(response.text)
    assert all(auth.WRONG in m for m in messages[:auth.SLOW_AFTER])
    assert "đợi" in messages[auth.SLOW_AFTER] and "giây" in messages[auth.SLOW_AFTER]  # slowed, across both

    for guesser in guessers:  # the right password, during the lock, on either process
        right = guesser.login("le.van.d", "mat-khau-cua-le-van-d")
        assert right.status_code == 401 and "kể cả khi nhập đúng mật khẩu" in right.text
        minutes = int(re.search(r"thử lại sau (\d+) phút", right.text).group(1))
        assert 1 <= minutes <= 15
    for worker in (a, b):
        elsewhere = worker.client(address="192.0.2.11").login("le.van.d", "mat-khau-cua-le-van-d")
        assert elsewhere.status_code == 401 and "Tên đăng nhập này đã bị tạm khoá" in elsewhere.text
        same_machine = worker.client(address="192.0.2.10").login("pham.e", "mat-khau-cua-pham-e")
        assert same_machine.status_code == 401 and "Máy của bạn đã bị tạm khoá" in same_machine.text
    assert a.client(("pham.e", "mat-khau-cua-pham-e"), address="192.0.2.12").get("/ask").status_code == 200

    stored = _table(postgres_url, "login_attempts")
    assert stored and "le.van.d" not in stored and "192.0.2.10" not in stored  # counted under hashes only

    b.accounts.set_password("le.van.d", "mat-khau-moi-cua-le-van-d")  # an admin's reset unlocks the name
    assert a.client(address="192.0.2.13").login("le.van.d", "mat-khau-moi-cua-le-van-d").status_code == 303


@pytest.fixture
def two_engines(postgres_url):
    engines = [make_engine(postgres_url, pool_size=5) for _ in range(2)]
    yield engines
    for engine in engines:
        engine.dispose()


def test_thirty_parallel_guesses_over_two_consoles_check_only_five_passwords(two_engines):
    """Without the per-key lock in the database, guesses racing on two processes passed the count (7 of 30 were
    checked in a trial)."""
    a, b = (Accounts(db=ConsoleTables(engine)) for engine in two_engines)
    a.add("tran.thi.b", "mat-khau-cua-tran-thi-b")
    start = threading.Barrier(30)

    def guess(i: int):
        start.wait()
        return (a, b)[i % 2].check("tran.thi.b", f"sai-mat-khau-{i}", address=f"10.0.0.{i}")

    with ThreadPoolExecutor(30) as pool:
        results = list(pool.map(guess, range(30)))
    assert len([r for r in results if not r.locked]) == auth.SLOW_AFTER and not any(r.ok for r in results)
    right = b.check("tran.thi.b", "mat-khau-cua-tran-thi-b", address="10.0.1.1")
    assert not right.ok and right.locked and "tạm khoá" in right.message


def test_the_windows_in_the_database_pass_like_the_memory_ones(two_engines, monkeypatch):
    # Counting is what is tested here: a cheap password check keeps seconds-long windows exact on a busy machine.
    monkeypatch.setattr(auth, "_verify_hash", lambda stored, password: password == "mat-khau-dung-1")
    a, b = (Accounts(db=ConsoleTables(engine), slow_after=3, slow_seconds=2, lock_after=6, lock_seconds=5)
            for engine in two_engines)
    a.add("le.van.d", "mat-khau-dung-1")
    results = [(a, b)[i % 2].check("le.van.d", f"sai-{i}", address="198.51.100.1") for i in range(4)]
    assert [r.message == auth.WRONG for r in results] == [True, True, True, False]
    assert "đợi" in results[3].message and "giây" in results[3].message
    time.sleep(2.1)
    for i in range(2):  # the slow window passed: two more are checked, and the lock is reached
        assert (b, a)[i].check("le.van.d", f"sai-lan-hai-{i}", address="198.51.100.1").message == auth.WRONG
    right = b.check("le.van.d", "mat-khau-dung-1", address="198.51.100.2")
    assert not right.ok and right.locked and "thử lại sau 1 phút" in right.message
    time.sleep(5.1)
    assert a.check("le.van.d", "mat-khau-dung-1", address="198.51.100.2").ok  # for a while, not for ever
