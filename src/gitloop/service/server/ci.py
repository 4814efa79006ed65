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

A run carries its link in the lineage (``RunSource``) from its launch to its end, so the lineage
records its hops without looking it up by name (only a run queued by a previous process is looked
up, when it is resumed). ``cancel`` ends a queued run at once as ``Cancelled`` (it never starts) and
asks a running one's driver to cancel it (``Interruption.cancel``), under the pool's lock so a worker
taking the run at that moment cannot miss it; ``rerun`` queues a copy of a run's resource under a
new name (``gitloop.pipeline.rerun``), linked to the same source commit.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitloop.errors import GitloopError, UsageError
from gitloop.lineage import Lineage, RunSource
from gitloop.pipeline import reasons as R
from gitloop.pipeline.cancel import RunPhase, cancel_status, cancelled_resource, not_started, run_phase
from gitloop.pipeline.driver import Interruption
from gitloop.pipeline.records import (
    LISTENER_LABEL,
    PARENT_LABEL,
    QUEUED_LABEL,
    find_run,
    is_pending,
    record_not_started,
    record_pending,
)
from gitloop.pipeline.rerun import new_suffix, rerun_name, rerun_resource, stored_resource
from gitloop.pipeline.state import PipelineRunState, TaskRunState
from gitloop.ports import Store, StoredObject
from gitloop.service import pipelines
from gitloop.service.server.engines import LAUNCHABLE_KINDS, Conflict, NotFound

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
    source: RunSource | None = None

    @property
    def name(self) -> str:
        return str(self.resource["metadata"]["name"])


class RunPool:
    """``max_parallel`` daemon worker threads shared by every listener's launcher."""

    def __init__(self, max_parallel: int) -> None:
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queued: dict[str, _Job] = {}
        self._running: dict[str, Interruption] = {}
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
            self._queued[job.name] = job
        self._queue.put(job)

    def in_flight(self) -> int:
        with self._lock:
            return len(self._queued) + len(self._running)

    def cancel(self, name: str, status: str, otherwise: Callable[[_Job | None], RunPhase]) -> RunPhase | None:
        """Ask the run ``name`` to cancel with ``status`` if a worker holds it (``None``); else, under the
        pool's lock (no worker takes it meanwhile), ``otherwise(its queued job)`` decides."""
        with self._lock:
            interruption = self._running.get(name)
            if interruption is None:
                return otherwise(self._queued.get(name))
        interruption.cancel(status)
        return None

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            interruption = Interruption()
            with self._lock:
                self._queued.pop(job.name, None)
                if self._draining:
                    continue  # stays Pending in the store; the next start resumes it
                self._running[job.name] = interruption
            try:
                job.launcher.run(job.resource, interruption, source=job.source)
            except Exception:  # a run's failure must never stop the worker
                log.exception("run %s failed unexpectedly", job.name)
            finally:
                with self._lock:
                    self._running.pop(job.name, None)
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
            still = list(self._running.values())
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


RunEnded = Callable[[str, Mapping[str, Any], RunSource | None], None]
"""``(run name, its Tekton-shaped manifest, its link in the lineage)`` of a run that ended."""


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
        self.finished: list[RunEnded] = []
        """Told of every run that ended (after the lineage), from the thread that ended it."""

    def _ended(
        self, name: str, manifest: Mapping[str, Any], finished: float, source: RunSource | None
    ) -> None:
        self._lineage.record_run_finished(name, manifest, finished=finished, source=source)
        for listener in self.finished:
            listener(name, manifest, source or self._lineage.run_source(name))

    # -- PipelineLauncher ------------------------------------------------------------------------

    def launch(self, resource: dict[str, Any], *, event_id: str, source: RunSource | None = None) -> str:
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
        self._queue(resource, event_id, source)
        return name

    def cancel(self, name: str, status: str | None = None) -> str:
        record = self._record(name)
        wanted = cancel_status(record.kind, status)

        def unless_held(job: _Job | None) -> RunPhase:
            found = self._store.get(record.kind, name)
            phase = run_phase(found) if found is not None else "finished"
            if found is not None and phase == "queued":
                resource = job.resource if job is not None else found.doc.get("resource")
                self._cancel_queued(found, resource, wanted, job.source if job is not None else None)
            return phase

        phase = self._pool.cancel(name, wanted, unless_held)
        if phase is None:  # held by a worker: unless it has just finished, its driver cancels it
            found = self._store.get(record.kind, name)
            phase = "finished" if found is not None and run_phase(found) == "finished" else None
        if phase == "finished":
            raise Conflict(f"{record.kind} {name!r} has finished already")
        if phase == "running":
            raise Conflict(f"{record.kind} {name!r} is run by another gitloop process: cancel it there")
        log.info("%s %s: cancel asked (%s)", record.kind, name, wanted)
        return wanted

    def rerun(self, name: str) -> str:
        record = self._record(name)
        try:
            resource = stored_resource(record)
        except GitloopError as exc:
            raise Conflict(str(exc)) from exc
        new = rerun_name(name, new_suffix())
        event_id = f"rerun:{name}"
        try:
            source = self._lineage.record_rerun(name, new, event_id=event_id, started=self._clock())
        except GitloopError as exc:  # losing a lineage record must not lose the run
            log.warning("lineage of %s not recorded: %s", new, exc)
            source = None
        self.launch(rerun_resource(resource, new, of=name), event_id=event_id, source=source)
        log.info("%s %s: rerun as %s", record.kind, name, new)
        return new

    def in_flight(self) -> int:
        return self._pool.in_flight()

    def resume(self) -> list[str]:
        names: list[str] = []
        for kind in LAUNCHABLE_KINDS:
            labels = {QUEUED_LABEL: "true", LISTENER_LABEL: self.listener}
            for record in reversed(self._store.query(kind, labels=labels)):
                resource = record.doc.get("resource")
                if isinstance(resource, dict):  # queued by a previous process: its link is looked up
                    self._pool.submit(_Job(self, resource, self._lineage.run_source(record.name)))
                    names.append(record.name)
        return names

    def drain(self, grace: float, force: threading.Event | None = None) -> int:
        return self._pool.drain(grace, force)

    # -- the work --------------------------------------------------------------------------------

    def _record(self, name: str) -> StoredObject:
        """The record of the run ``name`` (``NotFound``); a PipelineRun's TaskRun is refused."""
        record = find_run(self._store, name)
        if record is None:
            raise NotFound(f"no run named {name!r}")
        parent = record.labels.get(PARENT_LABEL)
        if parent:
            raise Conflict(f"TaskRun {name!r} belongs to PipelineRun {parent!r}: cancel or rerun that")
        return record

    def _queue(self, resource: dict[str, Any], event_id: str, source: RunSource | None) -> None:
        record_pending(self._store, resource, event_id=event_id, listener=self.listener, now=self._clock())
        try:
            self._pool.submit(_Job(self, resource, source))
        except GitloopError:
            self._store.delete(str(resource["kind"]), str(resource["metadata"]["name"]))
            raise

    def _cancel_queued(
        self, record: StoredObject, resource: object, status: str, source: RunSource | None
    ) -> None:
        """End a queued run ``Cancelled`` before it starts (a worker taking it later skips it)."""
        kind, name = record.kind, record.name
        reason, message = not_started(kind, name)
        kept = resource if isinstance(resource, dict) else {"kind": kind, "metadata": {"name": name}}
        listener = record.labels.get(LISTENER_LABEL, self.listener)
        self._fail(cancelled_resource(kept, status), reason, message, source, listener=listener)

    def _fail(
        self,
        resource: dict[str, Any],
        reason: str,
        message: str,
        source: RunSource | None,
        *,
        listener: str | None = None,
    ) -> None:
        now = self._clock()
        manifest = record_not_started(
            self._store, resource, listener=listener or self.listener, reason=reason, message=message, now=now
        )
        name = str(resource["metadata"]["name"])
        self._ended(name, manifest, now, source)

    def run(
        self,
        resource: dict[str, Any],
        interruption: Interruption | None = None,
        *,
        source: RunSource | None = None,
    ) -> None:
        """Prepare and execute one run (in a worker thread), to its end or to ``interruption``;
        ``source`` is its link in the lineage."""
        kind, name = str(resource["kind"]), str(resource["metadata"]["name"])
        if not is_pending(self._store, kind, name):
            return  # started (and recorded) by another process already, or cancelled while queued
        self._lineage.record_run_started(name, time_started=self._clock(), source=source)
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
                self._fail(resource, reason, str(exc), source)
            else:
                record = self._store.get(kind, name)
                manifest = record.doc.get("manifest") if record else None
                self._ended(name, manifest if isinstance(manifest, dict) else {}, self._clock(), source)
            log.warning("%s %s could not start: %s", kind, name, exc)
            return
        result = pipelines.execute(
            prepared, _QuietView(name), handle_signals=False, interruption=interruption
        )
        self._ended(name, result.manifest, self._clock(), source)
        log.info("%s %s finished: %s", kind, name, result.condition.reason)
