"""DORA's four keys from deployments and failure signals, per Application and per environment, over a
window. Pure: :class:`Deployment` and :class:`Failure` records come in (read from the store by
:mod:`.dora_records`), a :class:`DoraReport` comes out. How each figure is computed: ``docs/dora.md``.

- deployment frequency: deployments (a sync that reached Synced and Healthy at a new revision) in the
  window, per day;
- lead time for changes: source commit time → Healthy, median and p90 (nearest rank);
- change failure rate: deployments followed within ``failure_window`` (before the next deployment) by a
  failed sync, degraded health, a rollback or a revert, over all deployments;
- time to restore: from the first such failure to the next Healthy deployment (or successful
  rollback), median.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_FAILURE_WINDOW = 3600.0
CAUSES = ("sync-failed", "degraded", "rollback", "revert")


@dataclass(frozen=True)
class Deployment:
    """An Application reached Synced and Healthy at ``revision`` at ``healthy_at``. ``committed_at`` is
    its source commit's time (``None``: the config commit names no source commit). ``counted`` is false
    for a rollback's re-deployment of a known revision: it restores service but is no new deployment."""

    app: str
    revision: str
    healthy_at: float
    committed_at: float | None = None
    counted: bool = True


@dataclass(frozen=True)
class Failure:
    """A failure signal of ``app`` at ``at``: one of :data:`CAUSES`."""

    app: str
    at: float
    cause: str
    revision: str = ""


@dataclass
class _Outcome:
    """What one Application's records give in the window: the lists the figures are computed from."""

    deployments: int = 0
    lead_times: list[float] = field(default_factory=list)
    failed: int = 0
    causes: dict[str, int] = field(default_factory=dict)
    restores: list[float] = field(default_factory=list)
    unrestored: int = 0

    def add(self, other: _Outcome) -> None:
        self.deployments += other.deployments
        self.lead_times += other.lead_times
        self.failed += other.failed
        for cause, count in other.causes.items():
            self.causes[cause] = self.causes.get(cause, 0) + count
        self.restores += other.restores
        self.unrestored += other.unrestored


@dataclass(frozen=True)
class Figures:
    """DORA's figures of one Application or environment; ``None`` where there is nothing to compute from."""

    name: str
    deployments: int
    deployment_frequency_per_day: float
    lead_time_median: float | None
    lead_time_p90: float | None
    lead_time_count: int
    failed_deployments: int
    change_failure_rate: float | None
    failure_causes: dict[str, int]
    time_to_restore_median: float | None
    restores: int
    unrestored: int
    applications: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "deployments": self.deployments,
            "deploymentFrequencyPerDay": self.deployment_frequency_per_day,
            "leadTime": {
                "median": self.lead_time_median,
                "p90": self.lead_time_p90,
                "count": self.lead_time_count,
            },
            "failedDeployments": self.failed_deployments,
            "changeFailureRate": self.change_failure_rate,
            "failureCauses": dict(self.failure_causes),
            "timeToRestore": {
                "median": self.time_to_restore_median,
                "restores": self.restores,
                "unrestored": self.unrestored,
            },
        }
        if self.applications:
            out["applications"] = list(self.applications)
        return out


@dataclass(frozen=True)
class DoraReport:
    """The figures per Application and per environment over ``[since, until)``."""

    since: float
    until: float
    failure_window: float
    applications: list[Figures]
    environments: list[Figures]

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "until": self.until,
            "failureWindowSeconds": self.failure_window,
            "applications": [f.to_dict() for f in self.applications],
            "environments": [f.to_dict() for f in self.environments],
        }


def environment_of(app: str) -> str:
    """An Application's environment: its name's suffix after the last ``-`` (``web-prod`` → ``prod``),
    or the whole name when it has none."""
    head, sep, tail = app.rpartition("-")
    return tail if sep and head and tail else app


def median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def nearest_rank(values: Sequence[float], quantile: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least ``quantile`` of them at or below."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(quantile * len(ordered)) - 1)])


def _outcome(
    deployments: Sequence[Deployment],
    failures: Sequence[Failure],
    since: float,
    until: float,
    window: float,
) -> _Outcome:
    """One Application's outcome: each failure goes to the last deployment Healthy at or before it, if
    within ``window`` of it; a failed deployment is restored by the next Healthy (re-)deployment."""
    deploys = sorted(deployments, key=lambda d: d.healthy_at)
    counted = [d for d in deploys if d.counted]
    first_failure: dict[int, Failure] = {}
    for failure in sorted(failures, key=lambda f: f.at):
        before = [i for i, d in enumerate(counted) if d.healthy_at <= failure.at]
        if not before:
            continue
        index = before[-1]
        if failure.at - counted[index].healthy_at <= window:
            first_failure.setdefault(index, failure)
    out = _Outcome()
    for index, deploy in enumerate(counted):
        if not since <= deploy.healthy_at < until:
            continue
        out.deployments += 1
        if deploy.committed_at is not None:
            out.lead_times.append(max(0.0, deploy.healthy_at - deploy.committed_at))
        first = first_failure.get(index)
        if first is None:
            continue
        out.failed += 1
        out.causes[first.cause] = out.causes.get(first.cause, 0) + 1
        restored = next((d.healthy_at for d in deploys if d.healthy_at > first.at), None)
        if restored is None:
            out.unrestored += 1
        else:
            out.restores.append(restored - first.at)
    return out


def _figures(name: str, outcome: _Outcome, days: float, apps: tuple[str, ...] = ()) -> Figures:
    return Figures(
        name=name,
        deployments=outcome.deployments,
        deployment_frequency_per_day=outcome.deployments / days if days > 0 else 0.0,
        lead_time_median=median(outcome.lead_times),
        lead_time_p90=nearest_rank(outcome.lead_times, 0.9),
        lead_time_count=len(outcome.lead_times),
        failed_deployments=outcome.failed,
        change_failure_rate=outcome.failed / outcome.deployments if outcome.deployments else None,
        failure_causes=dict(sorted(outcome.causes.items())),
        time_to_restore_median=median(outcome.restores),
        restores=len(outcome.restores),
        unrestored=outcome.unrestored,
        applications=apps,
    )


def compute(
    deployments: Iterable[Deployment],
    failures: Iterable[Failure],
    *,
    since: float,
    until: float,
    failure_window: float = DEFAULT_FAILURE_WINDOW,
    environment: Callable[[str], str] = environment_of,
) -> DoraReport:
    """DORA's figures over ``[since, until)`` per Application and per environment (``environment``
    names an Application's). Every Application with a record is listed, with zeros when it has none in
    the window. An environment's figures pool its Applications' deployments, lead times and restores."""
    by_app: dict[str, tuple[list[Deployment], list[Failure]]] = {}
    for deploy in deployments:
        by_app.setdefault(deploy.app, ([], []))[0].append(deploy)
    for failure in failures:
        by_app.setdefault(failure.app, ([], []))[1].append(failure)
    days = (until - since) / 86400.0
    apps: list[Figures] = []
    envs: dict[str, tuple[_Outcome, list[str]]] = {}
    for name in sorted(by_app):
        outcome = _outcome(*by_app[name], since, until, failure_window)
        apps.append(_figures(name, outcome, days))
        pooled, members = envs.setdefault(environment(name), (_Outcome(), []))
        pooled.add(outcome)
        members.append(name)
    environments = [_figures(env, pooled, days, tuple(m)) for env, (pooled, m) in sorted(envs.items())]
    return DoraReport(since, until, failure_window, apps, environments)


def select(report: DoraReport, *, app: str | None = None, env: str | None = None) -> DoraReport:
    """``report`` narrowed to one Application and/or one environment."""
    apps = [f for f in report.applications if app is None or f.name == app]
    envs = [f for f in report.environments if env is None or f.name == env]
    if env is not None:
        members = {m for f in envs for m in f.applications}
        apps = [f for f in apps if f.name in members]
    if app is not None:
        envs = [f for f in envs if app in f.applications]
    return DoraReport(report.since, report.until, report.failure_window, apps, envs)
