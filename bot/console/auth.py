"""Who may use the officers' console: accounts, password checks, sessions and CSRF tokens.

The first account comes from CCHC_CONSOLE_USER / CCHC_CONSOLE_PASSWORD (Settings); more accounts
live in `<data_dir>/console/accounts.json` as Argon2 hashes, so a copied data folder leaks no
password. Sessions are signed cookies (Starlette's SessionMiddleware, itsdangerous) naming a
server-side session, so logout really ends it; every POST must carry the session's CSRF token.

Password guessing: every attempt first takes a slot (atomically, `limits` moving window) for its
account name and for its client address, so 30 parallel guesses cannot all be checked; a name or
address out of slots is refused with a Vietnamese "locked, try again in N minutes" even when the
password is right. Argon2 runs at most HASH_CONCURRENCY at a time (each check holds 64 MiB), and
every check — the configured account, a file account, a name that does not exist — costs one
Argon2 verification, so response time does not tell which names exist.
"""
from __future__ import annotations

import functools
import hmac
import ipaddress
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.exceptions import HTTPException
from starlette.requests import Request

from index.settings import Settings

CONSOLE_DIR = "console"
ACCOUNTS_FILE = "accounts.json"
SESSION_COOKIE = "cchc_console"
SESSION_MAX_AGE = 8 * 3600  # one working day
CSRF_FIELD = "csrf_token"
MIN_PASSWORD_CHARS = 10

# Login attempts: MAX_FAILURES per account name and MAX_ADDRESS_ATTEMPTS per client address within
# FAILURE_WINDOW seconds; a successful login clears both counters.
MAX_FAILURES = 5
MAX_ADDRESS_ATTEMPTS = 20
FAILURE_WINDOW = 300.0
HASH_CONCURRENCY = 2  # Argon2 checks at once (64 MiB each): 30 concurrent logins stay at ~130 MiB
HASH_WAIT_SECONDS = 20.0

_hasher = PasswordHasher()
_hash_slots = threading.BoundedSemaphore(HASH_CONCURRENCY)
LOCKED_ACCOUNT = "Tên đăng nhập này tạm khoá vì nhập sai nhiều lần. Vui lòng thử lại sau {minutes} phút."
LOCKED_ADDRESS = ("Máy của bạn đã thử đăng nhập quá nhiều lần. Vui lòng thử lại sau {minutes} phút "
                  "hoặc liên hệ cán bộ quản trị.")
BUSY = "Máy chủ đang bận kiểm tra đăng nhập. Vui lòng thử lại sau ít phút."
WRONG = "Sai tên đăng nhập hoặc mật khẩu."


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash of a random secret: names that do not exist are checked against it."""
    return _hasher.hash(secrets.token_urlsafe(24))


def _verify_hash(stored: str, password: str) -> bool:
    """One Argon2 verification, whatever the outcome (the same work for every path)."""
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass
class LoginResult:
    ok: bool
    message: str | None = None  # Vietnamese, for the login page when refused
    locked: bool = False


class AccountError(ValueError):
    """An account cannot be created; the message says why (Vietnamese, shown to the officer)."""


def console_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / CONSOLE_DIR


def _write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def session_secret() -> str:
    """The cookie-signing key: random per process (sessions are server-side and end on restart anyway)."""
    return secrets.token_urlsafe(48)


@dataclass
class Accounts:
    """Officer accounts: the environment one and hashed ones in a file; attempts limited per name and address."""

    env_user: str | None = None
    env_password: str | None = None
    file: Path | None = None
    max_failures: int = MAX_FAILURES
    max_address_attempts: int = MAX_ADDRESS_ATTEMPTS
    window_seconds: float = FAILURE_WINDOW
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _limiter: MovingWindowRateLimiter = field(default_factory=lambda: MovingWindowRateLimiter(MemoryStorage()))
    _env_hash: str | None = None

    def __post_init__(self) -> None:
        seconds = max(1, int(self.window_seconds))
        self._per_name: RateLimitItem = parse(f"{self.max_failures}/{seconds} seconds")
        self._per_address: RateLimitItem = parse(f"{self.max_address_attempts}/{seconds} seconds")
        # Hashed once at start: checking the environment account then costs what any other check costs.
        if self.env_password:
            self._env_hash = _hasher.hash(self.env_password)

    @property
    def _dummy_hash(self) -> str:
        return _dummy_hash()

    @classmethod
    def from_settings(cls, settings: Settings) -> "Accounts":
        password = settings.console_password.get_secret_value() if settings.console_password else None
        return cls(settings.console_user or None, password or None, console_dir(settings) / ACCOUNTS_FILE)

    def _hashed(self) -> dict[str, str]:
        if self.file is None or not self.file.exists():
            return {}
        data = json.loads(self.file.read_text(encoding="utf-8") or "{}")
        return {str(k): str(v) for k, v in data.items()}

    def configured(self) -> bool:
        """True when at least one officer can log in."""
        return bool(self.env_user and self.env_password) or bool(self._hashed())

    def add(self, user: str, password: str) -> None:
        """Create or change a file account (Argon2id hash; the password itself is never written)."""
        user = user.strip()
        if not user or any(ch.isspace() for ch in user):
            raise AccountError("Tên đăng nhập không được rỗng hay chứa dấu cách.")
        if len(password) < MIN_PASSWORD_CHARS:
            raise AccountError(f"Mật khẩu cần ít nhất {MIN_PASSWORD_CHARS} ký tự.")
        if self.file is None:
            raise AccountError("Chưa có tệp tài khoản.")
        with self._lock:
            data = self._hashed()
            data[user] = _hasher.hash(password)
            _write_private(self.file, json.dumps(data, ensure_ascii=False, indent=2) + "\n")

    def _minutes_left(self, item: RateLimitItem, *ids: str) -> int:
        reset = self._limiter.get_window_stats(item, *ids).reset_time
        return max(1, int((reset - time.time()) // 60) + 1)

    def check(self, user: str, password: str, address: str = "unknown") -> LoginResult:
        """Check a login. The attempt is counted before the password is looked at (no race)."""
        if not self._limiter.hit(self._per_address, "login-address", address):
            return LoginResult(False, LOCKED_ADDRESS.format(
                minutes=self._minutes_left(self._per_address, "login-address", address)), locked=True)
        if not self._limiter.hit(self._per_name, "login-name", user):
            return LoginResult(False, LOCKED_ACCOUNT.format(
                minutes=self._minutes_left(self._per_name, "login-name", user)), locked=True)
        if self.env_user and self._env_hash and hmac.compare_digest(user.encode(), self.env_user.encode()):
            stored = self._env_hash
        else:
            stored = self._hashed().get(user) or self._dummy_hash  # unknown name: same Argon2 work
        if not _hash_slots.acquire(timeout=HASH_WAIT_SECONDS):
            return LoginResult(False, BUSY)
        try:
            ok = _verify_hash(stored, password) and stored is not self._dummy_hash
        finally:
            _hash_slots.release()
        if not ok:
            return LoginResult(False, WRONG)
        self._limiter.clear(self._per_name, "login-name", user)
        self._limiter.clear(self._per_address, "login-address", address)
        return LoginResult(True)

    def verify(self, user: str, password: str, address: str = "unknown") -> bool:
        """True when the login is accepted (see `check` for the reason of a refusal)."""
        return self.check(user, password, address).ok


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and 'localhost' only; a name that could resolve elsewhere is not loopback."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, accounts: Accounts) -> None:
    """Refuse to serve beyond this machine while nobody can log in (the console would be useless or open)."""
    if not is_loopback(host) and not accounts.configured():
        raise AccountError(
            f"Không mở bảng điều khiển trên địa chỉ {host} khi chưa có tài khoản cán bộ. "
            "Hãy đặt CCHC_CONSOLE_USER và CCHC_CONSOLE_PASSWORD, hoặc chạy: cchc console --add-user TÊN"
        )


# -- sessions and CSRF ---------------------------------------------------------------------
def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use; every form embeds it."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def checked_form(request: Request):
    """The POSTed form, after checking its CSRF token against the session's (403 on mismatch)."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = request.session.get("csrf")
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(status_code=403, detail="Phiên làm việc không hợp lệ (CSRF). Hãy tải lại trang.")
    return form


class Sessions:
    """Live logins, server side: logging out ends a session even if its cookie was copied.

    The cookie only carries a random session id next to the user name; a restart ends every session.
    """

    def __init__(self, max_age: float = SESSION_MAX_AGE) -> None:
        self.max_age = max_age
        self._live: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def start(self, request: Request, user: str, role: str = "admin") -> None:
        """A fresh session (new id, new CSRF token): a token seen before login is useless after it."""
        sid = secrets.token_urlsafe(32)
        with self._lock:
            now = time.monotonic()
            self._live = {k: v for k, v in self._live.items() if v[1] > now}
            self._live[sid] = (user, now + self.max_age)
        request.session.clear()
        request.session.update(user=user, sid=sid, role=role, csrf=secrets.token_urlsafe(32))

    def user(self, request: Request) -> str | None:
        sid, user = request.session.get("sid"), request.session.get("user")
        if not sid or not user:
            return None
        with self._lock:
            live = self._live.get(sid)
        if live is None or live[0] != user or live[1] < time.monotonic():
            return None
        return user

    def end(self, request: Request) -> None:
        sid = request.session.get("sid")
        if sid:
            with self._lock:
                self._live.pop(sid, None)
        request.session.clear()
