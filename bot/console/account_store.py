"""Where officer accounts live: one small interface; a JSON file on one machine, the shared database otherwise.

`bot.console.auth.Accounts` reads and writes accounts only through `AccountStore` (`all`, `get`, `put`): this
JSON file, or `state.console.DbAccountStore` when CCHC_DATABASE_URL is set (N console processes).

File format (`<data_dir>/console/accounts.json`, owner-only): `{name: {hash, role, disabled, created}}`.
Older files mapped a name straight to its hash; such entries are read as enabled *admin* accounts,
because before roles existed every officer could do everything (`cchc console --add-user` still
creates admins: whoever runs it has the server anyway).
"""
from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Protocol

LEGACY_ROLE = "admin"


@dataclass(frozen=True)
class Account:
    name: str
    hash: str  # Argon2id; the password itself is never stored
    role: str = LEGACY_ROLE
    disabled: bool = False
    created: float = 0.0  # unix time; 0 for accounts from before this field

    def with_(self, **changes) -> "Account":
        return replace(self, **changes)


class AccountStore(Protocol):
    def all(self) -> dict[str, Account]: ...

    def get(self, name: str) -> Account | None: ...

    def put(self, account: Account) -> None:
        """Create or replace one account."""


def _write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _account(name: str, value: object) -> Account:
    if isinstance(value, str):  # the format before roles: name -> hash
        return Account(name=name, hash=value)
    data = dict(value) if isinstance(value, dict) else {}
    return Account(name=name, hash=str(data.get("hash", "")), role=str(data.get("role") or LEGACY_ROLE),
                   disabled=bool(data.get("disabled", False)), created=float(data.get("created") or 0.0))


class JsonAccountStore:
    """Accounts in one JSON file, rewritten atomically on every change (a handful of officers)."""

    def __init__(self, path: Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()

    def all(self) -> dict[str, Account]:
        if self.path is None or not self.path.exists():
            return {}
        data = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        return {str(k): _account(str(k), v) for k, v in data.items()}

    def get(self, name: str) -> Account | None:
        return self.all().get(name)

    def put(self, account: Account) -> None:
        if self.path is None:
            raise OSError("no account file configured")
        with self._lock:
            accounts = self.all()
            accounts[account.name] = account if account.created else account.with_(created=time.time())
            payload = {n: {k: v for k, v in asdict(a).items() if k != "name"} for n, a in accounts.items()}
            _write_private(self.path, json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
