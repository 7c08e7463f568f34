"""How a webhook worker handles one delivery so that it is answered exactly once and never lost.

The rule: **acknowledge (2xx) only after the replies went out.** A worker that dies mid-answer never acked, so
the provider (Telegram, Zalo, Messenger) delivers again, to any worker; the claim the dead worker left lapses
(state/deliveries.py) and that delivery is answered. Per delivery key:

| claim          | the worker…                                                   | HTTP |
|----------------|---------------------------------------------------------------|------|
| new            | answers, sends, marks it done                                 | 200  |
| done           | does nothing (a redelivery of an answered message)            | 200  |
| busy           | does nothing: another worker (or this one) is answering it    | 503  |
| down (no DB)   | sends "hệ thống đang bận" + hotlines once, records nothing    | 503  |
| new, not sent  | gives the claim back (the provider's API failed)              | 503  |

With the database down the citizen hears at once that the system is busy (with 1800.1096), and the provider
keeps the message: once the database is back a redelivery is answered properly. If the replies could not be
sent, the claim is given back and the delivery refused (503), so a redelivery is answered. SQLite on one
machine keeps its old meaning (seen once = done; duplicates in flight are acknowledged), see `Store.leased_claims`.
"""
from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Awaitable

from bot.store import DELIVERY_BUSY, DELIVERY_DONE, DELIVERY_NEW, Store, StoreUnavailable

log = logging.getLogger(__name__)

DELIVERY_DOWN = "down"  # the database cannot record the delivery
DELIVERY_UNSENT = "unsent"  # claimed, but the replies could not be sent: the claim was given back
RETRY_AFTER_S = 5  # what a refused delivery tells the provider (a hint: providers use their own schedules)


class _Recent:
    """A bounded set of keys, oldest forgotten first."""

    def __init__(self, size: int = 100_000) -> None:
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def add(self, key: str) -> bool:
        """False when the key was there already."""
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._size:
            self._keys.popitem(last=False)
        return True


class Deliveries:
    """The claims of one channel in one worker: a fast in-process check, then the store (shared by workers)."""

    def __init__(self, store: Store, channel: str) -> None:
        self.store = store
        self.channel = channel
        self._in_flight: set[str] = set()
        self._done = _Recent()
        self._noticed = _Recent(10_000)
        self.counts = {DELIVERY_NEW: 0, DELIVERY_DONE: 0, DELIVERY_BUSY: 0, DELIVERY_DOWN: 0, DELIVERY_UNSENT: 0}

    async def claim(self, key: str) -> str:
        """DELIVERY_NEW (answer it, then `finish`), _DONE, _BUSY or DELIVERY_DOWN. Atomic within the event loop."""
        state = await self._claim(key)
        self.counts[state] += 1
        return state

    async def _claim(self, key: str) -> str:
        if key in self._done:
            return DELIVERY_DONE
        if key in self._in_flight:
            return DELIVERY_BUSY if self.store.leased_claims else DELIVERY_DONE
        self._in_flight.add(key)  # before the await: a duplicate arriving meanwhile sees it
        try:
            state = await asyncio.to_thread(self.store.claim_delivery, self.channel, key)
        except StoreUnavailable as exc:
            self._in_flight.discard(key)
            log.warning("%s: delivery not recorded, database unavailable (%s); refused for a redelivery",
                        self.channel, exc)
            return DELIVERY_DOWN
        except Exception:
            self._in_flight.discard(key)
            raise
        if state != DELIVERY_NEW:
            self._in_flight.discard(key)
        if state == DELIVERY_DONE:
            self._done.add(key)
        return state

    async def finish(self, key: str) -> None:
        """The replies went out: later deliveries of `key` are acknowledged and dropped."""
        self._done.add(key)
        self._in_flight.discard(key)
        try:
            await asyncio.to_thread(self.store.finish_delivery, self.channel, key)
        except Exception:  # noqa: BLE001 - the answer is out; this worker still remembers it in memory
            log.exception("%s: delivery answered but not marked done", self.channel)

    async def release(self, key: str) -> bool:
        """The replies could not be sent: True when a redelivery will be answered (refuse this one then)."""
        self._in_flight.discard(key)
        try:
            return await asyncio.to_thread(self.store.release_delivery, self.channel, key)
        except Exception:  # noqa: BLE001
            log.exception("%s: claim not released; it lapses after its lease", self.channel)
            return True

    async def answer(self, key: str, work: Awaitable[bool]) -> str:
        """Run the work of a claimed delivery (True when its replies went out, or there was nothing to send),
        then mark it done — or give the claim back: DELIVERY_UNSENT then tells the webhook to refuse it."""
        try:
            sent = await work
        except Exception:  # noqa: BLE001 - adapters log their own failures; this is the last net
            log.exception("%s: answering a delivery failed", self.channel)
            sent = False
        if not sent and await self.release(key):
            self.counts[DELIVERY_UNSENT] += 1
            return DELIVERY_UNSENT
        await self.finish(key)
        return DELIVERY_NEW

    def first_notice(self, key: str) -> bool:
        """Send the 'busy' notice for `key` at most once from this worker (the provider may retry many times)."""
        return self._noticed.add(key)


def refused(state: str) -> bool:
    """Whether the webhook must answer non-2xx for this claim (the provider then delivers again)."""
    return state in (DELIVERY_BUSY, DELIVERY_DOWN, DELIVERY_UNSENT)
