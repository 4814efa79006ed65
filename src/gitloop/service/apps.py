"""Argo CD Applications without a server: the CD engine (``gitloop.gitops.engine``) wired to a
kubeconfig, git mirrors and the store.

``open_apps(config)`` loads the Application/AppProject files, opens the adapters and yields the
``Engine`` whose methods back ``gitloop app ...`` and ``gitloop serve``; it closes the adapters on the
way out. Nothing here decides anything: this module only wires.

Wiring: git mirrors live under ``<cache dir>/mirrors`` (one per repository, shared by every
Application), manifests are rendered by ``gitloop.render.SourceRenderer`` and their SealedSecrets
unsealed (``gitloop.service.unsealing``), status and history are kept
in the store (``--database-url``, default SQLite ``<state dir>/gitloop.db``).

Destinations: the clusters are the contexts of the kubeconfig given (``--kubeconfig``, else
``$KUBECONFIG``, else ``~/.kube/config``). ``destination.name`` names a context, ``destination.server``
is the server URL of a context's cluster; the current context is also Argo CD's cluster it runs in —
``name: in-cluster`` and ``server: https://kubernetes.default.svc``. Any other destination is refused
with an ``InvalidSpecError`` condition on that Application and nothing is applied
(``gitloop.gitops.destinations``). ``gitloop serve`` passes its cluster registry
(``gitloop.service.clusters``) instead.
"""

from __future__ import annotations

import contextlib
import getpass
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gitloop.errors import UsageError
from gitloop.gitops.engine import Engine, Settings
from gitloop.gitops.source import ManifestSource
from gitloop.ports import Observer, Store, no_observer
from gitloop.service.clusters import ClusterRegistry
from gitloop.spec.argocd import load_apps

if TYPE_CHECKING:
    from gitloop.git import RepoCreds
    from gitloop.sealing import SealingKey


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


def local_user() -> str:
    """Who asks, as a sync's ``initiatedBy.username`` records it: the local user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def open_store(database_url: str | None) -> Store:
    """The store: ``database_url``, else SQLite at ``<state dir>/gitloop.db``."""
    from gitloop.localinfra.paths import state_dir
    from gitloop.store import open_store as open_sql

    if database_url:
        return open_sql(database_url)
    root = state_dir()
    root.mkdir(parents=True, exist_ok=True)
    return open_sql(str(root / "gitloop.db"))


@contextlib.asynccontextmanager
async def open_apps(
    config: AppsConfig,
    *,
    store: Store | None = None,
    credentials: Sequence[RepoCreds] = (),
    empty_ok: bool = False,
    clusters: ClusterRegistry | None = None,
    sealing_keys: Callable[[], Sequence[SealingKey]] | None = None,
    observe: Observer = no_observer,
) -> AsyncIterator[Engine]:
    """Load the Application files of ``config``, open the adapters and yield the CD engine on them
    (``SpecError`` for bad files); the adapters are closed on the way out. ``credentials``: the
    configured repositories' credentials, for the git mirrors. No Application is a ``UsageError``
    unless ``empty_ok`` (``gitloop serve``, whose Applications come and go). ``clusters``: the
    destinations (the caller closes them; default: the contexts of ``config.kubeconfig``).
    ``sealing_keys``: the keys SealedSecrets are unsealed with (default: ``gitloop app``'s rule,
    ``gitloop.service.sealing.LocalKeys``). ``observe``: where the git mirrors report their requests."""
    from gitloop.git import MirrorCache
    from gitloop.localinfra.paths import cache_dir
    from gitloop.render import SourceRenderer
    from gitloop.service.sealing import LocalKeys, local_key_directory
    from gitloop.service.unsealing import UnsealingRenderer

    apps = load_apps(config.paths)
    if not apps.apps and not empty_ok:
        raise UsageError(f"no Application in {', '.join(config.paths)}")
    store = store if store is not None else open_store(config.database_url)
    workdir = Path(tempfile.mkdtemp(prefix="gitloop-apps-"))
    own_clusters = clusters is None
    registry = clusters if clusters is not None else ClusterRegistry(config.kubeconfig)
    mirrors = MirrorCache(config.mirrors or cache_dir() / "mirrors", observe=observe)
    if credentials:
        mirrors.credentials.replace(credentials)
    if sealing_keys is None:
        sealing_keys = LocalKeys(registry, local_key_directory()).keys
    sources = ManifestSource(mirrors.get, UnsealingRenderer(SourceRenderer(), sealing_keys), workdir)
    settings = Settings(wave_delay=config.wave_delay, poll_interval=config.poll_interval)
    try:
        yield Engine(apps, sources, registry.view_for, store, settings=settings)
    finally:
        if own_clusters:
            await registry.close()
        sources.close()
        shutil.rmtree(workdir, ignore_errors=True)
        store.close()
