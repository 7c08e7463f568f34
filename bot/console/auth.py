"""Who may use the officers' console: accounts, password checks, sessions and CSRF tokens.

The first account comes from CCHC_CONSOLE_USER / CCHC_CONSOLE_PASSWORD (Settings) and is an admin;
more accounts (each with a role: viewer, editor, admin) live behind `account_store.AccountStore`:
`<data_dir>/console/accounts.json` on one machine, the shared database's `console_accounts` table when
CCHC_DATABASE_URL is set (state/console.py), with Argon2 hashes either way, so a copied data folder
leaks no password. Sessions are signed cookies (Starlette's SessionMiddleware, itsdangerous) naming a
server-side session, so logout really ends it; every POST must carry the session's CSRF token.

Password guessing, counted per account name AND per client address in moving windows (attempts.py:
the `limits` library in memory, or a table of the shared database so N console processes count
together): every attempt first takes a slot, atomically, so 30 parallel guesses cannot all
be checked. After SLOW_AFTER attempts within SLOW_SECONDS further attempts are slowed (refused with
"wait N seconds"); after LOCK_AFTER attempts within LOCK_SECONDS the name or address is locked until
they age out, and even the right password is refused with a Vietnamese message saying for how long.
A successful login clears both counters; an admin resetting a password clears the name's. Argon2
runs at most HASH_CONCURRENCY at a time (each check holds 64 MiB), and every check — the configured
account, a file account, a name that does not exist — costs one Argon2 verification, so response
time does not tell which names exist.
"""
from __future__ import annotations

import functools
import hmac
import ipaddress
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.exceptions import HTTPException
from starlette.requests import Request

from bot.console.account_store import Account, AccountStore, JsonAccountStore
from bot.console.attempts import Attempts, MemoryAttempts, Refusal, Windows
from bot.console.roles import ROLE_NAMES, ROLES
from index.settings import Settings

CONSOLE_DIR = "console"
ACCOUNTS_FILE = "accounts.json"
SESSION_COOKIE = "cchc_console"
SESSION_MAX_AGE = 8 * 3600  # one working day
CSRF_FIELD = "csrf_token"
MIN_PASSWORD_CHARS = 10
MAX_NAME_CHARS = 64

# Login attempts, per account name and per client address alike.
SLOW_AFTER = 5  # attempts within SLOW_SECONDS before each further one must wait
SLOW_SECONDS = 60.0
LOCK_AFTER = 20  # attempts within LOCK_SECONDS before the name or address is locked
LOCK_SECONDS = 900.0
HASH_CONCURRENCY = 2  # Argon2 checks at once (64 MiB each): 30 concurrent logins stay at ~130 MiB
HASH_WAIT_SECONDS = 20.0

_hasher = PasswordHasher()
_hash_slots = threading.BoundedSemaphore(HASH_CONCURRENCY)
NAME_SCOPE, ADDRESS_SCOPE = "login-name", "login-address"
LOCKED = {
    NAME_SCOPE: ("Tên đăng nhập này đã bị tạm khoá vì nhập sai mật khẩu quá {limit} lần. Vui lòng thử lại sau "
                 "{minutes} phút (kể cả khi nhập đúng mật khẩu), hoặc nhờ quản trị viên đặt lại mật khẩu."),
    ADDRESS_SCOPE: ("Máy của bạn đã bị tạm khoá đăng nhập vì thử sai quá {limit} lần. Vui lòng thử lại sau "
                    "{minutes} phút (kể cả khi nhập đúng mật khẩu), hoặc liên hệ quản trị viên."),
}
SLOWED = "Bạn đã nhập sai nhiều lần liên tiếp. Vui lòng đợi {seconds} giây rồi thử lại."
BUSY = "Máy chủ đang bận kiểm tra đăng nhập. Vui lòng thử lại sau ít phút."
WRONG = "Sai tên đăng nhập hoặc mật khẩu."
DISABLED = "Tài khoản này đang bị tạm dừng. Hãy liên hệ quản trị viên."


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
    locked: bool = False  # refused without looking at the password (slowed or locked)
    role: str | None = None  # the account's role when ok


class AccountError(ValueError):
    """An account cannot be created or changed; the message says why (Vietnamese, shown to the officer)."""


def console_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / CONSOLE_DIR


def session_secret() -> str:
    """The cookie-signing key of one process (sessions are server-side and end on restart anyway); with the
    shared database every console process signs with the same key, kept there (state/console.py)."""
    return secrets.token_urlsafe(48)


def generate_password() -> str:
    """A one-time password an admin reads out to an officer: 16 letters and digits, no look-alikes."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    raw = "".join(secrets.choice(alphabet) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


@dataclass
class Accounts:
    """Officer accounts: the environment one (admin) and stored ones; attempts limited per name and address."""

    env_user: str | None = None
    env_password: str | None = None
    file: Path | None = None
    slow_after: int = SLOW_AFTER
    slow_seconds: float = SLOW_SECONDS
    lock_after: int = LOCK_AFTER
    lock_seconds: float = LOCK_SECONDS
    store: AccountStore | None = None  # defaults to the shared database's table (`db`), else the JSON file `file`
    db: Any = None  # state.console.ConsoleTables: accounts and attempts shared by N console processes
    attempts: Attempts | None = None  # defaults to the database's attempts table (`db`), else `limits` in memory
    _env_hash: str | None = None

    def __post_init__(self) -> None:
        windows = Windows(self.slow_after, max(1, int(self.slow_seconds)), self.lock_after,
                          max(1, int(self.lock_seconds)))
        if self.store is None:
            self.store = self.db.accounts() if self.db is not None else JsonAccountStore(self.file)
        if self.attempts is None:
            self.attempts = self.db.attempts(windows) if self.db is not None else MemoryAttempts(windows)
        # Hashed once at start: checking the environment account then costs what any other check costs.
        if self.env_password:
            self._env_hash = _hasher.hash(self.env_password)

    @classmethod
    def from_settings(cls, settings: Settings) -> "Accounts":
        """Stored accounts in the shared database when CCHC_DATABASE_URL is set, else in the data folder."""
        from state.console import ConsoleTables

        password = settings.console_password.get_secret_value() if settings.console_password else None
        return cls(settings.console_user or None, password or None, console_dir(settings) / ACCOUNTS_FILE,
                   db=ConsoleTables.for_settings(settings))

    @property
    def where(self) -> str:
        """Where stored accounts live, in words for the operator."""
        return str(getattr(self.store, "where", None) or self.file)

    # -- reading ------------------------------------------------------------------------
    def _hashed(self) -> dict[str, str]:
        return {name: a.hash for name, a in self.store.all().items()}

    def configured(self) -> bool:
        """True when at least one officer can log in."""
        return bool(self.env_user and self.env_password) or any(not a.disabled for a in self.store.all().values())

    def is_env(self, name: str) -> bool:
        return bool(self.env_user and self.env_password) and name == self.env_user

    def listing(self) -> list[Account]:
        """Stored accounts by name (the environment account is shown apart: it is changed in the environment)."""
        return sorted(self.store.all().values(), key=lambda a: a.name.lower())

    def role(self, name: str) -> str | None:
        if self.is_env(name):
            return "admin"
        account = self.store.get(name)
        return None if account is None or account.disabled else account.role

    # -- changing -----------------------------------------------------------------------
    @staticmethod
    def _check_password(password: str) -> None:
        if len(password) < MIN_PASSWORD_CHARS:
            raise AccountError(f"Mật khẩu cần ít nhất {MIN_PASSWORD_CHARS} ký tự.")

    def _existing(self, name: str) -> Account:
        if self.is_env(name):
            raise AccountError(f"Tài khoản {name} được đặt trong cấu hình máy chủ; bộ phận kỹ thuật sửa ở đó.")
        account = self.store.get(name)
        if account is None:
            raise AccountError(f"Không có tài khoản {name}.")
        return account

    def _enabled_admins(self, without: str | None = None) -> int:
        stored = sum(1 for a in self.store.all().values() if a.role == "admin" and not a.disabled and a.name != without)
        return stored + (1 if self.env_user and self.env_password else 0)

    def create(self, name: str, password: str, role: str) -> Account:
        """A new stored account; refuses an existing name."""
        name = name.strip()
        if not name or len(name) > MAX_NAME_CHARS or any(ch.isspace() or not ch.isprintable() for ch in name):
            raise AccountError(f"Tên đăng nhập không được rỗng, chứa dấu cách hay dài quá {MAX_NAME_CHARS} ký tự.")
        if role not in ROLES:
            raise AccountError("Hãy chọn quyền: " + ", ".join(ROLE_NAMES.values()) + ".")
        if self.is_env(name) or self.store.get(name) is not None:
            raise AccountError(f"Tên đăng nhập {name} đã có.")
        self._check_password(password)
        if self.file is None and isinstance(self.store, JsonAccountStore) and self.store.path is None:
            raise AccountError("Chưa có tệp tài khoản.")
        account = Account(name=name, hash=_hasher.hash(password), role=role, created=time.time())
        self.store.put(account)
        return account

    def add(self, user: str, password: str, role: str = "admin") -> None:
        """Create an account or change its password (`cchc console --add-user`: whoever runs it is an admin)."""
        if self.store.get(user.strip()) is None:
            self.create(user, password, role)
        else:
            self.set_password(user.strip(), password)

    def set_password(self, name: str, password: str) -> None:
        account = self._existing(name)
        self._check_password(password)
        self.store.put(account.with_(hash=_hasher.hash(password)))
        self.unlock(name)

    def set_role(self, name: str, role: str) -> None:
        account = self._existing(name)
        if role not in ROLES:
            raise AccountError("Quyền không hợp lệ.")
        if account.role == "admin" and role != "admin" and not account.disabled and self._enabled_admins(name) == 0:
            raise AccountError("Phải còn ít nhất một quản trị viên.")
        self.store.put(account.with_(role=role))

    def set_disabled(self, name: str, disabled: bool) -> None:
        account = self._existing(name)
        if disabled and account.role == "admin" and self._enabled_admins(name) == 0:
            raise AccountError("Phải còn ít nhất một quản trị viên.")
        self.store.put(account.with_(disabled=disabled))

    def unlock(self, name: str) -> None:
        """Forget the name's failed attempts (after an admin reset its password)."""
        self.attempts.clear([(NAME_SCOPE, name)])

    # -- logging in ---------------------------------------------------------------------
    def _refused(self, refusal: Refusal) -> LoginResult:
        if refusal.kind == "locked":
            minutes = int(refusal.seconds // 60) + 1
            return LoginResult(False, LOCKED[refusal.scope].format(limit=self.lock_after, minutes=minutes),
                               locked=True)
        return LoginResult(False, SLOWED.format(seconds=int(refusal.seconds) + 1), locked=True)

    def check(self, user: str, password: str, address: str = "unknown") -> LoginResult:
        """Check a login. The attempt is counted before the password is looked at (no race)."""
        keys = ((ADDRESS_SCOPE, address), (NAME_SCOPE, user))
        refusal = self.attempts.take(keys)
        if refusal is not None:
            return self._refused(refusal)
        account = None
        if self.env_user and self._env_hash and hmac.compare_digest(user.encode(), self.env_user.encode()):
            stored = self._env_hash
        else:
            account = self.store.get(user)
            stored = account.hash if account is not None and account.hash else self._dummy_hash
        if not _hash_slots.acquire(timeout=HASH_WAIT_SECONDS):
            return LoginResult(False, BUSY)
        try:
            ok = _verify_hash(stored, password) and stored is not self._dummy_hash
        finally:
            _hash_slots.release()
        if not ok:
            return LoginResult(False, WRONG)
        if account is not None and account.disabled:
            return LoginResult(False, DISABLED)
        self.attempts.clear(keys)
        return LoginResult(True, role="admin" if account is None else account.role)

    @property
    def _dummy_hash(self) -> str:
        return _dummy_hash()

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

    The cookie only carries a random session id next to the user name. Here the ids live in this process's
    memory (a restart ends every session); `state.console.DbSessions` keeps them in the shared database, so N
    console processes know the same sessions. Subclasses override the four storage methods only.
    """

    def __init__(self, max_age: float = SESSION_MAX_AGE) -> None:
        self.max_age = max_age
        self._live: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def start(self, request: Request, user: str, role: str = "admin") -> None:
        """A fresh session (new id, new CSRF token): a token seen before login is useless after it."""
        sid = secrets.token_urlsafe(32)
        self._add(sid, user)
        request.session.clear()
        request.session.update(user=user, sid=sid, role=role, csrf=secrets.token_urlsafe(32))

    def user(self, request: Request) -> str | None:
        sid, user = request.session.get("sid"), request.session.get("user")
        if not sid or not user:
            return None
        return user if self._owner(sid) == user else None

    def end_user(self, user: str) -> int:
        """End every session of one officer (password reset, role change, account disabled); returns how many."""
        return self._drop_user(user)

    def end(self, request: Request) -> None:
        sid = request.session.get("sid")
        if sid:
            self._drop(sid)
        request.session.clear()

    # -- storage: in this process ------------------------------------------------------------
    def _add(self, sid: str, user: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._live = {k: v for k, v in self._live.items() if v[1] > now}
            self._live[sid] = (user, now + self.max_age)

    def _owner(self, sid: str) -> str | None:
        """The user of a live, unexpired session id."""
        with self._lock:
            live = self._live.get(sid)
        return live[0] if live is not None and live[1] >= time.monotonic() else None

    def _drop(self, sid: str) -> None:
        with self._lock:
            self._live.pop(sid, None)

    def _drop_user(self, user: str) -> int:
        with self._lock:
            ended = [sid for sid, (name, _) in self._live.items() if name == user]
            for sid in ended:
                del self._live[sid]
        return len(ended)
