"""The server's ApplicationSets: who registered each, when each is reconciled, and the ports it runs on.

``AppSets`` holds the ApplicationSets by owner — ``api`` (``POST /api/v1/applicationsets``, kept in the
store as ``ApplicationSetSpec`` records and registered again at start), ``config`` (the serve config's
files) and ``app:<parent>`` (App of Apps children) — and runs the ``gitloop.appset`` controller for
each: at once when it is registered or changed, every ``requeueAfterSeconds`` of its git generators
(Argo CD's default: 180 s), every ``CLUSTER_INTERVAL`` seconds when it has a ``clusters`` generator,
and at once when a push webhook names one of its git generators' repository and revision
(``on_push``). Git is read through the server's git mirrors (``MirrorTree``), clusters through the
cluster registry, and Applications go to the CD engine (``EngineSink``) under ``appset:<name>``.
The two other sources are one call each: ``replace_owned(owner, appsets)`` and
``children(owner, manifests)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitloop.appset.controller import AppSetController, AppSetStatus, DesiredError, status_json
from gitloop.appset.ports import ClusterSource
from gitloop.errors import GitError, GitloopError, SpecError
from gitloop.git import MirrorCache, RepoCredentials, RepoCreds
from gitloop.gitops.engine import Engine
from gitloop.localinfra.paths import cache_dir
from gitloop.model.clusters import ClusterRef
from gitloop.model.resources import Manifest
from gitloop.model.selectors import parse_selector
from gitloop.ports import Store
from gitloop.service.server.engines import Conflict, NotFound, Push
from gitloop.service.server.observations import OBSERVED
from gitloop.service.server.pushhooks import matching_apps
from gitloop.spec import redact
from gitloop.spec.argocd import parse_apps_text
from gitloop.spec.argocd.applicationset import (
    ApplicationSet,
    ClusterGenerator,
    MatrixGenerator,
    MergeGenerator,
)
from gitloop.spec.redact import redact_strings

log = logging.getLogger("gitloop.appsets")

SPEC_KIND = "ApplicationSetSpec"
"""The store's record of an ApplicationSet created through the API (its document)."""
API_OWNER = "api"
CLUSTER_INTERVAL = 30.0
"""How often an ApplicationSet with a ``clusters`` generator is generated again (the registry may change)."""
_TICK = 1.0


class EngineSink:
    """``AppSink`` over the CD engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def owned(self, owner: str) -> list[str]:
        return self._engine.apps.owned(owner)

    def owner_of(self, name: str) -> str | None:
        return self._engine.apps.owner_of(name)

    def upsert(self, app: Any, owner: str) -> bool:
        return self._engine.upsert(app, owner=owner)

    async def delete(self, name: str, cascade: bool | None) -> None:
        await self._engine.delete(name, cascade=cascade)


class MirrorTree:
    """``GitTree`` over the server's git mirrors: a revision is fetched and resolved, its files exported
    once per commit under ``workdir``; the ``KEEP_EXPORTS`` most recently used exports are kept. Listing
    and reading happen under one lock, so an export is never removed while it is read (ApplicationSets
    are generated in threads)."""

    KEEP_EXPORTS = 16

    def __init__(self, mirrors: MirrorCache, workdir: Path) -> None:
        self._mirrors, self._workdir = mirrors, workdir
        self._exports: OrderedDict[tuple[str, str], Path] = OrderedDict()
        self._lock = threading.Lock()

    def _root(self, repo_url: str, sha: str) -> Path:
        key = (hashlib.sha256(repo_url.encode()).hexdigest()[:16], sha)
        found = self._exports.get(key)
        if found is not None:
            self._exports.move_to_end(key)
            return found
        dest = self._workdir / key[0] / sha
        if not dest.exists():
            self._mirrors.get(repo_url).export(sha, dest)
        self._exports[key] = dest
        while len(self._exports) > self.KEEP_EXPORTS:
            _, oldest = self._exports.popitem(last=False)
            shutil.rmtree(oldest, ignore_errors=True)
        return dest

    def files(self, repo_url: str, revision: str) -> tuple[str, list[str]]:
        mirror = self._mirrors.get(repo_url)
        mirror.fetch()
        sha = mirror.resolve(revision)
        with self._lock:
            root = self._root(repo_url, sha)
            return sha, sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())

    def read(self, repo_url: str, sha: str, path: str) -> bytes:
        with self._lock:
            root = self._root(repo_url, sha)
            target = (root / path).resolve()
            if not target.is_relative_to(root.resolve()) or not target.is_file():
                raise GitError(f"{path} is not a file of {sha[:12]}")
            return target.read_bytes()


class RegistryClusters:
    """``ClusterSource`` over a function listing the registered clusters (the registry's ``refs``)."""

    def __init__(self, refs: Callable[[], Sequence[ClusterRef]]) -> None:
        self._refs = refs

    def clusters(self) -> Sequence[ClusterRef]:
        return self._refs()


@dataclass
class _Entry:
    appset: ApplicationSet
    owner: str
    status: AppSetStatus | None = None
    due: float = 0.0


def _interval(appset: ApplicationSet) -> float:
    """Seconds until ``appset`` is generated again (infinite: only on change)."""
    waits = [float(g.requeue_after_seconds) for g in appset.git_generators() if g.requeue_after_seconds > 0]
    if _uses_clusters(appset.generators):
        waits.append(CLUSTER_INTERVAL)
    return min(waits, default=math.inf)


def _uses_clusters(generators: Iterable[Any]) -> bool:
    for gen in generators:
        if isinstance(gen, ClusterGenerator):
            return True
        if isinstance(gen, MatrixGenerator) and _uses_clusters((gen.first, gen.second)):
            return True
        if isinstance(gen, MergeGenerator) and _uses_clusters(gen.generators):
            return True
    return False


def refuse_url_passwords(appset: ApplicationSet) -> None:
    """``UsageError`` for an ApplicationSet the store would keep with a password in a URL."""
    redact.refuse_url_passwords(f"ApplicationSet {appset.name}", dict(appset.document))


def parse_appset(doc: Mapping[str, Any], source: str) -> ApplicationSet:
    """The one ApplicationSet of a plain document (``SpecError`` naming ``source`` otherwise)."""
    if doc.get("kind") != "ApplicationSet":
        raise SpecError(f"{source}: kind must be ApplicationSet, got {doc.get('kind')!r}")
    [found] = parse_apps_text(json.dumps(dict(doc)), source).appsets.values()
    return found


class AppSets:
    """Every ApplicationSet the server runs. ``start`` inside the server's event loop."""

    def __init__(
        self,
        engine: Engine,
        git: Any,
        clusters: ClusterSource,
        store: Store,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.controller = AppSetController(EngineSink(engine), git, clusters, clock=clock)
        self._engine = engine
        self._store, self._clock = store, clock
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> list[str]:
        """Register the ApplicationSets created through the API again, and start reconciling; their names."""
        restored = []
        for record in self._store.query(SPEC_KIND):
            try:
                appset = parse_appset(record.doc, f"{SPEC_KIND}/{record.name}")
            except SpecError as exc:
                log.warning("stored ApplicationSet %s not registered: %s", record.name, exc)
                continue
            self._entries[appset.name] = _Entry(appset, API_OWNER)
            restored.append(appset.name)
        self._loop = asyncio.create_task(self._run(), name="applicationsets")
        return restored

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None

    async def _run(self) -> None:
        while True:
            now = self._clock()
            for name in [n for n, e in self._entries.items() if e.due <= now]:
                try:
                    await self.reconcile(name)
                except Exception:  # one ApplicationSet's failure must not stop the others
                    log.exception("ApplicationSet %s: reconcile failed", name)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), _TICK)

    # -- reconciling ------------------------------------------------------------------------------

    async def reconcile(self, name: str) -> AppSetStatus:
        """Generate, render and apply the ApplicationSet ``name`` now (one at a time per name)."""
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            entry = self._entries.get(name)
            if entry is None:
                raise NotFound(f"ApplicationSet {name!r} not found")
            appset = entry.appset
            entry.due = self._clock() + _interval(appset)
            try:
                apps = await asyncio.to_thread(self.controller.desired, appset)
            except DesiredError as exc:
                status = self.controller.failed(appset, exc, entry.status)
                log.warning("ApplicationSet %s: nothing changed: %s", name, exc)
            else:
                status = await self.controller.apply(appset, apps, entry.status)
                if status.error:
                    log.warning("ApplicationSet %s: %s", name, status.error)
            if self._entries.get(name) is entry:
                entry.status = status
            for kind, names in (
                ("created", status.created),
                ("updated", status.updated),
                ("deleted", status.deleted),
            ):
                if names:
                    log.info("ApplicationSet %s %s %s", name, kind, ", ".join(names))
            return status

    def _schedule(self, name: str) -> None:
        entry = self._entries.get(name)
        if entry is not None:
            entry.due = 0.0
            self._wake.set()

    def on_push(self, push: Push) -> list[str]:
        """Reconcile soon every ApplicationSet whose git generator names the pushed repository and
        revision (Argo CD's webhook rule for Applications); their names."""
        sources = {
            name: [(g.repo_url, g.revision) for g in e.appset.git_generators()]
            for name, e in self._entries.items()
        }
        names = matching_apps(push, sources)
        for name in names:
            self._schedule(name)
        return names

    # -- who registers them -----------------------------------------------------------------------

    async def replace_owned(self, owner: str, appsets: Iterable[ApplicationSet]) -> list[str]:
        """Make ``owner``'s ApplicationSets exactly ``appsets``: new and changed ones are reconciled at once
        by the loop (this call does not wait for git), the ones no longer given are deleted with their
        Applications before it returns. A name another owner registered
        is not taken over; those names are returned (and logged)."""
        given = {a.name: a for a in appsets}
        refused = []
        for name, appset in given.items():
            entry = self._entries.get(name)
            if entry is not None and entry.owner != owner:
                refused.append(name)
                log.warning("ApplicationSet %s of %s refused: %s registered it", name, owner, entry.owner)
                continue
            self._put(appset, owner)
        for name in [n for n, e in self._entries.items() if e.owner == owner and n not in given]:
            await self._remove(name)
        return refused

    async def children(self, owner: str, manifests: Sequence[Manifest]) -> list[str]:
        """The App of Apps hook: the ApplicationSets among a parent's rendered ``manifests`` become
        ``owner``'s (``[]`` removes them all); the names refused."""
        found = [
            parse_appset(m, f"{owner} manifest ApplicationSet/{(m.get('metadata') or {}).get('name', '')}")
            for m in manifests
            if m.get("kind") == "ApplicationSet" and str(m.get("apiVersion", "")).startswith("argoproj.io/")
        ]
        return await self.replace_owned(owner, found)

    async def hook(self, owner: str, manifests: list[Manifest]) -> None:
        """``children`` for the CD engine's App of Apps hook: a child that does not validate changes
        nothing (logged) and does not fail the parent's sync."""
        try:
            refused = await self.children(owner, manifests)
        except GitloopError as exc:
            log.warning("%s: ApplicationSets not registered: %s", owner, exc)
            return
        if refused:
            log.warning(
                "%s: ApplicationSets refused (registered by another owner): %s", owner, ", ".join(refused)
            )

    def _put(self, appset: ApplicationSet, owner: str) -> bool:
        entry = self._entries.get(appset.name)
        if entry is not None and entry.appset.document == appset.document and entry.owner == owner:
            return False
        self._entries[appset.name] = _Entry(appset, owner, entry.status if entry is not None else None)
        self._wake.set()
        return True

    async def _remove(self, name: str) -> list[str]:
        entry = self._entries.pop(name, None)
        if entry is None:
            return []
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            failed = await self.controller.remove(entry.appset)
        if failed:
            log.warning("ApplicationSet %s deleted; Applications not deleted: %s", name, "; ".join(failed))
        return failed

    # -- the API ----------------------------------------------------------------------------------

    async def create(self, appset: ApplicationSet, *, upsert: bool) -> dict[str, Any]:
        """``POST /api/v1/applicationsets``: register ``appset`` (kept in the store) and reconcile it now."""
        refuse_url_passwords(appset)
        entry = self._entries.get(appset.name)
        if entry is not None:
            if entry.owner != API_OWNER:
                raise Conflict(
                    f"ApplicationSet {appset.name} is registered by {entry.owner}, not through the API"
                )
            if not upsert and entry.appset.document != appset.document:
                raise Conflict("existing ApplicationSet spec is different, use upsert flag to force update")
        self._store.put(SPEC_KIND, appset.name, dict(appset.document))
        self._put(appset, API_OWNER)
        await self.reconcile(appset.name)
        return self.shown(appset.name)

    async def delete(self, name: str) -> None:
        """``DELETE /api/v1/applicationsets/{name}``: forget it and delete its Applications."""
        entry = self._entries.get(name)
        if entry is None:
            raise NotFound(f"ApplicationSet {name!r} not found")
        if entry.owner != API_OWNER:
            raise Conflict(f"ApplicationSet {name} is registered by {entry.owner}; remove it from there")
        self._store.delete(SPEC_KIND, name)
        await self._remove(name)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def project_of(self, name: str) -> str | None:
        """The project of ``name``'s template, as written (``None``: no such ApplicationSet)."""
        entry = self._entries.get(name)
        if entry is None:
            return None
        return str((entry.appset.template.get("spec") or {}).get("project", ""))

    def status(self, name: str) -> AppSetStatus | None:
        entry = self._entries.get(name)
        return None if entry is None else entry.status

    def shown(self, name: str) -> dict[str, Any]:
        """The ApplicationSet ``name`` as Argo CD shows it: ``metadata``, ``spec`` as given (a URL password
        masked: one from a config file or an App of Apps parent is never shown), ``status``."""
        entry = self._entries.get(name)
        if entry is None:
            raise NotFound(f"ApplicationSet {name!r} not found")
        doc = dict(entry.appset.document)
        metadata = dict(doc.get("metadata") or {})
        metadata.setdefault("namespace", entry.appset.namespace)
        shown: dict[str, Any] = {
            "apiVersion": doc.get("apiVersion"),
            "kind": "ApplicationSet",
            "metadata": metadata,
            "spec": redact_strings(doc.get("spec")),
        }
        status = entry.status or AppSetStatus(
            applications=tuple(sorted(self.controller.sink.owned(entry.appset.owner)))
        )
        shown["status"] = status_json(status, self._resources(status.applications))
        return shown

    def _resources(self, names: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Each generated Application's namespace, sync status and health, as the CD engine knows them."""
        found: dict[str, dict[str, Any]] = {}
        for name in names:
            app = self._engine.apps.apps.get(name)
            if app is None:
                continue
            status = self._engine.status(name)
            health = {"status": status.health.status.value}
            if status.health.message:
                health["message"] = status.health.message
            found[name] = {"namespace": app.namespace, "status": status.sync_status.value, "health": health}
        return found

    def listed(self, *, projects: Sequence[str] = (), selector: str = "") -> dict[str, Any]:
        """``GET /api/v1/applicationsets``: every ApplicationSet (``projects``: whose template's project is
        one of them; ``selector``: a label selector on the ApplicationSet's labels)."""
        requirements = parse_selector(selector)
        items = []
        for name in self.names():
            appset = self._entries[name].appset
            project = str((appset.template.get("spec") or {}).get("project", ""))
            if projects and project not in projects:
                continue
            if not all(r.matches(appset.labels) for r in requirements):
                continue
            items.append(self.shown(name))
        return {"metadata": {}, "items": items}


async def start_appsets(
    engine: Engine,
    credentials: Sequence[RepoCreds],
    refs: Callable[[], Sequence[ClusterRef]],
    workdir: Path,
) -> AppSets:
    """The server's ``AppSets``, started: git through the mirrors under the cache directory with the serve
    config's repository ``credentials``, clusters from the registry's ``refs``, the App of Apps hook
    connected (a parent's ApplicationSets become ``app:<parent>``'s)."""
    mirrors = MirrorCache(cache_dir() / "mirrors", credentials=RepoCredentials(credentials), observe=OBSERVED)
    git = MirrorTree(mirrors, workdir)
    appsets = AppSets(engine, git, RegistryClusters(refs), engine.store)
    engine.appset_children.append(appsets.hook)
    restored = await appsets.start()
    if restored:
        log.info("ApplicationSets created through the API registered again: %s", ", ".join(restored))
    return appsets


__all__ = [
    "API_OWNER",
    "SPEC_KIND",
    "AppSets",
    "EngineSink",
    "MirrorTree",
    "RegistryClusters",
    "parse_appset",
    "start_appsets",
]
