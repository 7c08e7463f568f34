"""Admin pages: officer accounts (add, change role, reset password, pause) and the audit log.

Only admins see or use them. Every account change is written to the audit log, and ends the
officer's open sessions, so a new role or a paused account takes effect at once. A generated
password is shown once, in the response to the admin's own request, and stored nowhere in clear.
"""
from __future__ import annotations

from typing import Any, Callable
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console import publishing
from bot.console.audit import ACTION_NAMES, note
from bot.console.auth import AccountError, Accounts, Sessions, checked_form, generate_password
from bot.console.roles import ROLE_NAMES, ROLES, require

AUDIT_PAGE_SIZE = 50
SELF_CHANGE = "Bạn không thể tự đổi quyền hay tạm dừng tài khoản của chính mình; hãy nhờ một quản trị viên khác."


def routes(render: Callable, redirect: Callable, accounts: Accounts, sessions: Sessions) -> list[Route]:
    """The admin pages, wired to the console's renderer, accounts and sessions."""

    def page(request: Request, status: int = 200, error: str | None = None, issued: dict | None = None,
             draft: dict | None = None) -> Response:
        return render(request, "admin.html", status=status, accounts=accounts.listing(),
                      env_user=accounts.env_user if accounts.is_env(accounts.env_user or "") else None,
                      roles=ROLES, role_names=ROLE_NAMES, error=error, issued=issued,
                      draft=draft or {"name": "", "role": "editor"}, me=sessions.user(request))

    async def admin_page(request: Request) -> Response:
        require(request, "admin")
        return page(request)

    async def add(request: Request) -> Response:
        form = await checked_form(request)
        require(request, "admin")
        name, role = str(form.get("name", "")).strip(), str(form.get("role", ""))
        chosen = str(form.get("password", ""))
        password = chosen or generate_password()
        try:
            await run_in_threadpool(accounts.create, name, password, role)
        except AccountError as exc:
            return page(request, 400, error=str(exc), draft={"name": name, "role": role})
        note(request, "account.add", name, f"quyền {ROLE_NAMES[role]}")
        return page(request, issued={"name": name, "password": None if chosen else password, "new": True})

    def _target(form: Any, request: Request) -> str:
        name = str(form.get("name", "")).strip()
        if name and name == sessions.user(request):
            raise AccountError(SELF_CHANGE)
        return name

    async def change_role(request: Request) -> Response:
        form = await checked_form(request)
        require(request, "admin")
        role = str(form.get("role", ""))
        try:
            name = _target(form, request)
            before = accounts.role(name) or ""
            await run_in_threadpool(accounts.set_role, name, role)
        except AccountError as exc:
            return page(request, 400, error=str(exc))
        sessions.end_user(name)
        note(request, "account.role", name, f"{ROLE_NAMES.get(before, before)} → {ROLE_NAMES[role]}")
        return redirect("/admin", ("ok", f"Đã đổi quyền của {name} thành “{ROLE_NAMES[role]}”."), request)

    async def reset_password(request: Request) -> Response:
        form = await checked_form(request)
        require(request, "admin")
        name = str(form.get("name", "")).strip()
        chosen = str(form.get("password", ""))
        password = chosen or generate_password()
        try:
            await run_in_threadpool(accounts.set_password, name, password)
        except AccountError as exc:
            return page(request, 400, error=str(exc))
        if name != sessions.user(request):
            sessions.end_user(name)
        note(request, "account.password", name, "mật khẩu do quản trị viên đặt" if chosen else "mật khẩu tạo tự động")
        return page(request, issued={"name": name, "password": None if chosen else password, "new": False})

    async def change_state(request: Request) -> Response:
        form = await checked_form(request)
        require(request, "admin")
        disabled = form.get("disabled") == "1"
        try:
            name = _target(form, request)
            await run_in_threadpool(accounts.set_disabled, name, disabled)
        except AccountError as exc:
            return page(request, 400, error=str(exc))
        if disabled:
            sessions.end_user(name)
        note(request, "account.disable" if disabled else "account.enable", name)
        done = "Đã tạm dừng" if disabled else "Đã mở lại"
        return redirect("/admin", ("ok", f"{done} tài khoản {name}."), request)

    async def audit_page(request: Request) -> Response:
        require(request, "admin")
        log = getattr(request.app.state, "audit", None)
        action = request.query_params.get("action", "")[:60]
        try:
            page_no = max(1, int(request.query_params.get("page", "1")))
        except ValueError:
            page_no = 1
        total = await run_in_threadpool(log.count, action) if log else 0
        entries = await run_in_threadpool(log.entries, AUDIT_PAGE_SIZE, (page_no - 1) * AUDIT_PAGE_SIZE,
                                          action) if log else []
        pages = max(1, -(-total // AUDIT_PAGE_SIZE))

        def link(n: int) -> str:
            return "/admin/audit?" + urlencode([(k, v) for k, v in (("action", action), ("page", str(n))) if v])

        return render(request, "audit.html", entries=entries, total=total, page=page_no, pages=pages, link=link,
                      action=action, actions=(await run_in_threadpool(log.actions)) if log else [],
                      action_names={**ACTION_NAMES, **getattr(publishing, "ACTION_NAMES", {})})

    return [
        Route("/admin", admin_page, methods=["GET"]),
        Route("/admin/accounts/add", add, methods=["POST"]),
        Route("/admin/accounts/role", change_role, methods=["POST"]),
        Route("/admin/accounts/password", reset_password, methods=["POST"]),
        Route("/admin/accounts/state", change_state, methods=["POST"]),
        Route("/admin/audit", audit_page, methods=["GET"]),
    ]
