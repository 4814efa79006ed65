"""The ``DeliveryLog`` of the server, kept in the store so replay protection survives restarts and is
shared by every replica on one PostgreSQL database.

The store's append-only history gives the atomicity: each delivery id is an owner
(``delivery/<listener>/<id>``) whose entries are numbered by the store under a unique key, so two
concurrent appends always get different numbers. A ``claim`` appends ``{"op": "claim"}`` and wins when
its entry is the first one, or follows a ``release``; any later claim finds a claim before its own
entry and loses. ``release`` (only ever called by the winner, when its runs could not be created)
appends ``{"op": "release"}``, so the sender's retry wins again. Nothing is read before writing, so
there is no window in which two claims can both win.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gitloop.ports import Store

OWNER_PREFIX = "delivery/"
_MAX_ID = 200


def delivery_owner(listener: str, delivery_id: str) -> str:
    """The history owner of one delivery (ids are capped: a sender controls them)."""
    return f"{OWNER_PREFIX}{listener}/{delivery_id[:_MAX_ID]}"


class StoreDeliveryLog:
    """A ``gitloop.triggers.DeliveryLog`` on a ``Store``. Safe to share between threads and processes."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    def claim(self, listener: str, delivery_id: str) -> bool:
        key = delivery_owner(listener, delivery_id)
        entry = self._store.append_history(key, {"op": "claim", "time": self._clock()})
        if entry == 0:
            return True
        previous = next((e for e in self._store.history(key) if e.id == entry - 1), None)
        return previous is not None and previous.doc.get("op") == "release"

    def release(self, listener: str, delivery_id: str) -> None:
        key = delivery_owner(listener, delivery_id)
        self._store.append_history(key, {"op": "release", "time": self._clock()})

    def seen(self, listener: str, delivery_id: str) -> bool:
        """Whether a claim of this delivery stands (for status pages and tests)."""
        entries = self._store.history(delivery_owner(listener, delivery_id))
        standing = False
        for entry in entries:
            op = entry.doc.get("op")
            if op == "claim" and not standing:
                standing = True
            elif op == "release":
                standing = False
        return standing
