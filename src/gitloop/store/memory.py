"""An in-memory ``Store`` for tests of the engines: the same contract as ``SqlStore`` (the shared
contract suite runs against both), nothing kept after the process ends.

Documents go in and come out as JSON-normalised copies, exactly as a database would hand them back,
so a test cannot pass by mutating what it stored.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from gitloop.errors import GitloopError
from gitloop.ports import HistoryEntry, LogLine, StoredObject
from gitloop.store import codec


@dataclass(frozen=True)
class _Record:
    order: int  # insertion order: breaks ties between records created within one clock tick
    stored: StoredObject


class MemoryStore:
    """A ``Store`` in dictionaries behind one lock. Safe to share between threads."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._order = itertools.count()
        self._records: dict[tuple[str, str], _Record] = {}
        self._logs: dict[str, list[LogLine]] = {}
        self._history: dict[str, list[HistoryEntry]] = {}
        self._closed = False

    def __repr__(self) -> str:
        return "MemoryStore()"

    def put(
        self, kind: str, name: str, doc: dict[str, object], *, labels: dict[str, str] | None = None
    ) -> None:
        what = f"put {kind}/{name}"
        copy = codec.copy_doc(doc, what=what)
        new_labels = codec.checked_labels(labels, what=what)
        now = self._clock()
        with self._lock:
            self._check_open(what)
            old = self._records.get((kind, name))
            if old is None:
                stored = StoredObject(kind, name, copy, new_labels or {}, created=now, updated=now)
                self._records[(kind, name)] = _Record(next(self._order), stored)
            else:
                kept = old.stored.labels if new_labels is None else new_labels
                stored = replace(old.stored, doc=copy, labels=kept, updated=now)
                self._records[(kind, name)] = replace(old, stored=stored)

    def get(self, kind: str, name: str) -> StoredObject | None:
        with self._lock:
            self._check_open(f"get {kind}/{name}")
            record = self._records.get((kind, name))
        return None if record is None else _copied(record.stored)

    def query(
        self, kind: str, *, labels: dict[str, str] | None = None, limit: int | None = None
    ) -> list[StoredObject]:
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        wanted = (labels or {}).items()
        with self._lock:
            self._check_open(f"query {kind}")
            found = [
                r
                for r in self._records.values()
                if r.stored.kind == kind and wanted <= r.stored.labels.items()
            ]
        found.sort(key=lambda r: (r.stored.created, r.order), reverse=True)
        return [_copied(r.stored) for r in found[:limit]]

    def delete(self, kind: str, name: str) -> bool:
        with self._lock:
            self._check_open(f"delete {kind}/{name}")
            if self._records.pop((kind, name), None) is None:
                return False
            self._logs.pop(name, None)
            return True

    def append_log(self, run: str, source: str, lines: list[str]) -> None:
        if not lines:
            return
        texts = [codec.log_text(line) for line in lines]
        now = self._clock()
        with self._lock:
            self._check_open(f"append to the log of {run}")
            log = self._logs.setdefault(run, [])
            first = log[-1].seq + 1 if log else 1
            log.extend(LogLine(first + i, source, now, text) for i, text in enumerate(texts))

    def read_log(
        self, run: str, *, source: str | None = None, after_seq: int = 0, limit: int | None = None
    ) -> Iterator[LogLine]:
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        with self._lock:
            self._check_open(f"read the log of {run}")
            log = self._logs.get(run, [])[max(0, after_seq) :]  # seq n is at index n - 1
        found = (line for line in log if source is None or line.source == source)
        return itertools.islice(found, limit)

    def append_history(self, owner: str, doc: dict[str, object]) -> int:
        what = f"append to the history of {owner}"
        copy = codec.copy_doc(doc, what=what)
        now = self._clock()
        with self._lock:
            self._check_open(what)
            entries = self._history.setdefault(owner, [])
            entry = HistoryEntry(id=len(entries), owner=owner, time=now, doc=copy)
            entries.append(entry)
            return entry.id

    def history(self, owner: str) -> list[HistoryEntry]:
        with self._lock:
            self._check_open(f"read the history of {owner}")
            entries = list(self._history.get(owner, []))
        return [replace(e, doc=codec.copy_doc(e.doc, what="history")) for e in entries]

    def close(self) -> None:
        with self._lock:
            self._closed = True

    def _check_open(self, what: str) -> None:
        if self._closed:
            raise GitloopError(f"store memory: {what}: the store is closed")


def _copied(stored: StoredObject) -> StoredObject:
    return replace(stored, doc=codec.copy_doc(stored.doc, what="get"), labels=dict(stored.labels))
