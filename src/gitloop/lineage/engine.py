"""The lineage engine: records each hop of a change as it is seen and reads a source commit's chain
back, over the :class:`~gitloop.ports.Store` port. Thread-safe (the store is)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from gitloop.errors import UsageError
from gitloop.lineage.records import (
    DEPLOY_KIND,
    MIN_PREFIX,
    PIPELINE_RUN_KIND,
    POST_SYNC,
    RUN_KIND,
    SOURCE_KIND,
    RunSource,
    SourcePush,
    finished_hop,
    owner,
    parse_time,
    run_results,
)
from gitloop.lineage.trace import Trace, build_trace
from gitloop.model.trailers import (
    TRAILER_FILE,
    TRAILER_IMAGE,
    TRAILER_PIPELINERUN,
    TRAILER_SOURCE_COMMIT,
    parse_trailers,
)
from gitloop.ports import Store


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

    def _index(
        self, source: str, repo: str = "", ref: str = "", facts: Mapping[str, object] | None = None
    ) -> None:
        """Index ``source`` the first time it is seen; the commit's ``facts`` (message, author) are
        added to an index that lacks them (one made from a config commit's trailer has none)."""
        if not self._once(("index", source)) and not facts:
            return
        found = self.store.get(SOURCE_KIND, source)
        if found is None:
            doc: dict[str, object] = {"commit": source, "repo": repo, "ref": ref, "firstSeen": self._clock()}
            doc.update(facts or {})
            self.store.put(SOURCE_KIND, source, doc, labels={"repo": repo[:200]} if repo else None)
        elif facts and not found.doc.get("message") and not found.doc.get("authorName"):
            updated: dict[str, object] = {**found.doc, **facts}
            if repo and not found.doc.get("repo"):
                updated.update({"repo": repo, "ref": ref})
                self.store.put(SOURCE_KIND, source, updated, labels={"repo": repo[:200]})
            else:
                self.store.put(SOURCE_KIND, source, updated)

    # -- recording ------------------------------------------------------------------------------

    def record_push(
        self, push: SourcePush, *, runs: list[str], listener: str, event_id: str, received: float
    ) -> RunSource | None:
        """A push webhook started ``runs`` for ``push.commit``; the link the runs carry to their end
        (``None`` without a commit)."""
        if not push.commit:
            return None
        facts = push.commit_facts()
        self._index(push.commit, push.repo, push.ref, facts)
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
        self._append(push.commit, {**doc, **facts})
        for run in runs:
            self.store.put(RUN_KIND, run, {"source": push.commit, "eventId": event_id})
            self._append(
                push.commit, {"hop": "pipelinerun", "time": received, "run": run, "eventId": event_id}
            )
        return RunSource(push.commit)

    def record_post_sync(
        self, source: str, *, app: str, run: str, revision: str, operation: str, started: float
    ) -> RunSource | None:
        """The post-sync pipeline ``run`` of ``app`` was started after its sync to ``revision``; the
        link the run carries to its end (``None`` without a source commit)."""
        if not source:
            return None
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
        return RunSource(source, POST_SYNC, app)

    def run_source(self, run: str) -> RunSource | None:
        """The recorded link of ``run`` (its source commit, hop prefix and Application), looked up by
        name: for a run this process did not launch (one queued or left running by another)."""
        found = self.store.get(RUN_KIND, run)
        source = str(found.doc.get("source", "")) if found else ""
        if found is None or not source:
            return None
        if found.doc.get("trigger") == POST_SYNC:
            return RunSource(source, POST_SYNC, str(found.doc.get("app", "")))
        return RunSource(source)

    def record_rerun(self, of: str, run: str, *, event_id: str, started: float) -> RunSource | None:
        """``run`` was started again as a copy of ``of``: it is linked to the same source commit (and
        Application), with a hop naming the run it reruns; the link it carries (``None``: ``of`` has no
        source commit)."""
        link = self.run_source(of)
        if link is None:
            return None
        doc: dict[str, object] = {"source": link.commit, "rerunOf": of}
        hop: dict[str, object] = {"hop": link.hop, "time": started, "run": run, "rerunOf": of}
        if link.hop == POST_SYNC:
            doc.update({"trigger": POST_SYNC, "app": link.app})
            hop["app"] = link.app
        else:
            doc["eventId"] = hop["eventId"] = event_id
        self.store.put(RUN_KIND, run, doc)
        self._append(link.commit, hop)
        return link

    def record_run_started(self, run: str, *, time_started: float, source: RunSource | None = None) -> None:
        """The launcher started ``run`` (after it waited for a slot). ``source`` is the link the run
        carries (:meth:`record_push`); without it, it is looked up by name (:meth:`run_source`)."""
        link = source or self.run_source(run)
        if link is not None:
            doc: dict[str, object] = {"hop": f"{link.hop}-started", "time": time_started, "run": run}
            if link.app:
                doc["app"] = link.app
            self._append(link.commit, doc)

    def record_run_finished(
        self,
        run: str,
        manifest: Mapping[str, Any],
        *,
        finished: float,
        source: RunSource | None = None,
    ) -> None:
        """``run`` ended; its results may name the image it built. ``source`` as for
        :meth:`record_run_started`."""
        link = source or self.run_source(run)
        if link is None:
            return
        doc = finished_hop(link.hop, run, manifest, finished)
        doc["results"] = {k: v for k, v in run_results(manifest).items() if isinstance(v, str)}
        if link.app:
            doc["app"] = link.app
        self._append(link.commit, doc)

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
        """A sync operation of ``app`` at ``revision`` ended; returns the linked source commit (``""``:
        none — the deployment is still recorded, for DORA, without a hop)."""
        source = self.record_config_commit(revision, message, repo=repo, committed=committed, via="sync")
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
        if not source:
            return ""
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
        if source:
            self._append(source, {"hop": "healthy", "time": healthy, "app": app, "revision": revision})
        return True

    def record_degraded(self, app: str, revision: str, *, degraded: float) -> bool:
        """``app`` turned Degraded at ``revision`` after it was Healthy there: the first time is kept on
        the deployment (a failure signal for DORA)."""
        key = f"{app}@{revision}"
        found = self.store.get(DEPLOY_KIND, key)
        if found is None or found.doc.get("healthyAt") is None or found.doc.get("degradedAt") is not None:
            return False
        if not self._once(("degraded", key)):
            return False
        self.store.put(DEPLOY_KIND, key, {**found.doc, "degradedAt": degraded})
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
