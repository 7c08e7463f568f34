"""The live index pointer in the shared database (`index_pointer`, one row), and its history (`index_history`).

Every worker polls `read()`; a publish or a rollback moves the row and appends a history line in one transaction,
so no worker can see a pointer without knowing who moved it. A database that cannot be read is not a reason to
stop answering: the caller (index/shared.py) keeps serving the version it knows.
"""
from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

from state import schema as t

POINTER_NAME = "live"
PUBLISH_LOCK = 0x43434849  # pg_advisory_lock key held by the one build/refresh/publish/rollback of a deployment
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PointerRow:
    version: str
    published_at: float  # unix seconds
    published_by: str | None


class DbPointer:
    """`index_pointer` row `name` (one per deployment: 'live')."""

    def __init__(self, engine: Engine, name: str = POINTER_NAME) -> None:
        self.engine = engine
        self.name = name

    def read(self) -> PointerRow | None:
        """The row, or None when nothing was ever published through the database. Raises when it is down."""
        table = t.index_pointer
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(table.c.version, table.c.published_at, table.c.published_by)
                               .where(table.c.name == self.name)).first()
        return PointerRow(row.version, float(row.published_at), row.published_by) if row else None

    def write(self, version: str, published_by: str | None, action: str = "publish") -> PointerRow:
        """Move the pointer and record it; the row is locked meanwhile, so two publishers take turns."""
        table = t.index_pointer
        now = time.time()
        with self.engine.begin() as conn:
            previous = conn.execute(sa.select(table.c.version).where(table.c.name == self.name)
                                    .with_for_update()).scalar()
            values = {"version": version, "published_at": now, "published_by": published_by}
            conn.execute(pg_insert(table).values(name=self.name, **values)
                         .on_conflict_do_update(index_elements=["name"], set_=values))
            conn.execute(sa.insert(t.index_history).values(name=self.name, version=version, previous=previous,
                                                           action=action, published_at=now,
                                                           published_by=published_by))
        return PointerRow(version, now, published_by)

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[bool]:
        """True while this process holds the deployment's publishing lock; False (at once) if another does."""
        with self.engine.connect() as conn:
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": PUBLISH_LOCK}).scalar()
            conn.commit()
            try:
                yield bool(got)
            finally:
                if got:
                    try:
                        conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": PUBLISH_LOCK})
                        conn.commit()
                    except Exception as exc:  # the server restarted: the lock went with the session
                        log.warning("publishing lock not released: %s", exc)

    def history(self, limit: int = 50) -> list[dict]:
        """The latest moves, newest first (version, previous, action, published_at, published_by)."""
        h = t.index_history
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(h.c.version, h.c.previous, h.c.action, h.c.published_at, h.c.published_by)
                                .where(h.c.name == self.name).order_by(h.c.id.desc()).limit(limit)).mappings()
            return [dict(r) for r in rows]
