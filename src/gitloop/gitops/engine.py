"""The CD engine composed: the only module that wires its parts, as gitops-engine's ``pkg/engine`` does.

``Engine(apps, sources, view_for, store)`` wires the ``Refresher`` (git → manifests → comparison →
status), the sync ``Driver`` (plan, drive, retry, record), the ``Reconciler`` (statuses, auto-sync,
one operation per Application) and the ``Loop`` (when to refresh), and is what every face uses: the
CLI's ``gitloop app ...`` and ``gitloop serve``. A sync request has one type from the face to the
driver (``SyncRequest``); its hops are ``Engine.start_sync`` → ``Reconciler.start`` → ``Driver.run``.

The set of Applications is live (``gitloop.gitops.applications``): ``upsert`` registers or replaces
one, ``delete`` removes one with Argo CD's deletion rules (``gitloop.gitops.deletion``); the
``changes`` listeners hear ``ADDED``/``MODIFIED``/``DELETED``. App of Apps (``gitloop.gitops.appofapps``,
``gitloop.gitops.parents``): a parent's sync registers its children through ``replace_owned``; a
child's status change refreshes its parent; a cascading deletion of a parent deletes its children,
one without cascade leaves them registered, still owned ``app:<parent>`` (an Application of that name
adopts them again); ``appset_children`` hooks hear a parent's ApplicationSets.

The adapters are the caller's: git mirrors and the renderer behind ``ManifestSource``, the clusters
behind ``view_for``, the ``Store``. The caller closes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from gitloop.errors import SpecError, SyncError, UsageError
from gitloop.gitops import apiobjects, appofapps, deletion, resource, tree
from gitloop.gitops.applications import API_OWNER, CONFIG_OWNER, SPEC_KIND, Applications, document
from gitloop.gitops.comparison import Comparison
from gitloop.gitops.driver import Driver
from gitloop.gitops.loop import Loop
from gitloop.gitops.observe import ClusterView
from gitloop.gitops.operation import SyncOperation, SyncRequest
from gitloop.gitops.parents import AppSetHook, Parents
from gitloop.gitops.reconciler import Reconciler, Settings
from gitloop.gitops.refresh import Refreshed, Refresher, ViewFor
from gitloop.gitops.source import ManifestSource
from gitloop.gitops.status import AppStatus, Condition, ConditionType
from gitloop.gitops.windows import WindowState
from gitloop.model.health import HealthStatus
from gitloop.model.resources import Manifest
from gitloop.model.sync import SyncStatus
from gitloop.ports import HistoryEntry, Store
from gitloop.spec.argocd import Application, AppProject, AppSet, parse_apps_text
from gitloop.spec.redact import redact_strings

__all__ = ["Engine", "Owned", "Settings"]

_log = logging.getLogger(__name__)


@dataclass
class Owned:
    """What ``Engine.replace_owned`` did: names created, changed, deleted, kept (``prune`` off), refused
    (registered by another owner), and the deletions that failed (name → reason)."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


class Engine:
    """The CD engine over one set of Applications."""

    def __init__(
        self,
        apps: AppSet | Applications,
        sources: ManifestSource,
        view_for: ViewFor,
        store: Store,
        *,
        settings: Settings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.apps = apps if isinstance(apps, Applications) else Applications(apps, owner=CONFIG_OWNER)
        self.sources, self.store = sources, store
        self.settings = settings or Settings()
        self._clock = clock
        self.parents = Parents(self.apps, self.status, self.replace_owned)
        self.refresher = Refresher(
            sources,
            view_for,
            self.apps.project,
            options=self.settings.compare,
            clock=clock,
            children=self.parents.compare,
        )
        driver = Driver(
            self.refresher,
            store,
            wave_delay=self.settings.wave_delay,
            poll=self.settings.driver_poll,
            clock=clock,
            children=self.parents,
        )
        self.reconciler = Reconciler(
            self.apps, self.refresher, driver, store, settings=self.settings, clock=clock
        )
        self.loop = Loop(self.reconciler)
        self.listeners = self.reconciler.listeners
        """Called with every status that changed (beyond its reconcile time), after it is stored."""
        self.refreshed = self.reconciler.refreshed
        """Called after every refresh, changed or not, with the seconds it took (for metrics)."""
        self.appset_children: list[AppSetHook] = self.parents.appset_children
        """Called with ``(owner, manifests)``: the ApplicationSets in a parent's manifests when it syncs."""
        self.listeners.append(self._child_changed)
        self.changes: list[Callable[[Application, str], None]] = []
        """Called with ``(application, event)`` when the set of Applications changes: ``ADDED``, ``MODIFIED``
        (its spec) or ``DELETED`` — the event types of Argo CD's Application watch."""

    # -- reading ----------------------------------------------------------------------------------

    def app(self, name: str) -> Application:
        """The Application ``name`` (``SpecError`` listing the known ones otherwise)."""
        return self.apps.app(name)

    def names(self, names: Iterable[str] = ()) -> list[str]:
        """``names`` checked (``SpecError`` for an unknown one), or every Application, sorted."""
        chosen = list(names) or sorted(self.apps.apps)
        for name in chosen:
            self.apps.app(name)
        return chosen

    def status(self, name: str) -> AppStatus:
        """The last known status of ``name``."""
        return self.reconciler.status(name)

    def operating(self, name: str) -> bool:
        """Whether a sync operation of ``name`` runs in this process."""
        return name in self.reconciler.running

    def deleting_since(self, name: str) -> float | None:
        """When the deletion of ``name`` started, while it runs (Argo CD's ``deletionTimestamp``)."""
        return self.reconciler.deleting.get(name)

    def history(self, name: str) -> list[HistoryEntry]:
        return self.reconciler.history(name)

    async def refresh(self, name: str, *, hard: bool = True, auto_sync: bool = False) -> AppStatus:
        """A fresh status (git fetched when ``hard``); with ``auto_sync``, the sync policy applies."""
        return await self.reconciler.refresh(name, hard=hard, auto_sync=auto_sync)

    async def comparison(self, name: str) -> Refreshed:
        """A fresh comparison of ``name`` (for diffs), without storing anything."""
        return await self.refresher.refresh(self.app(name), self.status(name), fetched_after=self._clock())

    async def compared(self, name: str) -> Comparison:
        """A fresh comparison of ``name``; ``SyncError`` naming the error conditions when it failed."""
        refreshed = await self.comparison(name)
        if refreshed.comparison is None:
            errors = [c.message for c in refreshed.status.conditions if c.type.is_error]
            raise SyncError("; ".join(errors) or f"{name}: the comparison failed")
        return refreshed.comparison

    async def managed_resources(self, name: str) -> list[dict[str, Any]]:
        """Argo CD's ``managed-resources`` items: live, target and diff of every compared resource."""
        comparison = await self.compared(name)
        return [
            apiobjects.managed_resource(r.diff, comparison.live.get(r.key))
            for r in comparison.resources
            if r.diff is not None
        ]

    async def manifest_response(self, name: str) -> dict[str, Any]:
        """Argo CD's ``ManifestResponse``: the desired manifests as gitloop applies them, and an App of
        Apps parent's children as written."""
        app = self.app(name)
        comparison = await self.compared(name)
        return apiobjects.manifest_response(
            (*comparison.desired, *comparison.children),
            revision=comparison.revisions[0] if comparison.revisions else "",
            namespace=app.destination.namespace,
            server=app.destination.server or app.destination.name,
        )

    async def resource_tree(self, name: str) -> dict[str, Any]:
        """Argo CD's ``ApplicationTree`` of ``name``: the live objects it tracks and, read from its
        cluster now (``tree.CHILD_KINDS`` in their namespaces), the objects they own."""
        view = self.refresher.view_for(self.app(name))
        roots = view.cache.objects(name)
        children = [r for r in self.status(name).resources if appofapps.is_child(r.key)]
        namespaces = sorted({k.namespace for k in roots if k.namespace})
        reads = [
            view.cluster.list(api_version, kind, namespace)
            for api_version, kind in tree.CHILD_KINDS
            for namespace in namespaces
        ]
        listed = await asyncio.gather(*reads, return_exceptions=True)
        candidates = [obj for found in listed if isinstance(found, list) for obj in found]
        return tree.resource_tree(roots, candidates, children)

    async def events(self, name: str) -> list[Manifest]:
        """The Kubernetes Events (``v1`` Event) about ``name``'s resources and the objects they own,
        read from its cluster now."""
        found = await self.resource_tree(name)
        view = self.refresher.view_for(self.app(name))
        nodes = [n for n in found["nodes"] if n["group"] != appofapps.GROUP]  # children: the engine's own
        namespaces = sorted({n["namespace"] for n in nodes if n["namespace"]})
        listed = await asyncio.gather(*(view.cluster.list("v1", "Event", ns) for ns in namespaces))
        return tree.involved((e for events in listed for e in events), found)

    async def live_resource(self, name: str, ref: resource.ResourceRef) -> str:
        """Argo CD's ``GetResource`` manifest of ``ref``, a node of ``name``'s tree (``gitops.resource``)."""
        view = self.refresher.view_for(self.app(name))
        return await resource.live(view.cluster.get, await self.resource_tree(name), ref, name)

    # -- changing ---------------------------------------------------------------------------------

    def _child_changed(self, status: AppStatus) -> None:
        parent = self.parents.parent_of(status.name)
        if parent is not None and parent in self.apps.apps:
            self.loop.changed(parent)

    def _tell(self, app: Application, event: str) -> None:
        for listener in self.changes:
            listener(app, event)

    def problems(self, app: Application) -> list[str]:
        """Why the engine would not reconcile ``app``: its project's source and destination rules, an
        unknown destination cluster (empty when none)."""
        return self.refresher.problems(app)

    def windows(self, name: str) -> WindowState:
        """What the sync windows of ``name``'s project say now (``gitloop.gitops.windows``)."""
        return self.reconciler.windows(self.app(name))

    def permit_sync(self, app: Application) -> None:
        """``UsageError`` naming the project rule or the sync window when a manual sync of ``app`` is
        refused (a window's ``manualSync`` lets it through)."""
        problems = self.problems(app)
        if problems:
            raise UsageError(f"cannot sync {app.name}: {'; '.join(problems)}")
        window = self.reconciler.windows(app)
        if not window.manual_allowed:
            raise UsageError(f"cannot sync {app.name}: {window.message(manual=True)}")

    def restore(self) -> list[str]:
        """Register again the Applications kept in the store (``SPEC_KIND``), each under its owner, except
        those registered already; their names. Call it before the owners give their Applications, so
        that they delete the ones they no longer give. A stored document that no longer validates is
        skipped and logged."""
        restored = []
        for record in self.store.query(SPEC_KIND):
            if record.name in self.apps.apps:
                continue
            try:
                found = parse_apps_text(json.dumps(record.doc), f"{SPEC_KIND}/{record.name}")
            except SpecError as exc:
                _log.warning("stored Application %s not registered: %s", record.name, exc)
                continue
            for app in found.apps.values():
                self.apps.put(app, owner=record.labels.get("owner", API_OWNER))
                restored.append(app.name)
        return restored

    def upsert(self, app: Application, *, owner: str) -> bool:
        """Register ``app`` or replace the Application of its name; whether it was created or its spec
        changed. A changed one is compared afresh soon (auto-sync follows its policy). Every
        Application without a URL password is kept in the store (``SPEC_KIND``, with its owner) and
        registered again at start (``restore``), so an owner that no longer gives it after a restart
        (a file removed while the server was down) deletes it with ``replace_owned``."""
        before = self.apps.apps.get(app.name)
        doc = document(app)
        changed = before is None or document(before) != doc
        moved = before is not None and self.apps.owner_of(app.name) != owner
        self.apps.put(app, owner=owner)
        if (changed or moved) and (owner == API_OWNER or redact_strings(doc) == doc):
            self.store.put(SPEC_KIND, app.name, doc, labels={"owner": owner})
        if changed:
            self.refresher.forget(app.name)
            self.loop.changed(app.name)
            self._tell(app, "ADDED" if before is None else "MODIFIED")
        return changed

    def upsert_project(self, project: AppProject, *, owner: str) -> bool:
        """Register ``project`` or replace the AppProject of its name; whether it was created or
        changed. Its Applications are compared afresh soon (their permissions may have changed)."""
        before = self.apps.projects.get(project.name)
        changed = before is None or replace(before, origin=None) != replace(project, origin=None)
        self.apps.put_project(project, owner=owner)
        if changed:
            self._project_changed(project.name)
        return changed

    def delete_project(self, name: str) -> None:
        """Forget the AppProject ``name``; its Applications get the "project does not exist" condition
        on their next refresh (soon), as in Argo CD when a project goes while Applications use it."""
        if self.apps.project_owner(name) is None:
            return
        self.apps.remove_project(name)
        self._project_changed(name)

    def _project_changed(self, name: str) -> None:
        for app in self.apps.apps.values():
            if app.project == name:
                self.refresher.forget(app.name)
                self.loop.changed(app.name)

    async def replace_owned(
        self,
        owner: str,
        apps: Iterable[Application],
        projects: Iterable[AppProject] = (),
        *,
        prune: bool = True,
    ) -> Owned:
        """Make ``owner``'s Applications and AppProjects exactly ``apps`` and ``projects``: register the
        new and changed ones, and delete (with ``prune``; Argo CD's deletion rules, each Application's
        finalizers deciding the cascade) the ones ``owner`` registered that are no longer given.
        A name another owner registered is not taken over (``refused``). Projects are registered before
        and removed after the Applications, so an Application never lacks the project it names."""
        done = Owned()
        given_projects = {p.name: p for p in projects}
        for project in given_projects.values():
            holder = self.apps.project_owner(project.name)
            if holder is not None and holder != owner:
                done.refused.append(f"AppProject/{project.name}")
                continue
            self.upsert_project(project, owner=owner)
        given = {a.name: a for a in apps}
        for app in given.values():
            holder = self.apps.owner_of(app.name)
            if holder is not None and holder != owner:
                done.refused.append(app.name)
                continue
            existed = app.name in self.apps.apps
            if self.upsert(app, owner=owner):
                (done.updated if existed else done.created).append(app.name)
        for name in self.apps.owned(owner):
            if name in given:
                continue
            if not prune:
                done.kept.append(name)
                continue
            try:
                await self.delete(name)
            except (SyncError, SpecError) as exc:
                done.failed[name] = str(exc)
            else:
                done.deleted.append(name)
        if prune:
            for name in self.apps.owned_projects(owner):
                if name not in given_projects:
                    self.delete_project(name)
        return done

    async def delete(self, name: str, *, cascade: bool | None = None, propagation: str | None = None) -> None:
        """Delete the Application ``name`` with Argo CD's rules (``gitloop.gitops.deletion``): a running
        operation is terminated first; with ``cascade`` (by default: as its finalizers say) its hooks
        and resources go; then it is forgotten — its status record removed, its history kept.

        ``SyncError`` when a PreDelete hook fails or a resource is not deleted (the Application stays,
        with a ``DeletionError`` condition)."""
        app = self.app(name)
        rec = self.reconciler
        cascade = deletion.cascades(app, cascade)
        how = deletion.propagation_of(app, propagation)
        rec.deleting[name] = self._clock()
        try:
            running = rec.running.get(name)
            if running is not None:
                rec.driver.terminating.add(name)
                await asyncio.wait([running])
            if cascade:
                previous = rec.status(name)
                refreshed = await self.refresher.refresh(app, previous, fetched_after=self._clock())
                try:
                    await deletion.Deletion(app, propagation=how, poll=self.settings.driver_poll / 5).run(
                        refreshed, last=self.refresher.last(name), view=self._view(app)
                    )
                except SyncError as exc:
                    await rec.note(name, Condition(ConditionType.DELETION_ERROR, str(exc)))
                    raise
                await self.parents.release(name)
            self.apps.remove(name)
            self.refresher.forget(name)
            rec.forget(name)
            self.store.delete(SPEC_KIND, name)
        finally:
            rec.deleting.pop(name, None)
        self._tell(app, "DELETED")

    def _view(self, app: Application) -> ClusterView | None:
        with contextlib.suppress(UsageError, SpecError):
            return self.refresher.view_for(app)
        return None

    def terminate(self, name: str) -> None:
        """Stop the running sync operation of ``name`` at its next step (running hooks deleted, the
        operation Failed: Argo CD's terminate); ``SyncError`` when none runs."""
        self.app(name)
        if not self.operating(name):
            raise SyncError(f"{name}: no operation is in progress")
        self.reconciler.driver.terminating.add(name)

    async def start_sync(self, name: str, request: SyncRequest) -> asyncio.Task[SyncOperation]:
        """Start a sync of ``name``; its task. A request naming revisions without sources (a manual
        ``--revision`` branch, tag or SHA) is resolved against freshly fetched git first.

        ``OperationInProgress`` when an operation of ``name`` is already running; ``UsageError`` when
        its project or a sync window refuses it (``permit_sync``)."""
        app = self.app(name)
        self.permit_sync(app)
        if request.revisions and not request.sources:
            if app.multi_source:
                raise UsageError("--revision is not supported for Applications with several sources")
            url = app.source.repo_url
            await asyncio.to_thread(self.sources.fetch, url, fetched_after=self._clock())
            repo = self.sources.repo(url)
            resolved = [await asyncio.to_thread(repo.resolve, r) for r in request.revisions]
            request = replace(request, revisions=tuple(resolved))
        return await self.reconciler.start_sync(name, request)

    async def sync(self, name: str, request: SyncRequest) -> SyncOperation:
        """Sync ``name`` now and wait for the operation's end."""
        return await (await self.start_sync(name, request))

    async def rollback(
        self,
        name: str,
        history_id: int | None,
        *,
        disable_auto_sync: bool = False,
        prune: bool = False,
        username: str = "",
    ) -> SyncOperation:
        self.permit_sync(self.app(name))
        return await self.reconciler.rollback(
            name, history_id, disable_auto_sync=disable_auto_sync, prune=prune, username=username
        )

    async def wait(
        self,
        name: str,
        *,
        health: bool = False,
        sync: bool = False,
        timeout: float = 300.0,
        on_status: Callable[[AppStatus], None] | None = None,
    ) -> AppStatus:
        """Refresh ``name`` until it is Healthy (``health``) and Synced (``sync``), or ``timeout``.

        ``SyncError`` on timeout, naming what was still missing."""
        deadline = time.monotonic() + timeout
        hard = True
        while True:
            status = await self.reconciler.refresh(name, hard=hard, auto_sync=False)
            hard = False
            if on_status is not None:
                on_status(status)
            healthy = status.health.status is HealthStatus.HEALTHY
            synced = status.sync_status is SyncStatus.SYNCED
            if (healthy or not health) and (synced or not sync):
                return status
            left = deadline - time.monotonic()
            if left <= 0:
                raise SyncError(
                    f"timed out after {timeout:.0f}s waiting for {name}: "
                    f"sync {status.sync_status}, health {status.health.status}"
                )
            with contextlib.suppress(SyncError, UsageError):
                view = self.refresher.view_for(self.app(name))
                await view.cache.wait_change(name, view.cache.version(name), min(left, 1.0))
                continue
            await asyncio.sleep(min(left, 1.0))

    # -- reconciling continuously -------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Reconcile every Application until ``stop`` is set; operations an earlier process left
        unfinished are resumed first."""
        rec = self.reconciler
        rec.schedule, rec.on_view = self.loop.schedule, self.loop.watch
        try:
            rec.resume()
            await self.loop.run(stop)
        finally:
            rec.schedule, rec.on_view = (lambda name, delay: None), (lambda view: None)

    def trigger(self, names: Iterable[str] | None = None) -> None:
        """Refresh ``names`` (default: all) of a running ``run`` now, fetching git. Thread-safe."""
        self.loop.trigger(names)
