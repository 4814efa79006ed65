"""Reading a run's log from the store: once, or following the run until it ends (``logs -f``).

Lines come from ``Store.read_log`` page by page, so a log of any size is read in constant memory.
Following polls the store for lines after the last one seen and for the run's record: once the
record's ``Succeeded`` condition is ``True`` or ``False``, one last read (after that look) takes every
line written before the run ended, and the follow ends; ``outcome`` then says how the run ended. A run
whose gitloop process died (``kill -9``) would never end by itself: every ``ORPHAN_CHECK`` seconds the
follow ends such runs as ``Interrupted`` (``interrupted.interrupt_orphans``), and so ends too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from gitloop.errors import UsageError
from gitloop.pipeline.records import PIPELINE_RUN, TASK_RUN
from gitloop.ports import LogLine, Store
from gitloop.service.interrupted import interrupt_orphans

FOLLOW_POLL = 0.5
"""Seconds between two looks at the store while following."""
APPEAR_WAIT = 10.0
"""Seconds ``follow`` waits for a run that is not in the store yet (just started elsewhere)."""
ORPHAN_CHECK = 2.0
"""Seconds between two looks, while following, for runs whose gitloop process is gone."""


class RunLog:
    """The log of run ``name``, optionally only the lines of pipeline task ``task``."""

    def __init__(
        self,
        store: Store,
        name: str,
        *,
        task: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self.name = name
        self._task = task
        self._sleep = sleep
        self._clock = clock
        self.last_seq = 0
        self.outcome: str | None = None
        """``"True"`` or ``"False"`` (Tekton's ``Succeeded`` status) once the run is seen ended."""

    def lines(self) -> Iterator[LogLine]:
        """The lines kept so far; ``UsageError`` if there is no such run."""
        if self._status() is None and next(iter(self._store.read_log(self.name, limit=1)), None) is None:
            raise UsageError(f"no run named {self.name!r} in the store")
        yield from self._after_last()

    def follow(self, poll: float = FOLLOW_POLL) -> Iterator[LogLine]:
        """The lines kept so far, then new ones as they are written, until the run ends."""
        deadline = self._clock() + APPEAR_WAIT
        while (status := self._status()) is None:
            if next(iter(self._store.read_log(self.name, limit=1)), None) is not None:
                break
            if self._clock() >= deadline:
                raise UsageError(f"no run named {self.name!r} in the store")
            self._sleep(poll)
        orphans_checked = self._clock()
        while True:
            yield from self._after_last()  # read after the status: nothing written before it is missed
            if status in ("True", "False"):
                self.outcome = status
                return
            self._sleep(poll)
            if self._clock() - orphans_checked >= ORPHAN_CHECK:
                interrupt_orphans(self._store)
                orphans_checked = self._clock()
            status = self._status()

    def _after_last(self) -> Iterator[LogLine]:
        for line in self._store.read_log(self.name, after_seq=self.last_seq):
            self.last_seq = line.seq
            if self._task is None or line.source.split("/", 1)[0] == self._task:
                yield line

    def _status(self) -> str | None:
        """The run's ``Succeeded`` status (``"Unknown"`` while it runs), ``None`` if no record."""
        for kind in (PIPELINE_RUN, TASK_RUN):
            found = self._store.get(kind, self.name)
            if found is None:
                continue
            manifest = found.doc.get("manifest")
            status = manifest.get("status") if isinstance(manifest, dict) else None
            conditions = status.get("conditions") if isinstance(status, dict) else None
            first = conditions[0] if isinstance(conditions, list) and conditions else {}
            return str(first.get("status", "Unknown")) if isinstance(first, dict) else "Unknown"
        return None
