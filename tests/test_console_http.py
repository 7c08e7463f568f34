"""Officers' console over real HTTP on 127.0.0.1: login, sessions, CSRF, escaping, the eval file kept intact.

The console runs in uvicorn in a thread, wired to the real assistant over the session's real index,
a real SQLite feedback store and a copy of the real eval file. Cookies are handled by hand because
the session cookie is `Secure` and httpx (rightly) will not send it over plain http; a browser
treats 127.0.0.1 as a secure context and does (see test_console_browser.py).
"""
from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from bot.console.app import create_app
from bot.console.auth import SESSION_COOKIE, AccountError, Accounts, check_bind
from bot.evaluate import load_items
from bot.store_sqlite import SqliteStore
from index.settings import Settings

REPO = Path(__file__).resolve().parents[1]
EVAL_FILE = REPO / "tests" / "eval" / "dev" / "questions.yaml"
USER, PASSWORD = "canbo.test", "mat-khau-rat-dai-123"
PAGES = {"/ask": "Hỏi thử", "/tests": "Bộ câu hỏi kiểm thử", "/feedback": "Góp ý", "/overview": "Tổng quan",
         "/knowledge": "<h1>Tri thức</h1>"}
HOTLINE_QUESTION = "Số tổng đài hỗ trợ dịch vụ công là gì?"


@dataclass
class Console:
    url: str
    settings: Settings
    store: SqliteStore
    eval_path: Path
    accounts: Accounts
    stop: object
    app: object = None  # the Starlette app, for tests that walk its routes


def start_console(root: Path, assistant, index_settings: Settings, eval_source: Path | str) -> Console:
    """A console on a free 127.0.0.1 port, with its own data dir holding a copy of the session index."""
    data = root / "data"
    shutil.copytree(index_settings.data_dir, data, ignore=shutil.ignore_patterns("cache", "console", "store*"))
    settings = Settings(_env_file=None, knowledge_dir=index_settings.knowledge_dir, data_dir=data,
                        embedding_model=index_settings.embedding_model)
    eval_path = root / "questions.yaml"
    if isinstance(eval_source, Path):
        shutil.copy(eval_source, eval_path)
    else:
        eval_path.write_text(eval_source, encoding="utf-8")
    store = SqliteStore.for_settings(settings)
    accounts = Accounts(env_user=USER, env_password=PASSWORD, file=data / "console" / "accounts.json")
    app = create_app(settings, assistant, store, eval_path, accounts)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("console server did not start")
        time.sleep(0.05)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        store.close()

    return Console(f"http://127.0.0.1:{port}", settings, store, eval_path, accounts, stop, app)


class Client:
    """httpx without redirects, carrying the console's session cookie by hand (see module docstring)."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, follow_redirects=False, timeout=120)
        self.cookie: str | None = None
        self.set_cookie_headers: list[str] = []

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if self.cookie:
            headers["cookie"] = f"{SESSION_COOKIE}={self.cookie}"
        response = self.http.request(method, path, headers=headers, **kwargs)
        self.http.cookies.clear()
        for header in response.headers.get_list("set-cookie"):
            self.set_cookie_headers.append(header)
            name, _, rest = header.partition("=")
            if name == SESSION_COOKIE:
                value = rest.split(";", 1)[0]
                self.cookie = None if value in ("", "null") or "1970" in rest else value
        return response

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: dict | None = None, **kwargs) -> httpx.Response:
        return self.request("POST", path, data=data or {}, **kwargs)

    def token(self, path: str = "/ask") -> str:
        """The CSRF token embedded in the forms of a page."""
        page = self.get(path)
        assert page.status_code == 200, page.text[:300]
        match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert match, "page has no CSRF field"
        return match.group(1)

    def login(self, user: str = USER, password: str = PASSWORD, next_path: str = "/ask") -> httpx.Response:
        return self.post("/login", {"csrf_token": self.token("/login"), "username": user, "password": password,
                                    "next": next_path})


@pytest.fixture(scope="module")
def console(tmp_path_factory, assistant, index_settings, built_index):
    c = start_console(tmp_path_factory.mktemp("console-http"), assistant, index_settings, EVAL_FILE)
    yield c
    c.stop()


@pytest.fixture
def client(console):
    c = Client(console.url)
    yield c
    c.http.close()


@pytest.fixture
def officer(client):
    response = client.login()
    assert response.status_code == 303 and response.headers["location"] == "/ask"
    return client


# ---------------------------------------------------------------------------------- login
@pytest.mark.parametrize("path", ["/", *PAGES])
def test_without_session_every_page_redirects_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
    assert "Hỏi thử" not in response.text


def test_login_gives_a_secure_session_cookie_and_every_page_renders(officer):
    cookie = next(h for h in officer.set_cookie_headers if h.startswith(SESSION_COOKIE) and "1970" not in h).lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie
    for path, heading in PAGES.items():
        page = officer.get(path)
        assert page.status_code == 200, path
        assert heading in page.text
        assert "Đăng xuất" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]


def test_wrong_password_is_refused(client):
    response = client.login(password="not-the-password")
    assert response.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in response.text
    assert client.get("/ask").status_code == 303


def test_after_login_only_local_pages_are_followed(client):
    assert client.login(next_path="https://evil.example/steal").headers["location"] == "/ask"
    other = Client(client.http.base_url)
    assert other.login(next_path="//evil.example").headers["location"] == "/ask"
    third = Client(client.http.base_url)
    assert third.login(next_path="/tests?category=hotline").headers["location"] == "/tests?category=hotline"


def test_logout_ends_the_session_even_for_a_copied_cookie(officer, console):
    copied = officer.cookie
    response = officer.post("/logout", {"csrf_token": officer.token()})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    thief = Client(console.url)
    thief.cookie = copied
    assert thief.get("/ask").status_code == 303


def test_file_accounts_are_hashed_and_can_log_in(console, client):
    console.accounts.add("nguyen.van.a", "mot-mat-khau-dai-khac")
    stored = console.accounts.file.read_text(encoding="utf-8")
    assert "mot-mat-khau-dai-khac" not in stored and "$argon2id$" in stored
    assert client.login("nguyen.van.a", "mot-mat-khau-dai-khac").status_code == 303
    assert client.get("/tests").status_code == 200
    with pytest.raises(AccountError):
        console.accounts.add("ngan", "ngan")  # too short a password is refused


def test_console_refuses_a_public_address_without_accounts(run_cli, tmp_path):
    result = run_cli("console", "--host", "0.0.0.0", "--port", "8099", data_dir=tmp_path, timeout=120)
    assert result.returncode == 2
    assert "CCHC_CONSOLE_USER" in result.stderr
    with pytest.raises(AccountError):
        check_bind("192.168.1.10", Accounts(file=tmp_path / "none.json"))
    check_bind("0.0.0.0", Accounts(env_user="a", env_password="b" * 12))  # configured: allowed
    check_bind("127.0.0.1", Accounts(file=tmp_path / "none.json"))  # loopback: allowed


# ----------------------------------------------------------------------------------- CSRF
def _post_routes(console) -> dict[str, dict]:
    fid = console.store.record_vote(
        console.store.log_question("telegram", "u-csrf", "câu hỏi thử csrf", "trả lời", True, [], 100.0),
        "telegram", "u-csrf", -1)
    return {
        "/ask": {"question": HOTLINE_QUESTION},
        "/tests/save": {"id": "", "question": "câu hỏi chèn qua csrf", "facts": "x", "category": "csrf"},
        "/tests/delete": {"id": "q001"},
        "/tests/run": {},
        f"/feedback/{fid}/reviewed": {},
        f"/feedback/{fid}/to-test": {"question": "câu hỏi chèn qua csrf", "facts": "x"},
        "/logout": {},
    }


def test_every_form_without_the_right_csrf_token_gets_403(officer, console):
    before = console.eval_path.read_bytes()
    routes = _post_routes(console)
    real = officer.token()
    for path, data in routes.items():
        missing = officer.post(path, data)
        wrong = officer.post(path, {**data, "csrf_token": real[:-2] + "xx"})
        assert missing.status_code == 403, path
        assert wrong.status_code == 403, path
        assert "Phiên làm việc không hợp lệ" in wrong.text
    assert console.eval_path.read_bytes() == before  # nothing was added, deleted or run
    assert [f.question for f in console.store.list_feedback(reviewed=False)].count("câu hỏi thử csrf") == 1
    assert officer.get("/ask").status_code == 200  # still logged in: /logout was refused too


def test_login_form_itself_needs_the_csrf_token(client):
    client.get("/login")
    response = client.post("/login", {"username": USER, "password": PASSWORD, "next": "/ask"})
    assert response.status_code == 403
    assert client.get("/ask").status_code == 303


# ------------------------------------------------------------------------------- escaping
def test_html_in_a_question_is_shown_as_text(officer, console):
    question = '<script>alert("xss")</script><img src=x onerror=alert(1)> Số tổng đài hỗ trợ dịch vụ công là gì?'
    page = officer.post("/ask", {"csrf_token": officer.token(), "question": question})
    assert page.status_code == 200
    assert "&lt;script&gt;alert(" in page.text
    assert "<script>alert(" not in page.text and "<img src=x" not in page.text

    # The same question arriving from a citizen, then shown on the feedback page and in the test set.
    qid = console.store.log_question("zalo", "u-xss", question, "<b>trả lời</b>", False, [], 120.0, kind="not_found")
    console.store.record_vote(qid, "zalo", "u-xss", -1)
    feedback = officer.get("/feedback").text
    assert "&lt;script&gt;alert(" in feedback and "&lt;b&gt;trả lời&lt;/b&gt;" in feedback
    assert "<script>alert(" not in feedback

    saved = officer.post("/tests/save", {"csrf_token": officer.token(), "id": "", "question": question,
                                         "facts": "<i>1800.1096</i>", "category": "escaping"})
    assert saved.status_code == 303
    tests_page = officer.get("/tests?category=escaping").text
    assert "&lt;script&gt;alert(" in tests_page and "&lt;i&gt;1800.1096&lt;/i&gt;" in tests_page
    assert "<script>alert(" not in tests_page and "<i>1800.1096</i>" not in tests_page


def test_ask_shows_citations_and_the_retrieval_evidence(officer):
    page = officer.post("/ask", {"csrf_token": officer.token(), "question": HOTLINE_QUESTION}).text
    assert "1800.1096" in page
    assert re.search(r'<ol class="citations">\s*<li id="c1">', page)
    assert "Hạng từ khoá" in page and "Hạng vector" in page and "Điểm kết hợp" in page
    assert re.search(r"độ phủ câu hỏi\s*<strong>[\d,]+</strong> · ngưỡng", page)
    assert "Chi tiết kỹ thuật" in page and "Đoạn văn tìm được khớp" in page


# ------------------------------------------------------------------------- the eval file
def _entry_lines(text: str, item_id: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(f"- id: {item_id}")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("- id:")), len(lines))
    return lines[start:end]


def test_editing_the_test_set_rewrites_only_the_entry_changed(officer, console):
    before = console.eval_path.read_text(encoding="utf-8")
    response = officer.post("/tests/save", {
        "csrf_token": officer.token("/tests"), "id": "q002", "category": "plan_fact",
        "question": "ở an hải 6 tháng cuối năm 2025 phòng nào chủ trì kế hoạch tuyên truyền cải cách hành chính",
        "facts": "Phòng Văn hóa - Xã hội\nchủ trì", "docs": "kh-tuyen-truyen-cchc-an-hai-2025",
    })
    assert response.status_code == 303
    after = console.eval_path.read_text(encoding="utf-8")
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert changed == [('  expected_facts: ["Phòng Văn hóa - Xã hội"]',
                        '  expected_facts: ["Phòng Văn hóa - Xã hội", "chủ trì"]')]
    assert "# ---------------------------------------------------------------- hotline" in after
    item = next(i for i in load_items(console.eval_path) if i.id == "q002")  # what `cchc eval` reads
    assert item.expected_facts == ["Phòng Văn hóa - Xã hội", "chủ trì"]

    removed = _entry_lines(after, "q003")
    assert officer.post("/tests/delete", {"csrf_token": officer.token("/tests"), "id": "q003"}).status_code == 303
    after_delete = console.eval_path.read_text(encoding="utf-8")
    assert "- id: q003" not in after_delete
    assert len(after.splitlines()) - len(after_delete.splitlines()) == len(removed)

    added = officer.post("/tests/save", {"csrf_token": officer.token("/tests"), "id": "", "category": "hotline",
                                         "question": "tổng đài 1022 là gì", "facts": "1022", "not_found": ""})
    new_id = added.headers["location"].split("#")[1]
    items = load_items(console.eval_path)
    assert items[-1].id == new_id and items[-1].question == "tổng đài 1022 là gì" and items[-1].expect_found
    assert f"Đã thêm câu hỏi {new_id}" in officer.get("/tests").text


def test_an_empty_question_is_refused_with_a_message(officer, console):
    before = console.eval_path.read_bytes()
    page = officer.post("/tests/save", {"csrf_token": officer.token("/tests"), "id": "", "question": "   ",
                                        "facts": "", "category": ""})
    assert page.status_code == 400 and "Câu hỏi không được để trống" in page.text
    assert console.eval_path.read_bytes() == before


def test_marking_feedback_reviewed_takes_it_off_the_list(officer, console):
    qid = console.store.log_question("telegram", "u-rev", "hỏi về lệ phí trước bạ", "Xin lỗi…", False, [], 90.0,
                                     kind="not_found")
    fid = console.store.record_vote(qid, "telegram", "u-rev", -1)
    assert "hỏi về lệ phí trước bạ" in officer.get("/feedback").text
    response = officer.post(f"/feedback/{fid}/reviewed", {"csrf_token": officer.token("/feedback")})
    assert response.status_code == 303
    assert "hỏi về lệ phí trước bạ" not in officer.get("/feedback").text
    assert "hỏi về lệ phí trước bạ" in officer.get("/feedback?all=1").text
