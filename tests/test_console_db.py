"""The officers' console on the shared PostgreSQL: what two workers recorded shows in one console.

Two stores stand for two webhook workers (each its own engine and pool, one database); the console is a third,
served by uvicorn on 127.0.0.1 and read over real HTTP after a real login. A stub assistant: no page here asks."""
from __future__ import annotations


import pytest

from bot.console.app import create_app
from bot.console.auth import Accounts
from bot.store import open_store
from bot.types import Answer
from served import serve
from conftest import make_settings
from test_console_http import EVAL_FILE, PASSWORD, USER, Client


class Stub:
    def answer(self, question: str, **_: object) -> Answer:
        return Answer(question, "Trả lời.", False, kind="not_found")


@pytest.fixture
def console_on_db(postgres_url, tmp_path):
    settings = make_settings(tmp_path / "knowledge", tmp_path / "data", database_url=postgres_url)
    store = open_store(settings)
    accounts = Accounts(env_user=USER, env_password=PASSWORD, file=tmp_path / "data" / "console" / "accounts.json")
    app = create_app(settings, Stub(), store, EVAL_FILE, accounts)
    url, stop = serve(app)
    client = Client(url)
    assert client.login().status_code == 303
    yield settings, client
    client.http.close()
    stop()
    store.close()


def test_one_console_shows_what_every_worker_recorded(console_on_db):
    settings, officer = console_on_db
    a, b = open_store(settings), open_store(settings)  # two workers
    try:
        ua, ub = a.hash_user("telegram", 1), b.hash_user("zalo_bot", 2)
        qa = a.log_question("telegram", ua, "Lệ phí đăng ký tạm trú bao nhiêu?", "Lệ phí 15.000 đồng [1]", True, [],
                            40.0, ward="Phường An Hải")
        qb = b.log_question("zalo_bot", ub, "Làm căn cước ở đâu?", "Không tìm thấy", False, [], 90.0, kind="not_found")
        b.record_vote(qa, "telegram", ua, -1)  # the 👎 on A's answer reached worker B
        a.add_feedback_note(qa, ua, "Sai lệ phí rồi, gọi tôi 0912345678")
        a.record_vote(qb, "zalo_bot", ub, -1)
        b.enqueue_handoff("zalo_bot", ub, "người dân muốn gặp cán bộ", None, [{"who": "dân", "text": "gặp cán bộ"}])
    finally:
        a.close()
        b.close()

    feedback = officer.get("/feedback")
    assert feedback.status_code == 200
    assert "Lệ phí đăng ký tạm trú bao nhiêu?" in feedback.text and "Làm căn cước ở đâu?" in feedback.text
    log = officer.get("/questions")
    assert log.status_code == 200 and log.text.count('<tr id="q-') == 2
    missed = officer.get("/questions?nf=1")
    assert missed.text.count('<tr id="q-') == 1 and "Làm căn cước ở đâu?" in missed.text
    one = officer.get(f"/questions/{qa}").text
    assert "Phường An Hải" in one and "Sai lệ phí rồi, gọi tôi [SĐT]" in one and "0912345678" not in one
    overview = officer.get("/overview")
    assert overview.status_code == 200 and "Làm căn cước ở đâu?" in overview.text
    assert "người dân muốn gặp cán bộ" in officer.get("/handoffs").text
