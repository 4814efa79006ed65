"""Lineage: source commit → PipelineRun → image → config commit → sync operation → Healthy, timed.

Every hop is appended to the store's history of ``lineage/<source commit>`` (append-only, so
recorders never overwrite one another), as it is seen:

- ``push``: a webhook brought the source commit and a PipelineRun was started for it;
- ``pipelinerun``: the run was started (by a webhook) and ``pipelinerun-finished`` when it ended,
  with its Tekton results (``IMAGE_URL``, ``IMAGE_DIGEST``, ...);
- ``config-commit``: a commit of the config repository whose trailers (``Gitloop-Source-Commit``,
  ``Gitloop-PipelineRun``, ``Gitloop-Image``, written by the image handoff) name the source commit,
  seen in a push webhook of the config repository or when it was synced;
- ``sync``: a sync operation of an Application at that config commit ended;
- ``healthy``: the Application was first Synced and Healthy at that revision;
- ``post-sync``: the Application's post-sync pipeline was started after that sync, then
  ``post-sync-started`` and ``post-sync-finished`` (with its results) as the run went.

Records of kind ``LineageSource`` index the source commits (``gitloop trace`` accepts a prefix),
``LineageRun`` maps a PipelineRun to its source commit (and, for a post-sync pipeline, its
Application) and ``LineageDeploy`` (``<app>@<revision>``) a
deployed config commit to its source commit. ``trace`` reads the hops back, adds what the store
knows of the PipelineRuns, and computes the lead time for the change: from the commit (or, without
its time, from the push) to the first Healthy Application.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitloop.errors import UsageError
from gitloop.handoff.message import (
    TRAILER_FILE,
    TRAILER_IMAGE,
    TRAILER_PIPELINERUN,
    TRAILER_SOURCE_COMMIT,
    parse_trailers,
)
from gitloop.ports import Store

OWNER_PREFIX = "lineage/"
SOURCE_KIND = "LineageSource"
RUN_KIND = "LineageRun"
DEPLOY_KIND = "LineageDeploy"
PIPELINE_RUN_KIND = "PipelineRun"
MIN_PREFIX = 4
IMAGE_RESULTS = ("IMAGE_URL", "IMAGE", "image", "image-url")
DIGEST_RESULTS = ("IMAGE_DIGEST", "image-digest", "digest")

HOP_ORDER = (
    "commit",
    "push",
    "pipelinerun",
    "pipelinerun-started",
    "pipelinerun-finished",
    "config-commit",
    "sync",
    "healthy",
    "post-sync",
    "post-sync-started",
    "post-sync-finished",
)
POST_SYNC = "post-sync"


def owner(source: str) -> str:
    return f"{OWNER_PREFIX}{source}"


def parse_time(value: object) -> float | None:
    """Seconds since the epoch from a number or an RFC 3339 / ISO 8601 string."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value:
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.timestamp()
    return None


def run_results(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The results of a Tekton-shaped run (``status.results``, a list or a mapping)."""
    status = manifest.get("status")
    found = status.get("results") if isinstance(status, dict) else None
    if isinstance(found, dict):
        return dict(found)
    if isinstance(found, list):
        return {str(r["name"]): r.get("value") for r in found if isinstance(r, dict) and "name" in r}
    return {}


def run_condition(manifest: Mapping[str, Any]) -> dict[str, Any]:
    status = manifest.get("status")
    conditions = status.get("conditions") if isinstance(status, dict) else None
    if isinstance(conditions, list):
        for condition in conditions:
            if isinstance(condition, dict) and condition.get("type") == "Succeeded":
                return condition
    return {}


def image_of(results: Mapping[str, Any]) -> str:
    """``name@digest`` / ``name`` from the conventional image results of a build."""
    image = next((str(results[k]) for k in IMAGE_RESULTS if results.get(k)), "")
    digest = next((str(results[k]) for k in DIGEST_RESULTS if results.get(k)), "")
    if image and digest and "@" not in image:
        return f"{image}@{digest}"
    return image


@dataclass(frozen=True)
class SourcePush:
    """A source commit as a push webhook announced it."""

    commit: str
    repo: str = ""
    ref: str = ""
    committed_at: float | None = None


class Lineage:
    """Records hops and reads chains back. Thread-safe (the store is)."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: set[tuple[str, ...]] = set()

    def _once(self, key: tuple[str, ...]) -> bool:
        """``True`` the first time ``key`` is seen by this process (bounded memory)."""
        with self._lock:
            if key in self._seen:
                return False
            if len(self._seen) > 100_000:
                self._seen.clear()
            self._seen.add(key)
            return True

    def _append(self, source: str, doc: dict[str, object]) -> None:
        self.store.append_history(owner(source), doc)

    def _index(self, source: str, repo: str = "", ref: str = "") -> None:
        if self._once(("index", source)) and self.store.get(SOURCE_KIND, source) is None:
            doc: dict[str, object] = {"commit": source, "repo": repo, "ref": ref, "firstSeen": self._clock()}
            self.store.put(SOURCE_KIND, source, doc, labels={"repo": repo[:200]} if repo else None)

    # -- recording ------------------------------------------------------------------------------

    def record_push(
        self, push: SourcePush, *, runs: list[str], listener: str, event_id: str, received: float
    ) -> None:
        """A push webhook started ``runs`` for ``push.commit``."""
        if not push.commit:
            return
        self._index(push.commit, push.repo, push.ref)
        doc: dict[str, object] = {
            "hop": "push",
            "time": received,
            "commit": push.commit,
            "repo": push.repo,
            "ref": push.ref,
            "listener": listener,
            "eventId": event_id,
        }
        if push.committed_at is not None:
            doc["committedAt"] = push.committed_at
        self._append(push.commit, doc)
        for run in runs:
            self.store.put(RUN_KIND, run, {"source": push.commit, "eventId": event_id})
            self._append(
                push.commit, {"hop": "pipelinerun", "time": received, "run": run, "eventId": event_id}
            )

    def record_post_sync(
        self, source: str, *, app: str, run: str, revision: str, operation: str, started: float
    ) -> None:
        """The post-sync pipeline ``run`` of ``app`` was started after its sync to ``revision``."""
        if not source:
            return
        self._index(source)
        self.store.put(RUN_KIND, run, {"source": source, "trigger": POST_SYNC, "app": app})
        self._append(
            source,
            {
                "hop": POST_SYNC,
                "time": started,
                "app": app,
                "run": run,
                "revision": revision,
                "operation": operation,
            },
        )

    def _run_link(self, run: str) -> tuple[str, str, str]:
        """The source commit of ``run``, the hop prefix its hops use, and its Application (if any)."""
        found = self.store.get(RUN_KIND, run)
        if found is None:
            return "", "", ""
        post_sync = found.doc.get("trigger") == POST_SYNC
        return (
            str(found.doc.get("source", "")),
            POST_SYNC if post_sync else "pipelinerun",
            str(found.doc.get("app", "")) if post_sync else "",
        )

    def record_run_started(self, run: str, *, time_started: float) -> None:
        """The launcher started ``run`` (after it waited for a slot)."""
        source, prefix, app = self._run_link(run)
        if source:
            doc: dict[str, object] = {"hop": f"{prefix}-started", "time": time_started, "run": run}
            if app:
                doc["app"] = app
            self._append(source, doc)

    def record_run_finished(self, run: str, manifest: Mapping[str, Any], *, finished: float) -> None:
        """``run`` ended; its results may name the image it built."""
        source, prefix, app = self._run_link(run)
        if not source:
            return
        condition = run_condition(manifest)
        results = run_results(manifest)
        doc: dict[str, object] = {
            "hop": f"{prefix}-finished",
            "time": finished,
            "run": run,
            "status": str(condition.get("status", "")),
            "reason": str(condition.get("reason", "")),
            "results": {k: v for k, v in results.items() if isinstance(v, str)},
        }
        image = image_of(results)
        if image:
            doc["image"] = image
        if app:
            doc["app"] = app
        self._append(source, doc)

    def source_of_run(self, run: str) -> str:
        found = self.store.get(RUN_KIND, run)
        return str(found.doc.get("source", "")) if found else ""

    def record_config_commit(
        self, commit: str, message: str, *, repo: str, committed: float | None, via: str
    ) -> str:
        """A config commit; returns the source commit its trailers name (``""`` if none)."""
        trailers = parse_trailers(message)
        source = trailers.get(TRAILER_SOURCE_COMMIT, "")
        if not source or not commit or not self._once(("config", commit)):
            return source
        self._index(source)
        run = trailers.get(TRAILER_PIPELINERUN, "")
        if run and self.store.get(RUN_KIND, run) is None:
            self.store.put(RUN_KIND, run, {"source": source})
        self._append(
            source,
            {
                "hop": "config-commit",
                "time": committed if committed is not None else self._clock(),
                "commit": commit,
                "repo": repo,
                "image": trailers.get(TRAILER_IMAGE, ""),
                "file": trailers.get(TRAILER_FILE, ""),
                "pipelineRun": run,
                "seenVia": via,
                "seenAt": self._clock(),
            },
        )
        return source

    def record_sync(
        self,
        app: str,
        revision: str,
        message: str,
        *,
        repo: str,
        committed: float | None,
        operation: Mapping[str, Any],
    ) -> str:
        """A sync operation of ``app`` at ``revision`` ended; returns the linked source commit."""
        source = self.record_config_commit(revision, message, repo=repo, committed=committed, via="sync")
        if not source:
            return ""
        finished = parse_time(operation.get("finishedAt")) or self._clock()
        key = f"{app}@{revision}"
        if not self._once(("sync", key, str(operation.get("id", "")))):
            return source
        phase = str(operation.get("phase", ""))
        previous = self.store.get(DEPLOY_KIND, key)
        deploy: dict[str, object] = (
            dict(previous.doc) if previous else {"source": source, "app": app, "revision": revision}
        )
        deploy.update({"phase": phase, "syncedAt": finished})
        self.store.put(DEPLOY_KIND, key, deploy)
        self._append(
            source,
            {
                "hop": "sync",
                "time": finished,
                "app": app,
                "revision": revision,
                "operation": str(operation.get("id", "")),
                "phase": phase,
                "message": str(operation.get("message", ""))[:500],
                "startedAt": parse_time(operation.get("startedAt")),
            },
        )
        return source

    def record_healthy(self, app: str, revision: str, *, healthy: float) -> bool:
        """``app`` is Synced and Healthy at ``revision``: the first time after its sync is a hop."""
        key = f"{app}@{revision}"
        if not self._once(("healthy-check", key)):
            return False
        found = self.store.get(DEPLOY_KIND, key)
        if found is None or found.doc.get("healthyAt") is not None or found.doc.get("phase") != "Succeeded":
            with self._lock:
                self._seen.discard(("healthy-check", key))
            return False
        self.store.put(DEPLOY_KIND, key, {**found.doc, "healthyAt": healthy})
        source = str(found.doc.get("source", ""))
        self._append(source, {"hop": "healthy", "time": healthy, "app": app, "revision": revision})
        return True

    # -- reading --------------------------------------------------------------------------------

    def resolve(self, sha: str) -> str:
        """The full source commit for ``sha`` or a prefix of it; ``UsageError`` if unknown or ambiguous."""
        text = sha.strip().lower()
        if len(text) < MIN_PREFIX or any(c not in "0123456789abcdef" for c in text):
            raise UsageError(f"{sha!r} is not a commit SHA (at least {MIN_PREFIX} hexadecimal digits)")
        if self.store.get(SOURCE_KIND, text) is not None:
            return text
        matches = sorted({o.name for o in self.store.query(SOURCE_KIND) if o.name.startswith(text)})
        if not matches:
            raise UsageError(f"no lineage recorded for source commit {sha}")
        if len(matches) > 1:
            raise UsageError(f"{sha} is ambiguous: {', '.join(m[:12] for m in matches[:5])}")
        return matches[0]

    def trace(self, sha: str) -> Trace:
        """The chain of ``sha`` (a source commit or a prefix of one)."""
        source = self.resolve(sha)
        hops = [dict(entry.doc) for entry in self.store.history(owner(source))]
        index = self.store.get(SOURCE_KIND, source)
        return build_trace(source, hops, index.doc if index else {}, self._run_records(hops))

    def _run_records(self, hops: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        names = {str(h.get("run") or h.get("pipelineRun") or "") for h in hops} - {""}
        found: dict[str, dict[str, Any]] = {}
        for name in sorted(names):
            record = self.store.get(PIPELINE_RUN_KIND, name)
            manifest = record.doc.get("manifest") if record else None
            if isinstance(manifest, dict):
                found[name] = manifest
        return found


@dataclass(frozen=True)
class Trace:
    """One source commit's chain: hops in time order and the lead time for the change."""

    source: str
    repo: str
    hops: list[dict[str, Any]]
    lead_time: float | None
    """Seconds from the commit (or its push) to the first Healthy Application; ``None`` if not yet."""
    started_from: str
    """``commit`` or ``push``: where the lead time is counted from."""
    per_app: dict[str, float] = field(default_factory=dict)
    """Lead time to Healthy per Application."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "sourceCommit": self.source,
            "repo": self.repo,
            "hops": self.hops,
            "leadTime": self.lead_time,
            "leadTimeFrom": self.started_from,
            "leadTimeByApplication": self.per_app,
        }


def _run_hops(name: str, manifest: Mapping[str, Any], known: set[str]) -> list[dict[str, Any]]:
    """Hops of a run known only from its store record (it was not started by a webhook); a post-sync
    pipeline's are ``post-sync-started``/``-finished``."""
    status = manifest.get("status") if isinstance(manifest.get("status"), dict) else {}
    prefix = POST_SYNC if POST_SYNC in known else "pipelinerun"
    hops: list[dict[str, Any]] = []
    started = parse_time(status.get("startTime")) if isinstance(status, dict) else None
    finished = parse_time(status.get("completionTime")) if isinstance(status, dict) else None
    if started is not None and f"{prefix}-started" not in known:
        hops.append({"hop": f"{prefix}-started", "time": started, "run": name, "from": "store"})
    if finished is not None and f"{prefix}-finished" not in known:
        condition = run_condition(manifest)
        results = run_results(manifest)
        hop: dict[str, Any] = {
            "hop": f"{prefix}-finished",
            "time": finished,
            "run": name,
            "status": str(condition.get("status", "")),
            "reason": str(condition.get("reason", "")),
            "from": "store",
        }
        if image_of(results):
            hop["image"] = image_of(results)
        hops.append(hop)
    return hops


def build_trace(
    source: str,
    recorded: list[dict[str, Any]],
    index: Mapping[str, Any],
    runs: Mapping[str, Mapping[str, Any]],
) -> Trace:
    """Merge the recorded hops (duplicates dropped), add run hops from the store, compute lead times."""
    hops: list[dict[str, Any]] = []
    seen: set[tuple[str, ...]] = set()
    for hop in recorded:
        key: tuple[str, ...] = (
            str(hop.get("hop")),
            str(hop.get("run") or hop.get("commit") or ""),
            str(hop.get("app", "")),
        )
        if hop.get("hop") == "sync":
            key += (str(hop.get("operation", "")),)
        if key in seen:
            continue
        seen.add(key)
        hops.append(hop)
    for name, manifest in runs.items():
        known = {str(h.get("hop")) for h in hops if h.get("run") == name}
        hops.extend(_run_hops(name, manifest, known))
    committed = next((float(h["committedAt"]) for h in hops if h.get("committedAt") is not None), None)
    if committed is not None:
        hops.append({"hop": "commit", "time": committed, "commit": source})
    rank = {name: i for i, name in enumerate(HOP_ORDER)}
    hops.sort(key=lambda h: (float(h.get("time") or 0.0), rank.get(str(h.get("hop")), 99)))
    pushed = next((float(h["time"]) for h in hops if h.get("hop") == "push"), None)
    origin, started_from = (committed, "commit") if committed is not None else (pushed, "push")
    per_app: dict[str, float] = {}
    for hop in hops:
        if hop.get("hop") == "healthy" and origin is not None:
            per_app.setdefault(str(hop.get("app", "")), float(hop["time"]) - origin)
    lead = min(per_app.values()) if per_app else None
    repo = str(index.get("repo") or next((h.get("repo") for h in hops if h.get("hop") == "push"), "") or "")
    return Trace(source, repo, hops, lead, started_from if origin is not None else "", per_app)


def open_lineage(database_url: str | None = None) -> Lineage:
    """The lineage of the store at ``database_url`` (default: SQLite ``<state dir>/gitloop.db``)."""
    from gitloop.localinfra.paths import state_dir
    from gitloop.store import open_store

    if database_url:
        return Lineage(open_store(database_url))
    path = state_dir() / "gitloop.db"
    if not path.exists():
        raise UsageError(f"no store at {path}: nothing has been recorded yet (or give --database-url)")
    return Lineage(open_store(str(path)))
