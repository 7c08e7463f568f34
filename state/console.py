"""The officers' console on the shared database, so `cchc console` can run as N processes behind one proxy.

With CCHC_DATABASE_URL set, any request may reach any console process, so nothing a login depends on may live in
one process: accounts (`console_accounts`, Argon2 hashes as in the JSON file), sessions (`console_sessions`:
logout and account changes delete rows, so they end everywhere at once), the audit log (`console_audit`), failed
login attempts (`login_attempts`) and the key that signs the session cookie (a `meta` row, created by whichever
process comes first). Same interfaces as the one-machine versions: bot/console/account_store.py,
`bot.console.auth.Sessions`, bot/console/attempts.py and bot/console/audit.py.

The `limits` library (the one-process counter) has no PostgreSQL storage, so `DbAttempts` counts its own table
with the same moving windows. Nothing typed at the login form is kept in clear: attempts are stored under a
SHA-256 of scope and name/address, sessions under a SHA-256 of the cookie's id. Windows and expiries use the
database server's clock, so console machines need not agree on theirs.
"""
from __future__ import annotations

import hashlib
import secrets
import threading
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

from bot.console.account_store import Account
from bot.console.attempts import Keys, Refusal, Windows
from bot.console.audit import AuditEntry
from bot.console.auth import SESSION_MAX_AGE, Sessions
from state import schema as t
from state.engine import database_url, is_down, make_engine
from state.errors import DatabaseSetupError, SchemaBehind
from state.migrate import status

_NOW = "extract(epoch from clock_timestamp())"
ATTEMPTS_LOCK = 0x4343484C  # pg_advisory_xact_lock class held while one key's attempt is counted
COOKIE_SECRET_KEY = "console_cookie_secret"
PRUNE_EVERY_S = 60.0
_OPEN: dict[str, "ConsoleTables"] = {}
_OPEN_LOCK = threading.Lock()


def _sha(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


class ConsoleTables:
    """The console's tables on one engine; hands out the account store, attempts, sessions and audit log."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def for_settings(cls, settings: Any) -> "ConsoleTables | None":
        """None without CCHC_DATABASE_URL; else one instance per URL in this process, schema checked once."""
        url = database_url(settings)
        if url is None:
            return None
        key = url.render_as_string(hide_password=False)
        with _OPEN_LOCK:
            if key not in _OPEN:
                engine = make_engine(url, pool_size=2)
                try:
                    cls.check_schema(engine)
                except Exception:
                    engine.dispose()
                    raise
                _OPEN[key] = cls(engine)
            return _OPEN[key]

    @staticmethod
    def check_schema(engine: Engine) -> None:
        """The console cannot let anyone in without its tables: refuse to start on a database down or behind."""
        try:
            found = status(engine)
        except Exception as exc:
            if not is_down(exc):
                raise
            raise DatabaseSetupError(f"Không kết nối được CSDL dùng chung ({type(exc).__name__}), nơi lưu tài khoản "
                                     "cán bộ. Hãy kiểm tra máy chủ PostgreSQL và CCHC_DATABASE_URL.") from exc
        if not found.up_to_date:
            raise SchemaBehind(f"CSDL dùng chung ở phiên bản lược đồ {found.current or 'trống'}, cần {found.head}. "
                               "Hãy chạy `cchc db upgrade` rồi mở lại bảng điều khiển.")

    def accounts(self) -> "DbAccountStore":
        return DbAccountStore(self.engine)

    def attempts(self, windows: Windows) -> "DbAttempts":
        return DbAttempts(self.engine, windows)

    def sessions(self, max_age: float = SESSION_MAX_AGE) -> "DbSessions":
        return DbSessions(self.engine, max_age)

    def audit(self) -> "DbAuditLog":
        return DbAuditLog(self.engine)

    def cookie_secret(self) -> str:
        """The session cookie's signing key, the same in every console process (created once, then read)."""
        with self.engine.begin() as conn:
            conn.execute(pg_insert(t.meta).values(key=COOKIE_SECRET_KEY, value=secrets.token_urlsafe(48))
                         .on_conflict_do_nothing(index_elements=["key"]))
            return conn.execute(sa.select(t.meta.c.value).where(t.meta.c.key == COOKIE_SECRET_KEY)).scalar_one()


class DbAccountStore:
    """`AccountStore` (all/get/put) on `console_accounts`."""

    where = "CSDL dùng chung (bảng console_accounts)"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @staticmethod
    def _account(row: Any) -> Account:
        return Account(name=row.name, hash=row.hash, role=row.role, disabled=bool(row.disabled),
                       created=float(row.created))

    def all(self) -> dict[str, Account]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.console_accounts)).all()
        return {r.name: self._account(r) for r in rows}

    def get(self, name: str) -> Account | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.console_accounts).where(t.console_accounts.c.name == name)).first()
        return self._account(row) if row else None

    def put(self, account: Account) -> None:
        values = {"hash": account.hash, "role": account.role, "disabled": int(account.disabled),
                  "created": account.created or time.time()}
        with self.engine.begin() as conn:
            conn.execute(pg_insert(t.console_accounts).values(name=account.name, **values)
                         .on_conflict_do_update(index_elements=["name"], set_=values))


class DbAttempts:
    """Login attempts counted in `login_attempts` with the moving windows of bot/console/attempts.py.

    One transaction per attempt holds an advisory lock per key (in a fixed order: two keys never deadlock), so
    parallel guesses on several processes take their slots one at a time, as `limits` does in one process.
    """

    def __init__(self, engine: Engine, windows: Windows) -> None:
        self.engine = engine
        self.windows = windows
        self._pruned_at = 0.0

    @staticmethod
    def _window(conn: sa.Connection, key_hash: str, now: float, seconds: int, slow_only: bool) -> tuple[int, float]:
        """(attempts within the window, when the oldest of them was)."""
        a = t.login_attempts
        query = sa.select(sa.func.count(), sa.func.min(a.c.at)).where(a.c.key_hash == key_hash,
                                                                        a.c.at > now - seconds)
        if slow_only:
            query = query.where(a.c.slow == 1)
        count, oldest = conn.execute(query).one()
        return int(count), float(oldest or now)

    def take(self, keys: Keys) -> Refusal | None:
        w = self.windows
        hashed = [(scope, _sha(scope, key)) for scope, key in keys]
        with self.engine.begin() as conn:
            for key_hash in sorted({h for _, h in hashed}):
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:c, hashtext(:h))"),
                             {"c": ATTEMPTS_LOCK, "h": key_hash})
            now = float(conn.execute(sa.text(f"SELECT {_NOW}")).scalar_one())
            for scope, key_hash in hashed:  # locked: refused before anything is counted
                count, oldest = self._window(conn, key_hash, now, w.lock_seconds, slow_only=False)
                if count >= w.lock_after:
                    return Refusal("locked", scope, max(1.0, oldest + w.lock_seconds - now))
            ids = {key_hash: conn.execute(sa.insert(t.login_attempts).values(scope=scope, key_hash=key_hash, at=now)
                                          .returning(t.login_attempts.c.id)).scalar_one()
                   for scope, key_hash in hashed}  # every attempt counts toward the lock
            for scope, key_hash in hashed:
                count, oldest = self._window(conn, key_hash, now, w.slow_seconds, slow_only=True)
                if count >= w.slow_after:
                    return Refusal("slowed", scope, max(1.0, oldest + w.slow_seconds - now))
                conn.execute(sa.update(t.login_attempts).where(t.login_attempts.c.id == ids[key_hash])
                             .values(slow=1))
            self._prune(conn, now)
        return None

    def clear(self, keys: Keys) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(t.login_attempts).where(
                t.login_attempts.c.key_hash.in_([_sha(scope, key) for scope, key in keys])))

    def _prune(self, conn: sa.Connection, now: float) -> None:
        if time.monotonic() - self._pruned_at > PRUNE_EVERY_S:
            self._pruned_at = time.monotonic()
            horizon = max(self.windows.lock_seconds, self.windows.slow_seconds)
            conn.execute(sa.delete(t.login_attempts).where(t.login_attempts.c.at < now - horizon))


class DbSessions(Sessions):
    """Sessions in `console_sessions`: any console process recognises, and ends, any officer's session.

    A page asks who is logged in several times (guard, page, template); the answer is looked up once per request.
    Expired rows are pruned whenever a session starts."""

    _CACHE = "cchc.console_session"

    def __init__(self, engine: Engine, max_age: float = SESSION_MAX_AGE) -> None:
        super().__init__(max_age)
        self.engine = engine

    def user(self, request: Any) -> str | None:
        cache = request.scope.setdefault(self._CACHE, {})
        key = (request.session.get("sid"), request.session.get("user"))
        if key not in cache:
            cache[key] = super().user(request)
        return cache[key]

    def _add(self, sid: str, user: str) -> None:
        s = t.console_sessions
        with self.engine.begin() as conn:
            conn.execute(sa.delete(s).where(s.c.expires_at < sa.text(_NOW)))
            conn.execute(sa.insert(s).values(id_hash=_sha(sid), user_name=user, created_at=sa.text(_NOW),
                                             expires_at=sa.text(f"{_NOW} + {float(self.max_age)}")))

    def _owner(self, sid: str) -> str | None:
        s = t.console_sessions
        with self.engine.connect() as conn:
            return conn.execute(sa.select(s.c.user_name).where(s.c.id_hash == _sha(sid),
                                                               s.c.expires_at > sa.text(_NOW))).scalar()

    def _drop(self, sid: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(t.console_sessions).where(t.console_sessions.c.id_hash == _sha(sid)))

    def _drop_user(self, user: str) -> int:
        with self.engine.begin() as conn:
            return conn.execute(sa.delete(t.console_sessions)
                                .where(t.console_sessions.c.user_name == user)).rowcount


class DbAuditLog:
    """`AuditLog` (record, entries, count, actions) on `console_audit`: one log for every console process."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, user: str, action: str, target: str, detail: str = "") -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.insert(t.console_audit).values(at=time.time(), user_name=user, action=action,
                                                           target=target, detail=detail))

    def _where(self, query: Any, action_prefix: str) -> Any:
        return query.where(t.console_audit.c.action.startswith(action_prefix, autoescape=True)) if action_prefix \
            else query

    def entries(self, limit: int = 100, offset: int = 0, action_prefix: str = "") -> list[AuditEntry]:
        a = t.console_audit
        query = self._where(sa.select(a.c.id, a.c.at, a.c.user_name, a.c.action, a.c.target, a.c.detail),
                            action_prefix).order_by(a.c.id.desc()).limit(limit).offset(offset)
        with self.engine.connect() as conn:
            return [AuditEntry(*r) for r in conn.execute(query)]

    def count(self, action_prefix: str = "") -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(self._where(sa.select(sa.func.count()).select_from(t.console_audit),
                                                action_prefix)).scalar_one())

    def actions(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(t.console_audit.c.action).distinct()
                                     .order_by(t.console_audit.c.action)).scalars())

    def close(self) -> None:
        """The engine is shared with the console's other tables; nothing of this log's own to close."""
