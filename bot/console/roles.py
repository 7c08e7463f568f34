"""Who may do what in the console: viewers read, editors change knowledge and tests, admins manage officers.

Every page handler that changes something calls `require(request, "editor")` (or "admin") after
`checked_form`; templates read `role_of(request)` to hide buttons a viewer cannot use.
"""
from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request

ROLES = ("viewer", "editor", "admin")
ROLE_NAMES = {"viewer": "Chỉ xem", "editor": "Biên tập", "admin": "Quản trị"}


def role_of(request: Request) -> str:
    """The signed-in officer's role, as stored in the session at login."""
    role = request.session.get("role")
    return role if role in ROLES else "viewer"


def allowed(request: Request, needed: str) -> bool:
    return ROLES.index(role_of(request)) >= ROLES.index(needed)


def require(request: Request, needed: str) -> None:
    """Refuse (403, plain Vietnamese) when the officer's role is below `needed`."""
    if not allowed(request, needed):
        raise HTTPException(403, f"Tài khoản của bạn không có quyền này (cần quyền “{ROLE_NAMES[needed]}”). "
                                 "Hãy nhờ quản trị viên cấp quyền.")
