"""The loop's timeline, read from a ``gitloop trace`` (pure: no I/O here).

``describe`` says what one hop of the trace was, as the demo prints it live; ``loop_times`` cuts one
source commit's way to a Healthy Application into the legs of its critical path:

1. ``git push → webhook received``: the post-receive hook announcing the push (when the push time is known);
2. ``webhook → PipelineRun started``: trigger, record, queue, start;
3. ``PipelineRun → config commit``: the pipeline until its image handoff pushed (tests and build included);
4. ``config commit → sync started``: refresh webhook, fetch, render, diff, auto-sync decision;
5. ``sync``: the sync operation (server-side apply);
6. ``sync → Healthy``: the cluster rolling the Deployment out, seen through the watch.

The app's own time (its tests and image build, taken from the TaskRuns' step times) is subtracted to
give gitloop's overhead, with and without the cluster's rollout.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

OWN_TASKS = ("test", "build")
"""The pipeline tasks whose steps are the app's own work (its unit tests, its image build)."""


def _short(value: object) -> str:
    return str(value or "")[:7]


def hop_time(hop: Mapping[str, Any]) -> float:
    """When a hop happened on this machine's clock: a config commit counts when gitloop saw it (its
    commit time has one-second resolution), every other hop at its own time."""
    seen = hop.get("seenAt") if hop.get("hop") == "config-commit" else None
    return float(seen if seen is not None else hop.get("time") or 0.0)


def describe(hop: Mapping[str, Any]) -> str:
    """One hop, in words."""
    kind = str(hop.get("hop", ""))
    run = str(hop.get("run", ""))
    app = str(hop.get("app", ""))
    if kind == "commit":
        return f"commit {_short(hop.get('commit'))} made"
    if kind == "push":
        return f"push of {_short(hop.get('commit'))} received by EventListener {hop.get('listener', '')}"
    if kind == "pipelinerun":
        return f"PipelineRun {run} queued"
    if kind == "pipelinerun-started":
        return f"PipelineRun {run} started"
    if kind == "pipelinerun-finished":
        image = f": image {hop['image']}" if hop.get("image") else ""
        return f"PipelineRun {run} {hop.get('reason') or hop.get('status', '')}{image}"
    if kind == "config-commit":
        where = f" in {hop['file']}" if hop.get("file") else ""
        return f"config commit {_short(hop.get('commit'))} sets {hop.get('image', '')}{where}"
    if kind == "sync":
        return f"{app} synced to {_short(hop.get('revision'))}: {hop.get('phase', '')}"
    if kind == "healthy":
        return f"{app} Healthy at {_short(hop.get('revision'))}"
    if kind == "post-sync":
        return f"{app} post-sync pipeline {run} queued"
    if kind == "post-sync-started":
        return f"post-sync pipeline {run} started"
    if kind == "post-sync-finished":
        return f"post-sync pipeline {run} {hop.get('reason') or hop.get('status', '')}"
    return kind


def hop_key(hop: Mapping[str, Any]) -> tuple[str, ...]:
    """Identifies a hop among the trace's (the same hop may be read many times)."""
    return (
        str(hop.get("hop", "")),
        str(hop.get("run") or hop.get("commit") or ""),
        str(hop.get("app", "")),
        str(hop.get("operation", "")),
    )


def ordered(hops: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(hops, key=hop_time)


def offset(at: float, origin: float) -> str:
    return f"+{at - origin:8.3f}s"


@dataclass(frozen=True)
class Leg:
    name: str
    seconds: float


@dataclass(frozen=True)
class LoopTimes:
    """One source commit's way to a Healthy Application, in legs (seconds)."""

    app: str
    legs: tuple[Leg, ...]
    total: float
    """From the push (or, without its time, the webhook) to Healthy."""
    own: float
    """The app's own tests and image build."""
    rollout: float
    """The cluster rolling the Deployment out (sync finished → Healthy)."""
    webhook_to_run: float

    @property
    def overhead(self) -> float:
        """gitloop's part: the total without the app's own work."""
        return self.total - self.own

    @property
    def overhead_without_rollout(self) -> float:
        return self.total - self.own - self.rollout

    def lines(self) -> list[str]:
        width = max(len(leg.name) for leg in self.legs)
        out = [f"  {leg.name:<{width}}  {leg.seconds:7.3f}s" for leg in self.legs]
        out.append(f"  {'push → ' + self.app + ' Healthy':<{width}}  {self.total:7.3f}s")
        out.append(f"  {'  the app’s own tests and build':<{width}}  {self.own:7.3f}s")
        out.append(f"  {'  gitloop’s overhead':<{width}}  {self.overhead:7.3f}s")
        out.append(f"  {'  … without the cluster’s rollout':<{width}}  {self.overhead_without_rollout:7.3f}s")
        return out


def own_time(task_runs: Iterable[Mapping[str, Any]]) -> float:
    """Seconds the steps of the ``OWN_TASKS`` TaskRuns ran (``state`` docs of the store's TaskRuns)."""
    total = 0.0
    for state in task_runs:
        if state.get("pipeline_task") not in OWN_TASKS:
            continue
        for step in state.get("steps") or ():
            started, finished = step.get("started"), step.get("finished")
            if isinstance(started, int | float) and isinstance(finished, int | float):
                total += max(0.0, float(finished) - float(started))
    return total


def _first(hops: list[Mapping[str, Any]], kind: str, **fields: str) -> Mapping[str, Any] | None:
    for hop in hops:
        if hop.get("hop") == kind and all(str(hop.get(k, "")) == v for k, v in fields.items()):
            return hop
    return None


def loop_times(
    trace: Mapping[str, Any], *, app: str, own: float, pushed_at: float | None = None
) -> LoopTimes | None:
    """The legs of the way to ``app`` Healthy; ``None`` until the trace has every hop of it."""
    hops: list[Mapping[str, Any]] = ordered(trace.get("hops") or ())
    push = _first(hops, "push")
    sync = next(
        (h for h in hops if h.get("hop") == "sync" and h.get("app") == app and h.get("phase") == "Succeeded"),
        None,
    )
    if push is None or sync is None:
        return None
    revision = str(sync.get("revision", ""))
    config = _first(hops, "config-commit", commit=revision)
    healthy = _first(hops, "healthy", app=app, revision=revision)
    run_name = str((config or {}).get("pipelineRun", ""))
    started = _first(hops, "pipelinerun-started", run=run_name) if run_name else None
    if config is None or healthy is None or started is None:
        return None
    received = hop_time(push)
    origin = pushed_at if pushed_at is not None else received
    sync_started = float(sync.get("startedAt") or hop_time(sync))
    legs = [
        Leg("webhook → PipelineRun started", hop_time(started) - received),
        Leg("PipelineRun → config commit pushed", hop_time(config) - hop_time(started)),
        Leg("config commit → sync started", sync_started - hop_time(config)),
        Leg("sync (apply)", hop_time(sync) - sync_started),
        Leg("sync → Healthy (rollout)", hop_time(healthy) - hop_time(sync)),
    ]
    if pushed_at is not None:
        legs.insert(0, Leg("git push → webhook received", received - pushed_at))
    return LoopTimes(
        app=app,
        legs=tuple(legs),
        total=hop_time(healthy) - origin,
        own=own,
        rollout=hop_time(healthy) - hop_time(sync),
        webhook_to_run=hop_time(started) - received,
    )


def clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at)) + f".{int(at * 1000) % 1000:03d}"
