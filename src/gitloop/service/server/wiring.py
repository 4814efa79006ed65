"""Composing ``gitloop serve`` from its configuration: ``open_server`` yields a running ``Server``.

Opening: the store (``--database-url``, else the file's ``databaseURL``/``databaseURLFile``, else SQLite
``<state dir>/gitloop.db``); every EventListener loaded from its files, checked (CEL compiles, Secrets
present, templates create only PipelineRuns/TaskRuns) and given a launcher; runs a previous process
queued but never started queued again, runs a dead server left running ended as ``Interrupted``
(``gitloop.service.interrupted``); the configured clusters merged into one private kubeconfig, the
repository credentials, the CD engine; the Applications of the serve config read once
(``appsources.ConfigApps``: local files, or directories of git repositories) before those created
through the API are registered again; then the reconcile loop is started, the config's sources are
re-read on change in the background, and the post-sync pipelines (``postsync``) are watched for; the
notifications (``notifications``) hear the CD engine and every launcher's ended runs. Every post-sync pipeline an Application names must be in ``postSync.pipelines``. Any mistake stops the start with a ``SpecError`` or
``UsageError`` before anything is served.

Closing (after the HTTP server stopped accepting): no new run starts; running PipelineRuns and sync
operations get ``shutdownGracePeriod`` to end (queued runs stay queued in the store, interrupted
sync operations are resumed by the next start); PipelineRuns still running then are interrupted (their
steps stopped, the runs ended ``Interrupted``); then the reconcile loop stops, the notification deliveries due
within the grace period are attempted, and everything is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gitloop.errors import SpecError, UsageError
from gitloop.git import HttpsCredentials, RepoCredentials, RepoCreds, SshCredentials
from gitloop.gitops.postsync import PostSyncPipeline, check_applications
from gitloop.lineage import Lineage
from gitloop.localinfra.paths import cache_dir, state_dir
from gitloop.ports import Store
from gitloop.service.interrupted import interrupt_orphans
from gitloop.service.sealing import KeyRing, keep_renewed, served_key_ring
from gitloop.service.server.access import ServedAccess
from gitloop.service.server.ci import PipelinesLauncher, RunPool
from gitloop.service.server.engines import LAUNCHABLE_KINDS, AppRefresher, PipelineLauncher
from gitloop.service.server.notifications import ServedNotifications, start_notifications
from gitloop.service.server.observations import OBSERVED
from gitloop.service.server.postsync import LAUNCHER_NAME, load_pipelines
from gitloop.service.server.promotions import ServedPromotions
from gitloop.service.server.runtime import ServedListener, Server
from gitloop.spec import triggers as triggers_spec
from gitloop.spec.argocd import AppProject
from gitloop.spec.serveconfig import ListenerConfig, RepositoryConfig, ServeConfig
from gitloop.spec.triggers import ResolvedListener
from gitloop.triggers import check_listener

if TYPE_CHECKING:
    from gitloop.service.clusters import ClusterRegistry
    from gitloop.service.server.appsets import AppSets
    from gitloop.service.server.appsources import ConfigApps

log = logging.getLogger("gitloop.serve")

LauncherFactory = Callable[[ListenerConfig, Store, Lineage], PipelineLauncher]


def read_secret(path: Path, what: str) -> bytes:
    """The content of a secret file, without its trailing newline; the error names the file only."""
    try:
        value = path.read_bytes().rstrip(b"\r\n")
    except OSError as exc:
        raise UsageError(f"{what}: cannot read {path}: {exc.strerror}") from exc
    if not value:
        raise UsageError(f"{what}: {path} is empty")
    return value


def database_target(config: ServeConfig, override: str | None = None) -> str:
    """The store to open: the flag, the file's ``databaseURL``/``databaseURLFile``, else the default."""
    if override:
        return override
    if config.database_url:
        return config.database_url
    if config.database_url_file is not None:
        return read_secret(config.database_url_file, "databaseURLFile").decode("utf-8").strip()
    root = state_dir()
    root.mkdir(parents=True, exist_ok=True)
    return str(root / "gitloop.db")


def check_templates(listener: ResolvedListener) -> None:
    """Every resource template must be a PipelineRun or TaskRun: there is no cluster for anything else."""
    triggers = [*listener.triggers, *(t for g in listener.groups for t in g.triggers)]
    for trigger in triggers:
        for resource in trigger.template.resource_templates:
            kind = resource.get("kind")
            if kind not in LAUNCHABLE_KINDS:
                raise trigger.template.where.error(
                    f"trigger {trigger.name}: gitloop serve creates {' and '.join(LAUNCHABLE_KINDS)} only, "
                    f"not {kind!r}"
                )


def load_listener(entry: ListenerConfig) -> tuple[ResolvedListener, triggers_spec.SecretValues]:
    """One configured EventListener, resolved and checked."""
    found = triggers_spec.load([*entry.triggers, *entry.secrets], other_kinds="skip")
    if entry.name not in found.listeners:
        known = ", ".join(sorted(found.listeners)) or "none"
        files = ", ".join(str(p) for p in entry.triggers)
        raise SpecError(f"no EventListener named {entry.name!r} in {files} (found: {known})")
    listener = found.listener(entry.name)
    check_listener(listener, found.secrets)
    check_templates(listener)
    return listener, found.secrets


def repo_credentials(entries: Sequence[RepositoryConfig]) -> list[RepoCreds]:
    """The ``RepoCreds`` of the configured repositories (secrets read from their files)."""
    creds: list[RepoCreds] = []
    for entry in entries:
        if entry.ssh_key_file is not None:
            ssh = SshCredentials(private_key_file=entry.ssh_key_file, known_hosts_file=entry.known_hosts_file)
            creds.append(RepoCreds(entry.url, ssh))
        else:
            assert entry.password_file is not None
            password = read_secret(entry.password_file, f"repository {entry.url}").decode("utf-8")
            creds.append(RepoCreds(entry.url, HttpsCredentials(entry.username or "git", password)))
    return creds


@dataclass(frozen=True)
class _PostSync:
    """The post-sync Pipelines and the launcher their runs go through."""

    pipelines: dict[str, PostSyncPipeline]
    launcher: PipelineLauncher | None


@contextlib.asynccontextmanager
async def _applications(
    config: ServeConfig,
    target: str,
    lineage: Lineage,
    workdir: Path,
    post_sync: _PostSync,
    clusters: ClusterRegistry,
    keys: KeyRing,
    notifier: ServedNotifications | None = None,
    roles_of: Callable[[str], tuple[str, ...]] = lambda user: (),
) -> AsyncIterator[tuple[AppRefresher | None, ConfigApps | None, AppSets | None, ServedPromotions | None]]:
    if not config.applications:
        yield None, None, None, None
        return
    from gitloop.service.apps import AppsConfig, open_apps
    from gitloop.service.server.appsets import start_appsets
    from gitloop.service.server.appsources import ConfigApps
    from gitloop.service.server.cd import AppsRefresher
    from gitloop.service.server.postsync import PostSyncRunner
    from gitloop.store import open_store

    credentials = await asyncio.to_thread(repo_credentials, config.repositories)
    apps_config = AppsConfig(
        (), kubeconfig=clusters.kubeconfig, database_url=target, poll_interval=config.poll_interval
    )
    sources = ConfigApps(
        config.applications,
        credentials=credentials,
        workdir=workdir / "apps",
        mirrors=cache_dir() / "mirrors",
        check=lambda found: check_applications(found.apps.values(), post_sync.pipelines),
        files_interval=config.applications_poll_interval,
        git_interval=config.poll_interval,
    )
    store = open_store(target)
    opened = open_apps(
        apps_config,
        store=store,
        credentials=credentials,
        empty_ok=True,
        clusters=clusters,
        sealing_keys=keys.keys,
        observe=OBSERVED,
    )
    async with opened as engine:
        engine.restore()  # before the sources and ApplicationSets give theirs: they delete what they no longer give
        appsets = await start_appsets(engine, credentials, clusters.refs, workdir / "appsets")
        sources.appsets = appsets
        try:
            await sources.first(engine)
            runner = None
            if post_sync.launcher is not None:
                runner = PostSyncRunner(
                    engine, post_sync.launcher, lineage, engine.store, post_sync.pipelines
                )
                await runner.start()
            refresher = AppsRefresher(engine, lineage)
            await refresher.start()
            if notifier is not None:
                notifier.watch(engine)
            promotions = ServedPromotions(
                store,
                engine,
                lineage,
                lambda: sources.chains,
                roles_of=roles_of,
                credentials=RepoCredentials(credentials),
            )
            if notifier is not None:
                promotions.changed.append(notifier.promotion_changed)
            await promotions.start()
            await sources.start()
            try:
                yield refresher, sources, appsets, promotions
            finally:
                await promotions.stop()
                await sources.stop()
                await refresher.drain(config.shutdown_grace)  # at once when the server drained it already
                if runner is not None:
                    await runner.stop()
        finally:
            await appsets.stop()


def _launchers(
    config: ServeConfig,
    store: Store,
    target: str,
    lineage: Lineage,
    factory: LauncherFactory | None,
    workdir: Path,
) -> tuple[dict[str, ServedListener], _PostSync, RunPool | None]:
    wanted = bool(config.listeners or config.post_sync_pipelines)
    pool = RunPool(config.max_parallel_runs) if wanted and factory is None else None

    def launcher_of(entry: ListenerConfig) -> PipelineLauncher:
        if factory is not None:
            return factory(entry, store, lineage)
        assert pool is not None
        return PipelinesLauncher(
            listener=entry.name,
            store=store,
            pipeline_paths=entry.pipelines,
            executor=config.executor,
            pool=pool,
            lineage=lineage,
            log_limit=config.log_limit,
        )

    served: dict[str, ServedListener] = {}
    for entry in config.listeners:
        listener, secrets = load_listener(entry)
        served[entry.name] = ServedListener(listener, secrets, launcher_of(entry))
    post_sync = _PostSync(load_pipelines(config.post_sync_pipelines), None)
    if config.post_sync_pipelines:
        entry = ListenerConfig(LAUNCHER_NAME, (), config.post_sync_pipelines)
        post_sync = _PostSync(post_sync.pipelines, launcher_of(entry))
    return served, post_sync, pool


@contextlib.asynccontextmanager
async def open_server(
    config: ServeConfig,
    *,
    database_url: str | None = None,
    launcher_factory: LauncherFactory | None = None,
    on_admin_password: Callable[[str], None] | None = None,
) -> AsyncIterator[Server]:
    """The server of ``config``, running until the context exits (then drained and closed).

    ``launcher_factory`` replaces the CI engine's launcher (tests). On a store without an ``admin``
    account, one is made (Argo CD's bootstrap admin): with a generated password handed to
    ``on_admin_password`` (to be shown once, never logged), or, without that callback, with no password
    (``gitloop account passwd admin`` gives it one)."""
    from gitloop.store import open_store

    target = database_target(config, database_url)
    webhook_secret = (
        read_secret(config.webhook_secret_file, "webhook.secretFile") if config.webhook_secret_file else None
    )
    api_token = read_secret(config.api_token_file, "apiTokenFile") if config.api_token_file else None
    store = await asyncio.to_thread(open_store, target)
    workdir = Path(tempfile.mkdtemp(prefix="gitloop-serve-"))
    clusters: ClusterRegistry | None = None
    renewing: asyncio.Task[None] | None = None
    notifier: ServedNotifications | None = None
    try:
        from gitloop.service.clusters import ClusterRegistry

        clusters = await asyncio.to_thread(ClusterRegistry.served, config.clusters, store, workdir / "kube")
        clusters.observe = OBSERVED
        keys = await asyncio.to_thread(served_key_ring, config.sealed_secrets, clusters)
        if config.applications:  # keys are renewed where they unseal
            renewing = asyncio.create_task(keep_renewed(keys, config.sealed_secrets.key_renew_period))
        lineage = Lineage(store)
        served, post_sync, pool = _launchers(config, store, target, lineage, launcher_factory, workdir)
        notifier = await start_notifications(config, store, lineage)
        if notifier is not None:
            for launcher in [*(e.launcher for e in served.values()), post_sync.launcher]:
                if isinstance(launcher, PipelinesLauncher):
                    launcher.finished.append(notifier.run_finished)
        roles: list[Callable[[str], tuple[str, ...]]] = []
        opened = _applications(
            config, target, lineage, workdir, post_sync, clusters, keys, notifier, lambda user: roles[0](user)
        )
        async with opened as (apps, sources, appsets, promotions):
            if launcher_factory is None:
                ended = await asyncio.to_thread(interrupt_orphans, store, lineage)
                if ended:
                    log.warning("ended as Interrupted (their gitloop process stopped): %s", ", ".join(ended))
            launchers = {name: entry.launcher for name, entry in served.items()}
            if post_sync.launcher is not None:
                launchers[LAUNCHER_NAME] = post_sync.launcher
            for name, launcher in launchers.items():  # everything loaded: runs left queued may start now
                resumed = launcher.resume()
                if resumed:
                    log.info("%s: queued again %s", name, ", ".join(resumed))
            projects: list[Callable[[], list[AppProject]]] = []
            access = ServedAccess.build(
                store, config.auth, config.rbac, legacy_token=api_token, projects=lambda: projects[0]()
            )
            roles.append(lambda user: access.policy.enforcer().roles_of(user))
            await asyncio.to_thread(_bootstrap_admin, access, on_admin_password)
            server = Server(
                store,
                served,
                lineage,
                apps,
                max_body_bytes=config.max_body_bytes,
                webhook_secret=webhook_secret,
                api_token=api_token,
                app_sources=sources,
                appsets=appsets,
                clusters=clusters if apps is not None else None,
                sealing_key=keys.ensure,
                access_control=access,
                promotions=promotions,
            )
            projects.append(server.projects)
            if apps is not None:
                await clusters.start()
            try:
                yield server
            finally:
                server.stopping.set()
                if sources is not None:
                    await sources.stop()
                await _drain(server, pool, config.shutdown_grace, post_sync.launcher)
    finally:
        if notifier is not None:
            await notifier.stop(config.shutdown_grace)
        if renewing is not None:
            renewing.cancel()
        if clusters is not None:
            await clusters.close()
        store.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _bootstrap_admin(access: ServedAccess, on_password: Callable[[str], None] | None) -> None:
    """The ``admin`` account on a store that has none (its password shown once, if it can be)."""
    password = access.accounts.bootstrap_admin(with_password=on_password is not None)
    if password is None:
        return
    log.warning(
        "created the account 'admin'%s",
        " (its password is shown once on the terminal)"
        if password
        else " without a password: give it one with gitloop account passwd admin",
    )
    if password and on_password is not None:
        on_password(password)


async def _drain(
    server: Server, pool: RunPool | None, grace: float, post_sync: PipelineLauncher | None = None
) -> None:
    """Let running PipelineRuns and sync operations end, at the same time, for up to ``grace`` seconds
    (less once ``server.force`` is set); PipelineRuns still running then are interrupted."""

    def runs() -> int:
        if pool is not None:
            return pool.drain(grace, server.force)
        launchers = [entry.launcher for entry in server.listeners.values()]
        launchers += [post_sync] if post_sync is not None else []
        return sum(launcher.drain(grace, server.force) for launcher in launchers)

    waits: list[Awaitable[object]] = [asyncio.to_thread(runs)]
    if server.apps is not None:
        waits.append(server.apps.drain(grace, server.force))
    still = (await asyncio.gather(*waits))[0]
    if still:
        log.warning("%s run(s) still running after the grace period were interrupted", still)
