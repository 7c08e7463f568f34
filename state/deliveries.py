"""Webhook deliveries claimed with a lease: answered once by any of N workers, never dropped by a dead one.

A delivery key (Telegram update id, Zalo/Messenger message id) goes through one row of `deliveries`:

    INSERT … ON CONFLICT DO UPDATE … WHERE state = 'claimed' AND lease_until < now   (atomic, one winner)

- no row yet: this worker claims it ('claimed', lease = now + lease_seconds) and answers it;
- 'done': the answer went out already — the redelivery is acknowledged and dropped;
- 'claimed' with a live lease: another worker is answering it — the webhook does not acknowledge, the provider
  redelivers later and by then the row is 'done' (or the lease ran out);
- 'claimed' with a lease run out: the worker that claimed it died before sending — this worker retakes it.

While a worker answers, a background thread renews the leases it holds every lease/3 seconds, so a slow answer
(a long queue, a slow provider) is not retaken; a killed worker stops renewing and its claims lapse. Times are
the database server's clock, so workers on several machines need not agree on theirs.
"""
from __future__ import annotations

import logging
import threading
import time

import sqlalchemy as sa

from bot.store import DELIVERY_BUSY, DELIVERY_DONE, DELIVERY_NEW, StoreUnavailable
from state import schema as t
from state.engine import is_down

log = logging.getLogger("bot.store")

DELIVERY_TTL = 7 * 24 * 3600.0  # keys remembered a week: providers retry for hours, not days
_NOW = "extract(epoch from clock_timestamp())"
_CLAIM = sa.text(f"""
INSERT INTO deliveries (channel, key, state, created_at, lease_until, worker)
VALUES (:channel, :key, 'claimed', {_NOW}, {_NOW} + :lease, :worker)
ON CONFLICT (channel, key) DO UPDATE
    SET lease_until = EXCLUDED.lease_until, worker = EXCLUDED.worker, attempts = deliveries.attempts + 1
    WHERE deliveries.state = 'claimed' AND deliveries.lease_until < EXCLUDED.created_at
RETURNING attempts
""")
_RENEW = sa.text(f"""
UPDATE deliveries SET lease_until = {_NOW} + :lease
WHERE state = 'claimed' AND worker = :worker AND channel = :channel AND key = :key
""")


class SqlDeliveries:
    """Mixed into SqlStore (uses its engine, worker name and lease)."""

    def __init__(self) -> None:
        self._held: set[tuple[str, str]] = set()
        self._held_lock = threading.Lock()
        self._renewer: threading.Thread | None = None
        self._closing = threading.Event()
        self._pruned_at = 0.0
        self.retaken = 0  # claims taken over from a worker that stopped renewing them

    def claim_delivery(self, channel: str, key: str) -> str:
        try:
            with self.engine.begin() as conn:
                attempts = conn.execute(_CLAIM, {"channel": channel, "key": key, "lease": self.lease_seconds,
                                                 "worker": self.worker}).scalar()
                if attempts is None:
                    state = conn.execute(sa.select(t.deliveries.c.state).where(
                        t.deliveries.c.channel == channel, t.deliveries.c.key == key)).scalar()
                    return DELIVERY_DONE if state == "done" else DELIVERY_BUSY
                self._prune(conn)
        except Exception as exc:
            if is_down(exc):
                raise StoreUnavailable(type(exc).__name__) from exc
            raise
        if attempts > 1:
            self.retaken += 1
            log.warning("delivery %s/%s retaken: the worker that claimed it stopped before answering", channel,
                        key[:12])
        self._hold(channel, key)
        return DELIVERY_NEW

    def finish_delivery(self, channel: str, key: str) -> None:
        """Mark 'done' (whoever holds it now). A database that is down leaves the claim to lapse: only a
        redelivery after the lease could answer it again, and the webhook acknowledged this one."""
        self._release_hold(channel, key)
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.update(t.deliveries).where(t.deliveries.c.channel == channel,
                                                           t.deliveries.c.key == key)
                             .values(state="done", done_at=sa.text(_NOW)))
        except Exception as exc:
            if not is_down(exc):
                raise
            self._lost("delivery done mark", exc)

    def release_delivery(self, channel: str, key: str) -> bool:
        self._release_hold(channel, key)
        try:
            with self.engine.begin() as conn:
                gone = conn.execute(sa.delete(t.deliveries).where(
                    t.deliveries.c.channel == channel, t.deliveries.c.key == key,
                    t.deliveries.c.state == "claimed", t.deliveries.c.worker == self.worker)).rowcount
        except Exception as exc:
            if not is_down(exc):
                raise
            return True  # the claim lapses with its lease instead; a redelivery after that is answered
        return gone > 0

    def first_delivery(self, channel: str, key: str) -> bool:
        """Claim and finish at once (callers that answer in the same breath, e.g. polling)."""
        if self.claim_delivery(channel, key) != DELIVERY_NEW:
            return False
        self.finish_delivery(channel, key)
        return True

    # -- leases ------------------------------------------------------------------------------
    def _prune(self, conn: sa.Connection) -> None:
        now = time.time()
        if now - self._pruned_at > 3600:
            self._pruned_at = now
            conn.execute(sa.delete(t.deliveries).where(t.deliveries.c.created_at < now - DELIVERY_TTL))

    def _hold(self, channel: str, key: str) -> None:
        with self._held_lock:
            self._held.add((channel, key))
            if self._renewer is None or not self._renewer.is_alive():
                self._renewer = threading.Thread(target=self._renew_loop, name="cchc-lease-renewal", daemon=True)
                self._renewer.start()

    def _release_hold(self, channel: str, key: str) -> None:
        with self._held_lock:
            self._held.discard((channel, key))

    def _renew_loop(self) -> None:
        while not self._closing.wait(self.lease_seconds / 3):
            with self._held_lock:
                held = list(self._held)
            if not held:
                continue
            try:
                with self.engine.begin() as conn:
                    for channel, key in held:
                        conn.execute(_RENEW, {"lease": self.lease_seconds, "worker": self.worker,
                                              "channel": channel, "key": key})
            except Exception as exc:  # noqa: BLE001 - the database is down: the leases may lapse, try again
                log.warning("delivery leases not renewed (%s)", type(exc).__name__)

    def close(self) -> None:
        self._closing.set()
