"""Reads DORA's records from a store: the lineage's deployments (``LineageDeploy``: first Healthy and
first Degraded per ``<app>@<revision>``, and the source commit's time) and every Application's sync
history (failed syncs, rollbacks, reverts), then computes the report with :mod:`gitloop.lineage.dora`.
Composition: it joins the lineage engine's records with the GitOps engine's history."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gitloop.errors import UsageError
from gitloop.gitops import operation as op
from gitloop.gitops.history import history_owner
from gitloop.lineage.dora import DEFAULT_FAILURE_WINDOW, Deployment, DoraReport, Failure, compute, select
from gitloop.lineage.records import DEPLOY_KIND, SOURCE_KIND, owner, parse_time
from gitloop.ports import Store
from gitloop.spec.duration import parse_span

FAILED_PHASES = frozenset({"Failed", "Error"})
_REVERT = re.compile(r'^Revert "|^This reverts commit [0-9a-f]{7,}', re.MULTILINE)


def parse_window(text: str, *, flag: str = "--failure-window") -> float:
    """The failure window in seconds (a duration such as ``1h`` or ``2d``); ``UsageError`` otherwise."""
    try:
        seconds = parse_span(text)
    except ValueError as exc:
        raise UsageError(f"{flag} {text!r}: expected a duration such as 1h, 30m or 2d") from exc
    if seconds <= 0:
        raise UsageError(f"{flag} {text!r}: must be longer than 0")
    return seconds


def is_revert(message: str) -> bool:
    """Whether a config commit's message is a ``git revert`` (its subject or its body line)."""
    return bool(_REVERT.search(message))


def _source_time(store: Store, source: str, cache: dict[str, float | None]) -> float | None:
    """The source commit's time (else when its push was received, else when it was first seen)."""
    if source in cache:
        return cache[source]
    hops = [entry.doc for entry in store.history(owner(source))]
    found = next((parse_time(h.get("committedAt")) for h in hops if h.get("committedAt") is not None), None)
    if found is None:
        found = next((parse_time(h.get("time")) for h in hops if h.get("hop") == "push"), None)
    if found is None:
        index = store.get(SOURCE_KIND, source)
        found = parse_time(index.doc.get("firstSeen")) if index else None
    cache[source] = found
    return found


def _history_records(app: str, entries: list[Mapping[str, Any]]) -> tuple[list[Deployment], list[Failure]]:
    """Failure signals in one Application's sync history, and its successful rollbacks as restores."""
    restores: list[Deployment] = []
    failures: list[Failure] = []
    for doc in entries:
        phase = str(doc.get("phase", ""))
        revision = str(doc.get("revision", ""))
        started = parse_time(doc.get("startedAt"))
        finished = parse_time(doc.get("finishedAt"))
        commit = doc.get("sourceCommit")
        message = str(commit.get("message", "")) if isinstance(commit, Mapping) else ""
        if phase in FAILED_PHASES and finished is not None:
            failures.append(Failure(app, finished, "sync-failed", revision))
        if doc.get("rollbackOf") is not None and started is not None:
            failures.append(Failure(app, started, "rollback", revision))
            if phase == "Succeeded" and finished is not None:
                restores.append(Deployment(app, revision, finished, counted=False))
        elif message and is_revert(message) and started is not None:
            failures.append(Failure(app, started, "revert", revision))
    return restores, failures


def records(store: Store) -> tuple[list[Deployment], list[Failure]]:
    """Every Application's deployments and failure signals recorded in ``store``."""
    deployments: list[Deployment] = []
    failures: list[Failure] = []
    sources: dict[str, float | None] = {}
    apps: set[str] = set()
    for record in store.query(DEPLOY_KIND):
        doc = record.doc
        app, revision = str(doc.get("app", "")), str(doc.get("revision", ""))
        if not app:
            continue
        apps.add(app)
        healthy = parse_time(doc.get("healthyAt"))
        if healthy is None:
            continue
        source = str(doc.get("source", ""))
        committed = _source_time(store, source, sources) if source else None
        deployments.append(Deployment(app, revision, healthy, committed))
        degraded = parse_time(doc.get("degradedAt"))
        if degraded is not None:
            failures.append(Failure(app, degraded, "degraded", revision))
    apps |= {str(r.labels.get("app") or r.name) for r in store.query(op.STORE_KIND)}
    for app in sorted(apps):
        restores, found = _history_records(app, [e.doc for e in store.history(history_owner(app))])
        deployments += restores
        failures += found
    return deployments, failures


def dora_report(
    store: Store,
    *,
    since: float,
    until: float,
    app: str | None = None,
    env: str | None = None,
    failure_window: float = DEFAULT_FAILURE_WINDOW,
) -> DoraReport:
    """DORA's figures of the store's records over ``[since, until)``, narrowed to ``app``/``env``."""
    deployments, failures = records(store)
    report = compute(deployments, failures, since=since, until=until, failure_window=failure_window)
    return select(report, app=app, env=env)
