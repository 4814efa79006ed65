"""What ``/metrics`` shows of Applications, PipelineRuns and DORA, as plain metric families the API's
registry renders (``gitloop.api.metrics``). Composition: it reads the CD engine's current statuses, the
events :class:`AppEvents` counted from the engine's status listeners, and the store.

- ``argocd_app_info`` (gauge, 1 per Application) from the engine's current statuses, as Argo CD's;
- ``argocd_app_sync_total`` (counter) and ``gitloop_app_health_transitions_total`` from
  :class:`AppEvents`: counted since the server started, as Argo CD's controller counts;
- ``gitloop_pipelinerun_total{status}``, ``gitloop_pipelinerun_duration_seconds{status}``,
  ``gitloop_taskrun_total{status}`` and ``gitloop_pipelinerun_queue_depth`` from the runs the store
  keeps, and the DORA gauges (``gitloop.service.dora`` over the last 30 days): read at scrape time, at
  most once per ``refresh_every`` seconds (a minute).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gitloop.gitops.query import AppQuery
from gitloop.gitops.status import AppStatus
from gitloop.lineage.records import parse_time, run_condition
from gitloop.pipeline.records import PIPELINE_RUN, QUEUED_LABEL, TASK_RUN
from gitloop.ports import Store
from gitloop.service.dora import dora_report
from gitloop.spec.argocd import Application

if TYPE_CHECKING:
    from gitloop.service.server.runtime import Server

DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
DORA_WINDOW = 30 * 86400.0
INFO_LABELS = (
    "name",
    "namespace",
    "project",
    "dest_server",
    "dest_namespace",
    "repo",
    "sync_status",
    "health_status",
    "operation",
)


@dataclass(frozen=True)
class Histogram:
    """Cumulative counts per upper bound of ``DURATION_BUCKETS`` (then ``+Inf`` = ``count``), and the sum."""

    buckets: tuple[float, ...]
    cumulative: tuple[int, ...]
    count: int
    total: float


@dataclass(frozen=True)
class Family:
    """One metric family: ``kind`` is ``gauge``, ``counter`` (its name without ``_total``) or
    ``histogram``; each sample is label values (in ``labels``' order) and a number or a histogram."""

    name: str
    help: str
    kind: str
    labels: tuple[str, ...]
    samples: list[tuple[tuple[str, ...], float | Histogram]] = field(default_factory=list)


def histogram(values: Sequence[float], buckets: Sequence[float] = DURATION_BUCKETS) -> Histogram:
    cumulative = tuple(sum(1 for v in values if v <= bound) for bound in buckets)
    return Histogram(tuple(buckets), cumulative, len(values), float(sum(values)))


def run_status(manifest: Mapping[str, Any]) -> str:
    """A finished run's ``status`` label, as Tekton's metrics name it: ``success``, ``failed`` or
    ``cancelled``; ``""`` while it runs or waits."""
    condition = run_condition(manifest)
    if condition.get("status") == "True":
        return "success"
    if condition.get("status") == "False":
        return "cancelled" if "Cancel" in str(condition.get("reason", "")) else "failed"
    return ""


def app_info(item: Mapping[str, Any]) -> tuple[str, ...]:
    """The ``argocd_app_info`` label values of an Argo CD-shaped Application."""
    metadata = item.get("metadata") or {}
    spec = item.get("spec") or {}
    status = item.get("status") or {}
    destination = spec.get("destination") or {}
    sources = spec.get("sources") or [spec.get("source") or {}]
    operation = status.get("operationState") or {}
    return (
        str(metadata.get("name", "")),
        str(metadata.get("namespace", "")),
        str(spec.get("project", "")),
        str(destination.get("server") or destination.get("name") or ""),
        str(destination.get("namespace", "")),
        str((sources[0] if sources else {}).get("repoURL", "")),
        str((status.get("sync") or {}).get("status", "")),
        str((status.get("health") or {}).get("status", "")),
        "sync" if operation.get("phase") in ("Running", "Terminating") else "",
    )


class AppEvents:
    """Sync operations ended and health transitions, counted from the engine's status listener (every
    status change, in order). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._health: dict[str, str] = {}
        self._operations: set[str] = set()
        self.syncs: dict[tuple[str, str, str, str, str], int] = {}
        """``(name, namespace, project, phase, dest_server)`` → operations ended."""
        self.transitions: dict[tuple[str, str, str], int] = {}
        """``(name, from, to)`` → health changes."""

    def observe(self, app: Application | None, status: AppStatus) -> None:
        health = status.health.status.value
        operation = status.operation
        with self._lock:
            before = self._health.get(status.name)
            self._health[status.name] = health
            if before is not None and before != health:
                key = (status.name, before, health)
                self.transitions[key] = self.transitions.get(key, 0) + 1
            if operation is None or not operation.completed or operation.dry_run or app is None:
                return
            if operation.id in self._operations:
                return
            if len(self._operations) > 100_000:
                self._operations.clear()
            self._operations.add(operation.id)
            destination = app.destination.server or app.destination.name
            sync = (app.name, app.namespace, app.project, str(operation.phase), destination)
            self.syncs[sync] = self.syncs.get(sync, 0) + 1

    def families(self) -> list[Family]:
        with self._lock:
            syncs, transitions = dict(self.syncs), dict(self.transitions)
        return [
            Family(
                "argocd_app_sync",
                "Sync operations ended, by phase (since the server started)",
                "counter",
                ("name", "namespace", "project", "phase", "dest_server"),
                [(k, float(v)) for k, v in sorted(syncs.items())],
            ),
            Family(
                "gitloop_app_health_transitions",
                "Health status changes of Applications (since the server started)",
                "counter",
                ("name", "from", "to"),
                [(k, float(v)) for k, v in sorted(transitions.items())],
            ),
        ]


def run_families(store: Store) -> list[Family]:
    """PipelineRun and TaskRun counts and durations by status, and the runs queued, from the store."""
    durations: dict[str, list[float]] = {}
    for record in store.query(PIPELINE_RUN):
        manifest = record.doc.get("manifest")
        status = run_status(manifest) if isinstance(manifest, dict) else ""
        if status:
            found = manifest.get("status") if isinstance(manifest, dict) else None
            times = found if isinstance(found, dict) else {}
            started, ended = parse_time(times.get("startTime")), parse_time(times.get("completionTime"))
            took = max(0.0, ended - started) if started is not None and ended is not None else 0.0
            durations.setdefault(status, []).append(took)
    tasks: dict[str, int] = {}
    for record in store.query(TASK_RUN):
        manifest = record.doc.get("manifest")
        status = run_status(manifest) if isinstance(manifest, dict) else ""
        if status:
            tasks[status] = tasks.get(status, 0) + 1
    queued = len(store.query(PIPELINE_RUN, labels={QUEUED_LABEL: "true"}))
    return [
        Family(
            "gitloop_pipelinerun",
            "PipelineRuns ended, by status",
            "counter",
            ("status",),
            [((s,), float(len(v))) for s, v in sorted(durations.items())],
        ),
        Family(
            "gitloop_pipelinerun_duration_seconds",
            "PipelineRun durations (start to completion), by status",
            "histogram",
            ("status",),
            [((s,), histogram(v)) for s, v in sorted(durations.items())],
        ),
        Family(
            "gitloop_taskrun",
            "TaskRuns ended, by status",
            "counter",
            ("status",),
            [((s,), float(n)) for s, n in sorted(tasks.items())],
        ),
        Family(
            "gitloop_pipelinerun_queue_depth", "PipelineRuns queued, not started", "gauge", (), [((), queued)]
        ),
    ]


def dora_families(store: Store, now: float) -> list[Family]:
    """DORA's figures per Application over the last 30 days (absent figures are left out)."""
    report = dora_report(store, since=now - DORA_WINDOW, until=now)
    frequency = Family(
        "gitloop_dora_deployment_frequency_per_day", "Deployments per day (30 days)", "gauge", ("app",)
    )
    lead = Family(
        "gitloop_dora_lead_time_seconds",
        "Lead time for changes, source commit to Healthy (30 days)",
        "gauge",
        ("app", "quantile"),
    )
    failure = Family("gitloop_dora_change_failure_ratio", "Change failure rate (30 days)", "gauge", ("app",))
    restore = Family(
        "gitloop_dora_time_to_restore_seconds", "Median time to restore (30 days)", "gauge", ("app",)
    )
    for figures in report.applications:
        frequency.samples.append(((figures.name,), figures.deployment_frequency_per_day))
        for quantile, value in (("0.5", figures.lead_time_median), ("0.9", figures.lead_time_p90)):
            if value is not None:
                lead.samples.append(((figures.name, quantile), value))
        if figures.change_failure_rate is not None:
            failure.samples.append(((figures.name,), figures.change_failure_rate))
        if figures.time_to_restore_median is not None:
            restore.samples.append(((figures.name,), figures.time_to_restore_median))
    return [frequency, lead, failure, restore]


class MetricsFeed:
    """The families of one server: ``applications`` lists its Argo CD-shaped Applications (in the event
    loop's thread), ``events`` counts its engine's events; the store's families are read again at most
    every ``refresh_every`` seconds (:meth:`refresh`, in a worker thread)."""

    def __init__(
        self,
        store: Store,
        *,
        applications: Callable[[], list[Mapping[str, Any]]] | None = None,
        events: AppEvents | None = None,
        refresh_every: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._applications = applications
        self._events = events
        self._every = refresh_every
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: list[Family] = []
        self._read_at: float | None = None

    def refresh(self) -> None:
        """Read the store's families again unless they were read less than ``refresh_every`` ago."""
        now = self._clock()
        with self._lock:
            if self._read_at is not None and now - self._read_at < self._every:
                return
            before, self._read_at = self._read_at, now  # one reader at a time; the lock is not held
        try:
            found = run_families(self._store) + dora_families(self._store, now)
        except BaseException:
            with self._lock:
                self._read_at = before
            raise
        with self._lock:
            self._cached = found

    def families(self) -> list[Family]:
        info = Family("argocd_app_info", "Information about Applications", "gauge", INFO_LABELS)
        for item in self._applications() if self._applications is not None else []:
            info.samples.append((app_info(item), 1.0))
        with self._lock:
            cached = list(self._cached)
        return [info, *(self._events.families() if self._events is not None else []), *cached]


def feed_of(server: Server) -> MetricsFeed:
    """The feed of a running server: its CD engine's Applications and events (none without
    Applications) and its store."""
    refresher = server.apps
    if refresher is None:
        return MetricsFeed(server.store, clock=server.clock)
    events = getattr(refresher, "app_events", None)

    def applications() -> list[Mapping[str, Any]]:
        return list(refresher.list_applications(AppQuery()).get("items") or [])

    return MetricsFeed(
        server.store,
        applications=applications,
        events=events if isinstance(events, AppEvents) else None,
        clock=server.clock,
    )
