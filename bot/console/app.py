"""The officers' console: check answers before citizens see them, keep the test set, review feedback.

Server-rendered pages (Starlette + Jinja2 with autoescape), one small CSS file and a few lines of
JavaScript. The console takes any object with `.answer(question) -> Answer`, the feedback `Store`
and the eval YAML path, so tests and `cchc console` wire the same app.
"""
from __future__ import annotations

import logging
from http import HTTPStatus
import secrets
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.channels import CHANNELS
from bot.console import (
    admin, dashboard, documents, feedback, handoffs, lexicon, plain, publishing, questions, testset, uploads,
    wards,
)
from bot.console.audit import AUDIT_FILE, AuditLog
from bot.console.auth import (
    CSRF_FIELD, SESSION_COOKIE, SESSION_MAX_AGE, Accounts, Sessions, checked_form, console_dir, csrf_token,
    is_loopback, session_secret,
)
from bot.console.candidate import PublishRun
from bot.console.jobs import EvalRun
from bot.console.roles import ROLE_NAMES, allowed, role_of
from bot.types import Answer
from index.chunk import display_date
from index.settings import PROJECT_ROOT, Settings
from state.console import ConsoleTables

HERE = Path(__file__).resolve().parent
log = logging.getLogger(__name__)
DEFAULT_EVAL_FILE = PROJECT_ROOT / "tests" / "eval" / "dev" / "questions.yaml"
VN = timezone(timedelta(hours=7))
PUBLIC_PATHS = ("/login", "/static/", "/healthz")
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]
CHANNEL_NAMES = {"zalo": "Zalo Bot", "zalo-oa": "Zalo OA", "cli": "Dòng lệnh", "web": "Web",
                 **{key: c.label for key, c in CHANNELS.items()}}  # bot/channels.py names each channel once
KIND_NAMES = {"answer": "trả lời", "not_found": "không tìm thấy", "smalltalk": "chào hỏi / trợ giúp",
              "invalid": "câu hỏi không hợp lệ"}


# -- helpers -------------------------------------------------------------------------------
def vn_time(value: str | float | None) -> str:
    """UTC ISO time or epoch → '23/11/2026 14:05' in Vietnam time."""
    if value in (None, ""):
        return "-"
    try:
        dt = (datetime.fromtimestamp(value, tz=timezone.utc) if isinstance(value, (int, float))
              else datetime.fromisoformat(str(value)))
    except ValueError:
        return str(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(VN).strftime("%d/%m/%Y %H:%M")


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}".replace(".", ",") + "%"


def number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}".replace(".", ",")


def _safe_next(target: str | None) -> str:
    """Only local paths after login: never an absolute URL an attacker supplied."""
    if not target or not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        return "/ask"
    return target


class Guard:
    """Every page but the login needs a live session; every response gets security headers."""

    def __init__(self, app: ASGIApp, sessions: Sessions) -> None:
        self.app = app
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path = scope["path"]
        if not path.startswith(PUBLIC_PATHS) and self.sessions.user(request) is None:
            target = path + (f"?{scope['query_string'].decode()}" if scope.get("query_string") else "")
            nxt = target if request.method == "GET" else "/ask"
            response = RedirectResponse(f"/login?next={quote(nxt)}", status_code=303)
            await self._with_headers(response)(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    def _with_headers(response: Response) -> Response:
        for k, v in SECURITY_HEADERS:
            response.headers[k.decode()] = v.decode()
        return response


# -- the app -------------------------------------------------------------------------------
def create_app(settings: Settings, assistant: Any, store: Any | None = None, eval_path: Path | None = None,
               accounts: Accounts | None = None, *, secure_cookies: bool = True,
               allowed_hosts: list[str] | None = None) -> Starlette:
    """The console as an ASGI app. `assistant` needs only `.answer(question) -> Answer`."""
    eval_path = Path(eval_path or DEFAULT_EVAL_FILE)
    accounts = accounts or Accounts.from_settings(settings)
    # CCHC_DATABASE_URL: sessions, audit log and cookie key in the shared database, so N processes serve as one.
    db = accounts.db or ConsoleTables.for_settings(settings)
    sessions = db.sessions() if db is not None else Sessions()
    folder = console_dir(settings)
    runner = EvalRun()
    audit = db.audit() if db is not None else AuditLog(folder / AUDIT_FILE)
    publisher = PublishRun(folder)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters.update(vn_time=vn_time, percent=percent, number=number, display_date=display_date)
    env.globals.update(allowed=allowed, role_of=role_of, role_names=ROLE_NAMES, login_policy={
        "slow_after": accounts.slow_after, "slow_seconds": int(accounts.slow_seconds),
        "lock_after": accounts.lock_after, "lock_minutes": max(1, round(accounts.lock_seconds / 60))})
    env.globals.update(CSRF_FIELD=CSRF_FIELD, channel_names=CHANNEL_NAMES, kind_names=KIND_NAMES,
                       category_name=plain.category_name, category_help=plain.category_help,
                       metric_name=plain.metric_name, metric_help=plain.metric_help)
    env.tests["url"] = plain.is_url

    def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        user = sessions.user(request)
        flash = request.session.pop("flash", None) if user else None
        html = env.get_template(name).render(
            request=request, user=user, csrf=csrf_token(request), flash=flash, path=request.url.path,
            can_edit=bool(user) and allowed(request, "editor"), is_admin=bool(user) and allowed(request, "admin"),
            **context)
        return HTMLResponse(html, status_code=status)

    def redirect(url: str, flash: tuple[str, str] | None = None, request: Request | None = None) -> Response:
        if flash and request is not None:
            request.session["flash"] = list(flash)
        return RedirectResponse(url, status_code=303)

    def threshold(answer=None) -> float:
        decision = getattr(answer, "decision", None)
        if decision is not None and getattr(decision, "threshold", None):
            return decision.threshold
        policy = getattr(assistant, "policy", None) or getattr(getattr(assistant, "assistant", None), "policy", None)
        return getattr(policy, "found_threshold", 0.575)

    # -- login -----------------------------------------------------------------------------
    async def login_page(request: Request) -> Response:
        if sessions.user(request):
            return redirect(_safe_next(request.query_params.get("next")))
        insecure = (request.url.scheme != "https" and secure_cookies
                    and not is_loopback(request.url.hostname or ""))
        return render(request, "login.html", next=_safe_next(request.query_params.get("next")),
                      error=None, insecure=insecure, configured=accounts.configured())

    async def login(request: Request) -> Response:
        form = await checked_form(request)
        user, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
        nxt = _safe_next(str(form.get("next", "")))
        address = request.client.host if request.client else "unknown"
        result = (await run_in_threadpool(accounts.check, user, password, address) if user and password
                  else None)
        if result is None or not result.ok:
            error = result.message if result is not None and result.message else "Sai tên đăng nhập hoặc mật khẩu."
            return render(request, "login.html", status=401, next=nxt, insecure=False,
                          configured=accounts.configured(), error=error)
        sessions.start(request, user, result.role or "viewer")
        return redirect(nxt)

    async def logout(request: Request) -> Response:
        await checked_form(request)
        sessions.end(request)
        return redirect("/login")

    # -- ask -------------------------------------------------------------------------------
    async def ask_page(request: Request) -> Response:
        return render(request, "ask.html", question="", answer=None, evidence=None, error=None)

    async def ask(request: Request) -> Response:
        form = await checked_form(request)
        question = str(form.get("question", ""))
        error = answer = evidence = None
        try:
            answer = await run_in_threadpool(assistant.answer, question)
        except Exception as exc:  # show the officer what the citizen would have hit
            error = f"Trợ lý không trả lời được: {exc}"
        if answer is not None:
            evidence = evidence_of(answer)
        return render(request, "ask.html", question=question, answer=answer, evidence=evidence, error=error)

    def evidence_of(answer: Answer) -> dict:
        """What the "why" view shows: the passages found, which were cited, the coverage and threshold."""
        cited = {c.text for c in answer.citations}
        hits = [
            {"rank": i + 1, "title": h.chunk.title, "section": h.chunk.section, "doc_id": h.chunk.doc_id,
             "keyword_rank": h.keyword_rank, "dense_rank": h.dense_rank, "score": h.score,
             "keyword_score": h.keyword_score, "dense_score": h.dense_score,
             "cited": h.chunk.passage in cited, "passage": h.chunk.passage}
            for i, h in enumerate(answer.debug.get("hits", []) or [])
        ]
        return {"hits": hits, "coverage": answer.debug.get("coverage"), "threshold": threshold(answer),
                "understood": answer.debug.get("understood"),
                "searched": "hits" in answer.debug,
                "dense_weight": getattr(getattr(assistant, "searcher", None), "dense_weight",
                                        settings.dense_weight)}

    async def home(request: Request) -> Response:
        return redirect("/ask")

    async def healthz(request: Request) -> Response:
        return Response("ok", media_type="text/plain")

    async def http_error(request: Request, exc: HTTPException) -> Response:
        messages = {403: "Phiên làm việc không hợp lệ hoặc đã hết hạn. Hãy tải lại trang rồi thử lại.",
                    404: "Không có trang này.", 405: "Thao tác không được phép."}
        custom = exc.detail and exc.detail != HTTPStatus(exc.status_code).phrase  # e.g. require(): which role
        message = str(exc.detail) if custom else messages.get(exc.status_code, str(exc.detail))
        return render(request, "error.html", status=exc.status_code, code=exc.status_code, message=message)

    async def server_error(request: Request, exc: Exception) -> Response:
        return HTMLResponse(
            '<!doctype html><html lang="vi"><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
            '<title>Lỗi · Trợ lý CCHC</title><link rel="stylesheet" href="/static/console.css">'
            '<main><section class="card narrow"><h1>Lỗi 500</h1><p>Đã có lỗi trong bảng điều khiển. Hãy thử lại; '
            'nếu vẫn lỗi, báo cho bộ phận kỹ thuật.</p><p><a href="/ask">Về trang Hỏi thử</a></p></section></main>',
            status_code=500)

    routes = [
        Route("/", home),
        Route("/healthz", healthz),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/ask", ask_page, methods=["GET"]),
        Route("/ask", ask, methods=["POST"]),
        *testset.routes(render, redirect, assistant, eval_path, folder, runner),
        *feedback.routes(render, redirect, store, eval_path),
        *documents.routes(render, redirect, settings, eval_path, lambda: publisher.running),
        *uploads.routes(render, redirect, settings),
        *publishing.routes(render, redirect, settings, assistant, eval_path, publisher, audit),
        *questions.routes(render, redirect, store, assistant, eval_path, evidence_of),
        *dashboard.routes(render, store, CHANNEL_NAMES),
        *handoffs.routes(render, redirect, store),
        *wards.routes(render, redirect, settings),
        *admin.routes(render, redirect, accounts, sessions),
        *lexicon.routes(render, redirect, settings),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = []
    if allowed_hosts:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts))
    middleware += [
        Middleware(SessionMiddleware, secret_key=db.cookie_secret() if db is not None else session_secret(),
                   session_cookie=SESSION_COOKIE,
                   max_age=SESSION_MAX_AGE, same_site="strict", https_only=secure_cookies),
        Middleware(Guard, sessions=sessions),
    ]
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={HTTPException: http_error, 500: server_error})
    app.state.runner = runner
    app.state.publisher = publisher
    app.state.eval_path = eval_path
    app.state.accounts = accounts
    app.state.sessions = sessions
    app.state.audit = audit
    return app


# -- `cchc console` ------------------------------------------------------------------------
def main(host: str, port: int, eval_file: str | None = None, add_user: str | None = None) -> int:
    """Start the console (or add an account). Returns a process exit status."""
    import getpass
    import sys

    from bot.console.auth import AccountError, check_bind
    from index.settings import get_settings

    settings = get_settings()
    accounts = Accounts.from_settings(settings)
    if add_user:
        password = getpass.getpass(f"Mật khẩu cho {add_user}: ")
        if getpass.getpass("Nhập lại mật khẩu: ") != password:
            print("Hai lần nhập không khớp.", file=sys.stderr)
            return 1
        try:
            accounts.add(add_user, password)
        except AccountError as exc:
            print(exc, file=sys.stderr)
            return 1
        print(f"Đã lưu tài khoản {add_user} (mật khẩu đã băm) vào {accounts.where}.")
        return 0
    try:
        check_bind(host, accounts)
    except AccountError as exc:
        print(exc, file=sys.stderr)
        return 2
    if not accounts.configured():
        # Loopback only (checked above): a one-time password for this run, shown here and stored nowhere.
        accounts.env_user, accounts.env_password = "canbo", secrets.token_urlsafe(12)
        print("Chưa cấu hình tài khoản (CCHC_CONSOLE_USER/CCHC_CONSOLE_PASSWORD). Tài khoản tạm cho lần chạy này:\n"
              f"  tên: {accounts.env_user}   mật khẩu: {accounts.env_password}", flush=True)

    import uvicorn

    from bot.live import LiveAssistant
    from bot.store import open_store

    print("Đang nạp mô hình và chỉ mục…", flush=True)
    # Live: after `cchc index build` the console answers from the new index, as the channels do.
    assistant = LiveAssistant(settings, build_if_missing=True, show_progress=True)
    app = create_app(settings, assistant, open_store(settings), Path(eval_file) if eval_file else None, accounts,
                     allowed_hosts=["127.0.0.1", "localhost"] if is_loopback(host) and host != "::1" else None)
    shown = f"[{host}]" if ":" in host else host
    print(f"Bảng điều khiển cán bộ: http://{shown}:{port}/  (Ctrl+C để dừng)", flush=True)
    if not is_loopback(host):
        print("Lưu ý: cookie phiên chỉ gửi qua HTTPS — hãy đặt bảng điều khiển sau một proxy HTTPS.", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=True)
    return 0
