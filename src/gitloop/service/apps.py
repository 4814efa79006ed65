"""Argo CD Applications without a server: the CD engine wired to a kubeconfig, git mirrors and the store.

``open_apps(paths, kubeconfig=..., database_url=...)`` loads the Application/AppProject files and
returns an ``AppsService`` (an async context manager) whose methods back ``gitloop app ...``:
``refresh``, ``status``, ``comparison`` (for ``diff``), ``manifests``, ``sync``, ``wait``,
``history``, ``rollback`` and ``watch`` (the reconcile loop, with ``trigger`` as its refresh API).

Wiring: git mirrors live under ``<cache dir>/mirrors`` (one per repository, shared by every
Application), manifests are rendered by ``gitloop.render.SourceRenderer``, status and history are kept
in the store (``--database-url``, default SQLite ``<state dir>/gitloop.db``).

Destinations: the clusters are the contexts of the kubeconfig given (``--kubeconfig``, else
``$KUBECONFIG``, else ``~/.kube/config``). ``destination.name`` names a context, ``destination.server``
is the server URL of a context's cluster; the current context is also Argo CD's cluster it runs in —
``name: in-cluster`` and ``server: https://kubernetes.default.svc``. Any other destination is refused
with an ``InvalidSpecError`` condition on that Application and nothing is applied
(``gitloop.gitops.destinations``).
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from gitloop.errors import SyncError, UsageError
from gitloop.gitops.destinations import KnownCluster, destination_cluster
from gitloop.gitops.live import LiveCache
from gitloop.gitops.loop import Loop
from gitloop.gitops.observe import ClusterView
from gitloop.gitops.reconciler import Reconciler, Settings
from gitloop.gitops.refresh import Refreshed
from gitloop.gitops.source import ManifestSource
from gitloop.gitops.status import AppStatus
from gitloop.gitops.sync import ResourceSelector
from gitloop.gitops.syncop import SyncOperation, SyncOrder
from gitloop.model.health import HealthStatus
from gitloop.model.resources import Manifest
from gitloop.model.sync import SyncStatus
from gitloop.ports import HistoryEntry, Store
from gitloop.spec.argocd import Application, AppSet, load_apps


@dataclass(frozen=True)
class AppsConfig:
    """Where the Applications, the cluster and the store are."""

    paths: tuple[str, ...]
    kubeconfig: str | None = None
    database_url: str | None = None
    wave_delay: float = 0.0
    poll_interval: float = 180.0
    mirrors: str | None = None
    """Where git mirrors are kept (default: ``<cache dir>/mirrors``)."""


def _username() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class _Clusters:
    """The kubeconfig's contexts as the clusters Applications deploy to, each opened on first use.

    Every context is a cluster named after it, at the server URL of its cluster; the current context
    comes first and is the default (``gitloop.gitops.destinations``)."""

    def __init__(self, kubeconfig: str | None) -> None:
        self._kubeconfig = kubeconfig
        self._views: dict[str, ClusterView] = {}
        self._known: tuple[list[KnownCluster], KnownCluster | None] | None = None

    def known(self) -> tuple[list[KnownCluster], KnownCluster | None]:
        """The clusters of the kubeconfig (the current context first) and the default one."""
        if self._known is None:
            from lightkube.config.kubeconfig import KubeConfig

            where = f"kubeconfig {self._kubeconfig or '(from environment)'}"
            try:
                config = KubeConfig.from_file(self._kubeconfig) if self._kubeconfig else KubeConfig.from_env()
            except Exception as exc:  # lightkube's ConfigError, or YAML/KeyError for a malformed file
                raise UsageError(f"{where}: cannot be read: {exc}") from exc
            clusters = [
                KnownCluster(name, getattr(config.clusters.get(context.cluster), "server", ""))
                for name, context in config.contexts.items()
            ]
            current = config.current_context
            default = next((c for c in clusters if c.name == current), None)
            if default is not None:
                clusters = [default, *(c for c in clusters if c is not default)]
            self._known = (clusters, default)
        return self._known

    def view_for(self, app: Application) -> ClusterView:
        """The view of ``app``'s destination; ``UsageError`` when it is not a context of the kubeconfig."""
        clusters, default = self.known()
        context = destination_cluster(app.destination, clusters, default).name
        found = self._views.get(context)
        if found is None:
            from gitloop.kube import KubeCluster

            cluster = KubeCluster.from_kubeconfig(self._kubeconfig, context)
            found = self._views[context] = ClusterView(cluster, LiveCache(cluster))
        return found

    async def close(self) -> None:
        for view in self._views.values():
            await view.cache.close()
            await view.cluster.close()


def open_store(database_url: str | None) -> Store:
    """The store: ``database_url``, else SQLite at ``<state dir>/gitloop.db``."""
    from gitloop.localinfra.paths import state_dir
    from gitloop.store import open_store as open_sql

    if database_url:
        return open_sql(database_url)
    root = state_dir()
    root.mkdir(parents=True, exist_ok=True)
    return open_sql(str(root / "gitloop.db"))


class AppsService:
    """The CD engine for one set of Application files; use as ``async with open_apps(...) as apps``."""

    def __init__(self, config: AppsConfig, apps: AppSet, *, store: Store | None = None) -> None:
        from gitloop.git import MirrorCache
        from gitloop.localinfra.paths import cache_dir
        from gitloop.render import SourceRenderer

        self.config = config
        self.apps = apps
        self.store = store if store is not None else open_store(config.database_url)
        self._workdir = Path(tempfile.mkdtemp(prefix="gitloop-apps-"))
        self._clusters = _Clusters(config.kubeconfig)
        self.mirrors = MirrorCache(config.mirrors or cache_dir() / "mirrors")
        self.sources = ManifestSource(self.mirrors.get, SourceRenderer(), self._workdir)
        settings = Settings(wave_delay=config.wave_delay, poll_interval=config.poll_interval)
        self.reconciler = Reconciler(
            apps, self.sources, self._clusters.view_for, self.store, settings=settings
        )
        self.loop = Loop(self.reconciler)

    async def __aenter__(self) -> AppsService:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._clusters.close()
        self.sources.close()
        shutil.rmtree(self._workdir, ignore_errors=True)
        self.store.close()

    # -- reading -------------------------------------------------------------------------------------

    def names(self, names: Iterable[str] = ()) -> list[str]:
        chosen = list(names) or sorted(self.apps.apps)
        for name in chosen:
            self.apps.app(name)
        return chosen

    async def refresh(self, name: str, *, hard: bool = True) -> AppStatus:
        """A fresh status (git fetched when ``hard``); no automated sync is started."""
        return await self.reconciler.refresh(name, hard=hard, auto_sync=False)

    async def comparison(self, name: str) -> Refreshed:
        """A fresh comparison of ``name`` (for diffs), without storing anything."""
        app = self.apps.app(name)
        status = self.reconciler.status(name)
        return await self.reconciler.refresher.refresh(app, status, fetched_after=time.time())

    async def manifests(self, name: str, *, live: bool = False) -> list[Manifest]:
        """The desired manifests as gitloop applies them, or (``live``) the live objects it tracks."""
        refreshed = await self.comparison(name)
        if refreshed.comparison is None:
            errors = [c.message for c in refreshed.status.conditions if c.type.is_error]
            raise SyncError("; ".join(errors) or f"{name}: the comparison failed")
        if live:
            return [refreshed.comparison.live[k] for k in sorted(refreshed.comparison.live)]
        return list(refreshed.comparison.desired)

    def history(self, name: str) -> list[HistoryEntry]:
        return self.reconciler.history(name)

    # -- changing -------------------------------------------------------------------------------------

    async def sync(
        self,
        name: str,
        *,
        prune: bool = False,
        dry_run: bool = False,
        force: bool = False,
        resources: Sequence[str] = (),
        revision: str | None = None,
    ) -> SyncOperation:
        """Sync ``name`` now (``revision``: a branch, tag or SHA other than the target revision)."""
        app = self.apps.app(name)
        revisions: tuple[str, ...] = ()
        if revision:
            if app.multi_source:
                raise UsageError("--revision is not supported for Applications with several sources")
            repo = self.sources.repo(app.source.repo_url)
            await asyncio.to_thread(self.sources.fetch, app.source.repo_url, fetched_after=time.time())
            revisions = (await asyncio.to_thread(repo.resolve, revision),)
        order = SyncOrder(
            revisions=revisions,
            prune=prune,
            dry_run=dry_run,
            force=force,
            resources=tuple(ResourceSelector.parse(r) for r in resources),
            username=_username(),
        )
        return await self.reconciler.sync(name, order)

    async def rollback(
        self, name: str, history_id: int | None, *, disable_auto_sync: bool = False, prune: bool = False
    ) -> SyncOperation:
        return await self.reconciler.rollback(
            name, history_id, disable_auto_sync=disable_auto_sync, prune=prune, username=_username()
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
                view = self._clusters.view_for(self.apps.app(name))
                await view.cache.wait_change(name, view.cache.version(name), min(left, 1.0))
                continue
            await asyncio.sleep(min(left, 1.0))

    async def watch(self, stop: asyncio.Event, on_status: Callable[[AppStatus], None] | None = None) -> None:
        """Reconcile every Application until ``stop`` is set."""
        if on_status is not None:
            self.reconciler.listeners.append(on_status)
        await self.loop.run(stop)

    def trigger(self, names: Iterable[str] | None = None) -> None:
        """Refresh ``names`` (default: all) of a running ``watch`` now, fetching git. Thread-safe."""
        self.loop.trigger(names)


@contextlib.asynccontextmanager
async def open_apps(config: AppsConfig, *, store: Store | None = None) -> AsyncIterator[AppsService]:
    """Load the Application files of ``config`` and wire the engine (``SpecError`` for bad files)."""
    apps = load_apps(config.paths)
    if not apps.apps:
        raise UsageError(f"no Application in {', '.join(config.paths)}")
    service = AppsService(config, apps, store=store)
    try:
        yield service
    finally:
        await service.close()
