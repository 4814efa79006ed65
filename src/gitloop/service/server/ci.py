"""The ``PipelineLauncher`` on the CI engine (``gitloop.service.pipelines``): runs in worker threads.

``launch`` records the run in the store at once as Pending (kind ``PipelineRun``/``TaskRun``, the
Tekton-shaped manifest with ``Succeeded=Unknown``, reason ``Pending``, and the rendered resource) and
queues it; one of ``max_parallel`` worker threads then prepares it — the resource, handed to the
engine as it is in memory, plus the listener's Pipeline/Task files — and executes it with the
configured executor, the engine persisting every change to the server's own store. A run that cannot be prepared (an unknown Pipeline, a bad param) is recorded as
Failed with the reason. Runs queued but not started when the server stops keep their Pending record
and are queued again by ``resume`` on the next start. Runs still running when the shutdown grace period
is over are interrupted (their steps stopped, the runs ended ``Interrupted``) before the server exits;
runs that were running when a server died are ended as ``Interrupted`` by the next gitloop that reads
them (``gitloop.service.interrupted``).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitloop.errors import GitloopError, UsageError
from gitloop.lineage import Lineage
from gitloop.pipeline import reasons as R
from gitloop.pipeline.driver import Interruption
from gitloop.pipeline.records import (
    LISTENER_LABEL,
    QUEUED_LABEL,
    is_pending,
    record_not_started,
    record_pending,
)
from gitloop.pipeline.state import PipelineRunState, TaskRunState
from gitloop.ports import Store
from gitloop.service import pipelines
from gitloop.service.server.engines import LAUNCHABLE_KINDS, Conflict

log = logging.getLogger(__name__)

INTERRUPT_WAIT = 30.0
"""Seconds a shutdown waits for interrupted runs to stop their steps and record their end."""


class _QuietView:
    """The engine's view of a run started by the server: logs are in the store; notices go to the log."""

    def __init__(self, name: str) -> None:
        self._name = name

    def log(self, source: str, line: str) -> None:
        return None

    def changed(self, state: PipelineRunState | TaskRunState) -> None:
        return None

    def notice(self, message: str) -> None:
        log.info("%s: %s", self._name, message)


@dataclass(frozen=True)
class _Job:
    launcher: PipelinesLauncher
    resource: dict[str, Any]


class RunPool:
    """``max_parallel`` daemon worker threads shared by every listener's launcher."""

    def __init__(self, max_parallel: int) -> None:
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queued = 0
        self._running: set[Interruption] = set()
        self._draining = False
        self._threads = [
            threading.Thread(target=self._work, name=f"gitloop-run-{i}", daemon=True)
            for i in range(max_parallel)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, job: _Job) -> None:
        with self._lock:
            if self._draining:
                raise GitloopError("the server is stopping: no new runs are started")
            self._queued += 1
        self._queue.put(job)

    def in_flight(self) -> int:
        with self._lock:
            return self._queued + len(self._running)

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            interruption = Interruption()
            with self._lock:
                self._queued -= 1
                if self._draining:
                    continue  # stays Pending in the store; the next start resumes it
                self._running.add(interruption)
            try:
                job.launcher.run(job.resource, interruption)
            except Exception:  # a run's failure must never stop the worker
                log.exception("run %s failed unexpectedly", job.resource.get("metadata", {}).get("name"))
            finally:
                with self._lock:
                    self._running.discard(interruption)
                    self._idle.notify_all()

    def _wait_idle(self, seconds: float, force: threading.Event | None = None) -> None:
        deadline = time.monotonic() + seconds
        while self._running and time.monotonic() < deadline and not (force and force.is_set()):
            self._idle.wait(min(0.2, max(0.0, deadline - time.monotonic())))

    def drain(self, grace: float, force: threading.Event | None = None) -> int:
        """Start nothing more; wait up to ``grace`` seconds (less once ``force`` is set) for running runs
        to end; then interrupt those still running (steps stopped, runs ended ``Interrupted``) and wait
        for that, up to ``INTERRUPT_WAIT`` seconds; how many were interrupted."""
        with self._lock:
            self._draining = True
            self._wait_idle(grace, force)
            still = list(self._running)
        forced = force is not None and force.is_set()
        cause = (
            "gitloop serve was told to stop at once"
            if forced
            else f"gitloop serve stopped and its shutdownGracePeriod ({grace:g}s) was over"
        )
        for interruption in still:
            interruption.request(cause)
        with self._lock:
            self._wait_idle(INTERRUPT_WAIT)
            left = len(self._running)
        if left:
            log.warning("%d interrupted run(s) did not end in %gs", left, INTERRUPT_WAIT)
        for _ in self._threads:
            self._queue.put(None)
        return len(still)


class PipelinesLauncher:
    """Launches the runs one EventListener creates, with the Pipelines and Tasks of ``pipeline_paths``."""

    def __init__(
        self,
        *,
        listener: str,
        store: Store,
        pipeline_paths: Sequence[Path],
        executor: str,
        pool: RunPool,
        lineage: Lineage,
        clock: Callable[[], float] = time.time,
        log_limit: int | None = None,
    ) -> None:
        self.listener = listener
        self._log_limit = log_limit
        self._store = store
        self._paths = tuple(pipeline_paths)
        self._executor = executor
        self._pool = pool
        self._lineage = lineage
        self._clock = clock

    # -- PipelineLauncher ------------------------------------------------------------------------

    def launch(self, resource: dict[str, Any], *, event_id: str) -> str:
        kind = str(resource.get("kind", ""))
        name = str((resource.get("metadata") or {}).get("name", ""))
        if kind not in LAUNCHABLE_KINDS:
            raise UsageError(
                f"cannot create a {kind or 'resource without kind'}: gitloop serve runs {LAUNCHABLE_KINDS}"
            )
        if not name:
            raise UsageError(f"the {kind} has no metadata.name")
        if self._store.get(kind, name) is not None:
            raise Conflict(f"{kind} {name!r} already exists")
        self._queue(resource, event_id)
        return name

    def in_flight(self) -> int:
        return self._pool.in_flight()

    def resume(self) -> list[str]:
        names: list[str] = []
        for kind in LAUNCHABLE_KINDS:
            labels = {QUEUED_LABEL: "true", LISTENER_LABEL: self.listener}
            for record in reversed(self._store.query(kind, labels=labels)):
                resource = record.doc.get("resource")
                if isinstance(resource, dict):
                    self._pool.submit(_Job(self, resource))
                    names.append(record.name)
        return names

    def drain(self, grace: float, force: threading.Event | None = None) -> int:
        return self._pool.drain(grace, force)

    # -- the work --------------------------------------------------------------------------------

    def _queue(self, resource: dict[str, Any], event_id: str) -> None:
        record_pending(self._store, resource, event_id=event_id, listener=self.listener, now=self._clock())
        try:
            self._pool.submit(_Job(self, resource))
        except GitloopError:
            self._store.delete(str(resource["kind"]), str(resource["metadata"]["name"]))
            raise

    def _fail(self, resource: dict[str, Any], reason: str, message: str) -> None:
        now = self._clock()
        manifest = record_not_started(
            self._store, resource, listener=self.listener, reason=reason, message=message, now=now
        )
        self._lineage.record_run_finished(str(resource["metadata"]["name"]), manifest, finished=now)

    def run(self, resource: dict[str, Any], interruption: Interruption | None = None) -> None:
        """Prepare and execute one run (in a worker thread), to its end or to ``interruption``."""
        kind, name = str(resource["kind"]), str(resource["metadata"]["name"])
        if not is_pending(self._store, kind, name):
            return  # started (and recorded) by another process already
        self._lineage.record_run_started(name, time_started=self._clock())
        request = pipelines.RunRequest(
            files=self._paths,
            resources=[resource],
            executor=self._executor,
            store=self._store,
            labels={LISTENER_LABEL: self.listener},  # the runner's labels are put by every run
        )
        if self._log_limit is not None:  # serve's logs.maxBytesPerStep, else the default
            request.log_limit = self._log_limit
        try:
            prepared = (
                pipelines.prepare_pipeline_run(request)
                if kind == "PipelineRun"
                else pipelines.prepare_task_run(request)
            )
        except GitloopError as exc:
            if is_pending(self._store, kind, name):  # the engine did not record why
                reason = R.PR_COULDNT_GET_PIPELINE if kind == "PipelineRun" else R.TR_VALIDATION_FAILED
                self._fail(resource, reason, str(exc))
            else:
                record = self._store.get(kind, name)
                manifest = record.doc.get("manifest") if record else None
                self._lineage.record_run_finished(
                    name, manifest if isinstance(manifest, dict) else {}, finished=self._clock()
                )
            log.warning("%s %s could not start: %s", kind, name, exc)
            return
        result = pipelines.execute(
            prepared, _QuietView(name), handle_signals=False, interruption=interruption
        )
        self._lineage.record_run_finished(name, result.manifest, finished=self._clock())
        log.info("%s %s finished: %s", kind, name, result.condition.reason)
