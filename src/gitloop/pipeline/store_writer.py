"""Writes to the store from a thread of its own, so runs never wait for the database.

Records are coalesced by key (only the newest version of a record still waiting is written), log
lines are appended in batches, and the store itself is opened in the thread (importing the database
driver does not delay the start of a run). ``flush`` waits until everything queued so far is
written; ``close`` flushes and closes the store (unless it was lent: ``close_store=False``). A write that fails is reported once through
``on_error`` and the writer keeps going: losing status must not stop a run.

Each step's lines pass its ``StepLogCap`` (``gitloop.pipeline.log_cap``) before they are queued, so a step printing
without end costs neither the store nor this queue more than the cap; ``end_log`` (the step ended)
queues the step's truncation marker, and ``close`` ends every step still open.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from gitloop.pipeline.log_cap import DEFAULT_LOG_LIMIT, StepLogCap
from gitloop.ports import Store

_Key = tuple[str, str]


class StoreWriter:
    """A background writer in front of a ``Store`` made by ``open_store`` (called in the thread)."""

    def __init__(
        self,
        open_store: Callable[[], Store],
        *,
        on_error: Callable[[Exception], None] | None = None,
        log_limit: int = DEFAULT_LOG_LIMIT,
        close_store: bool = True,
    ) -> None:
        self._open = open_store
        self._close_store = close_store
        self._on_error = on_error
        self._log_limit = log_limit
        self._caps: dict[tuple[str, str], StepLogCap] = {}
        self._cond = threading.Condition()
        self._order: deque[tuple[str, Any]] = deque()
        self._records: dict[_Key, tuple[dict[str, object], dict[str, str] | None]] = {}
        self._logs: dict[tuple[str, str], list[str]] = {}
        self._busy = False
        self._closing = False
        self._failed = False
        self._store: Store | None = None
        self._thread = threading.Thread(target=self._run, name="gitloop-store-writer", daemon=True)
        self._thread.start()

    def put(
        self, kind: str, name: str, doc: dict[str, object], *, labels: dict[str, str] | None = None
    ) -> None:
        with self._cond:
            key = (kind, name)
            if key not in self._records:
                self._order.append(("put", key))
            self._records[key] = (doc, labels)
            self._cond.notify()

    def log(self, run: str, source: str, line: str) -> None:
        """Queue one line of ``source``, unless the source's cap drops it."""
        with self._cond:
            key = (run, source)
            cap = self._caps.get(key)
            if cap is None:
                cap = self._caps[key] = StepLogCap(self._log_limit)
            kept = cap.admit(line)
            if kept is not None:
                self._queue_line(key, kept)

    def end_log(self, run: str, source: str) -> None:
        """``source`` (a step) has ended: store its truncation marker if lines were dropped. Lines
        that arrive later start a new budget (a retried step's next attempt)."""
        with self._cond:
            self._end((run, source))

    def _end(self, key: tuple[str, str]) -> None:
        cap = self._caps.pop(key, None)
        marker = cap.end() if cap is not None else None
        if marker is not None:
            self._queue_line(key, marker)

    def _queue_line(self, key: tuple[str, str], line: str) -> None:
        if key not in self._logs:
            self._logs[key] = []
            self._order.append(("log", key))
        self._logs[key].append(line)
        self._cond.notify()

    def flush(self) -> None:
        with self._cond:
            while (self._order or self._busy) and self._thread.is_alive():
                self._cond.wait(0.1)

    def close(self) -> None:
        with self._cond:
            for key in list(self._caps):
                self._end(key)
        self.flush()
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout=30)

    def _next(self) -> tuple[str, Any, Any] | None:
        with self._cond:
            while not self._order and not self._closing:
                self._busy = False
                self._cond.notify_all()
                self._cond.wait()
            if not self._order:
                self._busy = False
                return None
            what, key = self._order.popleft()
            self._busy = True
            payload = self._records.pop(key) if what == "put" else self._logs.pop(key)
            return what, key, payload

    def _run(self) -> None:
        try:
            self._store = self._open()
        except Exception as exc:  # the store is optional for the run itself
            self._report(exc)
        while (item := self._next()) is not None:
            what, key, payload = item
            if self._store is None:
                continue
            try:
                if what == "put":
                    self._store.put(key[0], key[1], payload[0], labels=payload[1])
                else:
                    self._store.append_log(key[0], key[1], payload)
            except Exception as exc:  # keep the run going; say it once
                self._report(exc)
        with self._cond:
            self._busy = False
            self._cond.notify_all()
        if self._store is not None and self._close_store:
            try:
                self._store.close()
            except Exception as exc:
                self._report(exc)

    def _report(self, exc: Exception) -> None:
        if not self._failed and self._on_error is not None:
            self._on_error(exc)
        self._failed = True
