"""Delivery ids already acted on, so a replayed webhook starts nothing.

The handler claims a delivery id only when the event is about to start runs, so only authenticated,
matching deliveries are remembered: an unsigned request cannot use up the id of a real one. ``claim``
must be atomic (two concurrent copies of one delivery: one wins); the server's implementation keeps
claims in the store so they survive a restart. The claim is made before the server creates the runs:
if creating them fails, the server calls ``release`` so the sender's retry is not taken for a replay.
``MemoryDeliveryLog`` is the in-process one, bounded.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Protocol


class DeliveryLog(Protocol):
    """Remembers (listener, delivery id) pairs."""

    def claim(self, listener: str, delivery_id: str) -> bool:
        """Record the delivery; ``False`` if it was recorded before (a replay)."""
        ...

    def release(self, listener: str, delivery_id: str) -> None:
        """Forget a claim whose runs could not be created."""
        ...


class MemoryDeliveryLog:
    """A thread-safe ``DeliveryLog`` holding the newest ``capacity`` claims."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, listener: str, delivery_id: str) -> bool:
        key = (listener, delivery_id)
        with self._lock:
            if key in self._seen:
                return False
            self._seen[key] = None
            while len(self._seen) > self._capacity:
                self._seen.popitem(last=False)
            return True

    def release(self, listener: str, delivery_id: str) -> None:
        with self._lock:
            self._seen.pop((listener, delivery_id), None)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._seen

    def __len__(self) -> int:
        return len(self._seen)
