"""What ``/metrics`` shows of Applications, PipelineRuns and DORA, as plain metric families the API's
registry renders (``gitloop.api.metrics``). Composition: it reads the CD engine's current statuses, the
events :class:`AppEvents` counted from the engine's status listeners, and the store.

- ``argocd_app_info`` (gauge, 1 per Application) from the engine's current statuses, as Argo CD's;
- ``argocd_app_sync_total`` (counter), ``argocd_app_sync_duration_seconds_total`` (seconds of the
  operations that Succeeded, as Argo CD's), ``argocd_app_reconcile`` (histogram of every refresh, Argo
  CD's buckets) and ``gitloop_app_health_transitions_total`` from :class:`AppEvents`: counted since the
  server started, as Argo CD's controller counts;
- git and Kubernetes API requests (``argocd_git_request_total``,
  ``argocd_git_request_duration_seconds``, ``argocd_app_k8s_request_total``,
  ``gitloop_k8s_request_duration_seconds``) from the adapters' reports
  (:mod:`gitloop.service.server.observations`);
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
from gitloop.service.server.observations import (
    K8S_LABELS,
    OBSERVED,
    RECONCILE_BUCKETS,
    Observations,
    Tally,
    repo_label,
)
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


def tallied(tally: Tally) -> Histogram:
    """A :class:`Tally`'s observations as a histogram sample."""
    return Histogram(tally.buckets, tally.cumulative(), tally.count, tally.total)


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
    """The ``argocd_app_info`` label values of an Argo CD-shaped Application (``repo`` without
    credentials)."""
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
        repo_label(str((sources[0] if sources else {}).get("repoURL", ""))),
        str((status.get("sync") or {}).get("status", "")),
        str((status.get("health") or {}).get("status", "")),
        "sync" if operation.get("phase") in ("Running", "Terminating") else "",
    )


class AppEvents:
    """Sync operations ended (and the seconds of those that Succeeded) and health transitions, counted
    from the engine's status listener (every status change, in order), and every refresh's duration
    (:meth:`reconciled`, from the engine's refresh listener). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._health: dict[str, str] = {}
        self._operations: set[str] = set()
        self.syncs: dict[tuple[str, str, str, str, str], int] = {}
        """``(name, namespace, project, phase, dest_server)`` → operations ended."""
        self.transitions: dict[tuple[str, str, str], int] = {}
        """``(name, from, to)`` → health changes."""
        self.sync_seconds: dict[tuple[str, str, str, str], float] = {}
        """``(namespace, name, project, dest_server)`` → seconds of the operations that Succeeded."""
        self.reconciles: dict[tuple[str, str], Tally] = {}
        """``(namespace, dest_server)`` → refresh durations."""

    def reconciled(self, app: Application | None, seconds: float) -> None:
        """One refresh of ``app`` took ``seconds``."""
        if app is None:
            return
        key = (app.namespace, app.destination.server or app.destination.name)
        with self._lock:
            tally = self.reconciles.get(key)
            if tally is None:
                tally = self.reconciles[key] = Tally(RECONCILE_BUCKETS)
            tally.add(seconds)

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
            if operation.phase == "Succeeded" and operation.finished_at is not None:
                took = max(0.0, operation.finished_at - operation.started_at)
                timed = (app.namespace, app.name, app.project, destination)
                self.sync_seconds[timed] = self.sync_seconds.get(timed, 0.0) + took

    def families(self) -> list[Family]:
        with self._lock:
            syncs, transitions = dict(self.syncs), dict(self.transitions)
            seconds = dict(self.sync_seconds)
            reconciles = {key: tally.copy() for key, tally in self.reconciles.items()}
        return [
            Family(
                "argocd_app_reconcile",
                "Application reconciliation performance in seconds",
                "histogram",
                ("namespace", "dest_server"),
                [(k, tallied(v)) for k, v in sorted(reconciles.items())],
            ),
            Family(
                "argocd_app_sync_duration_seconds",
                "Application sync performance in seconds (operations that Succeeded)",
                "counter",
                ("namespace", "name", "project", "dest_server"),
                [(k, v) for k, v in sorted(seconds.items())],
            ),
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


def observed_families(observations: Observations) -> list[Family]:
    """Git and Kubernetes API requests, as the adapters reported them."""
    git = sorted(observations.git_requests().items())
    empty = ("", "", "")  # the Application labels: no one Application's reconciliation
    return [
        Family(
            "argocd_git_request",
            "Number of git requests performed",
            "counter",
            ("repo", "request_type"),
            [(k, float(v.count)) for k, v in git],
        ),
        Family(
            "argocd_git_request_duration_seconds",
            "Git requests duration seconds",
            "histogram",
            ("repo", "request_type"),
            [(k, tallied(v)) for k, v in git],
        ),
        Family(
            "argocd_app_k8s_request",
            "Number of Kubernetes requests executed",
            "counter",
            ("namespace", "name", "project", *K8S_LABELS),
            [((*empty, *k), float(v)) for k, v in sorted(observations.k8s_requests().items())],
        ),
        Family(
            "gitloop_k8s_request_duration_seconds",
            "Kubernetes API requests duration seconds (to the response's headers), by server and verb",
            "histogram",
            ("server", "verb"),
            [(k, tallied(v)) for k, v in sorted(observations.k8s_seconds().items())],
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
    loop's thread), ``events`` counts its engine's events, ``observations`` its adapters' requests
    (this process's by default); the store's families are read again at most every ``refresh_every``
    seconds (:meth:`refresh`, in a worker thread)."""

    def __init__(
        self,
        store: Store,
        *,
        applications: Callable[[], list[Mapping[str, Any]]] | None = None,
        events: AppEvents | None = None,
        observations: Observations | None = OBSERVED,
        refresh_every: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._applications = applications
        self._events = events
        self._observations = observations
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
        observed = observed_families(self._observations) if self._observations is not None else []
        return [info, *(self._events.families() if self._events is not None else []), *observed, *cached]


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
