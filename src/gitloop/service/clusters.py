"""The cluster registry: the clusters Applications deploy to, where their credentials are, and whether
they answer.

``ClusterRegistry`` holds one ``Registered`` per cluster: its ``ClusterRef`` (name, server URL,
labels, annotations, project — what destinations, the API and the ApplicationSet ``clusters`` generator
see) and the kubeconfig file and context that reach it. Two kinds:

- **configured**: the contexts of one kubeconfig — ``gitloop serve``'s merged file of its ``clusters:``
  (``gitloop.service.server.kubeconfigs``; labels, annotations, project and a ``server`` override come
  from the serve config), or for ``gitloop app`` the ``--kubeconfig``/``$KUBECONFIG``. The current
  context comes first and is the default cluster, also ``in-cluster`` /
  ``https://kubernetes.default.svc`` (``gitloop.gitops.destinations``). They are removed from the
  serve config only.
- **added** through ``POST /api/v1/clusters`` (``gitloop cluster add``): a kubeconfig path and context
  on the server's machine. The store keeps a ``Cluster`` record with the name, that path and context,
  labels, annotations, project and the ``server`` override — never a credential; the kubeconfig is read
  when the cluster is added and at every start, and copied (only its context, cluster and user) into a
  private file (0600 in a 0700 directory of the server's work directory) the connection uses.

Removing an added cluster is allowed while Applications deploy to it, as in Argo CD: their next
refresh refuses the destination with an ``InvalidSpecError`` condition and nothing is applied.

Connection state: one request to the API server's ``/version`` (5 s at most) gives ``Successful`` and
the ``serverVersion``, or ``Failed`` with the reason; before any request it is ``Unknown``. The API
asks every cluster when it lists them, and ``gitloop serve`` every 30 s (``start``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitloop.errors import GitloopError, UsageError
from gitloop.gitops.destinations import KnownCluster, destination_cluster
from gitloop.gitops.live import LiveCache
from gitloop.gitops.observe import ClusterView
from gitloop.model.clusters import ClusterRef
from gitloop.ports import Observer, Store, no_observer
from gitloop.spec.argocd import Application, Destination
from gitloop.spec.serveconfig import ClusterConfig

if TYPE_CHECKING:
    from gitloop.kube import KubeCluster

log = logging.getLogger(__name__)

RECORD_KIND = "Cluster"
"""The store's record kind of a cluster added through the API (no credential in it)."""
PROBE_TIMEOUT = 5.0
PROBE_INTERVAL = 30.0

SUCCESSFUL, FAILED, UNKNOWN = "Successful", "Failed", "Unknown"


class ClusterExists(UsageError):
    """A cluster of that name or server is registered already (the API answers 409)."""


@dataclass(frozen=True)
class ConnectionState:
    """Argo CD's ``ConnectionState`` of a cluster, with the ``serverVersion`` its probe read."""

    status: str = UNKNOWN
    message: str = ""
    attempted_at: float | None = None
    server_version: str = ""


def server_version(answer: Mapping[str, Any]) -> str:
    """``major.minor`` of an API server's ``/version`` answer (``"1.29"``, as Argo CD shows it), else
    from its ``gitVersion`` (``v1.29.3``); ``""`` when it names none."""
    major = re.sub(r"\D", "", str(answer.get("major") or ""))
    minor = re.sub(r"\D", "", str(answer.get("minor") or ""))
    if major and minor:
        return f"{major}.{minor}"
    found = re.match(r"v?(\d+)\.(\d+)", str(answer.get("gitVersion") or ""))
    return f"{found.group(1)}.{found.group(2)}" if found else ""


def connection_state(answer: Mapping[str, Any] | None, error: str, at: float) -> ConnectionState:
    """The state after one probe at ``at``: ``error`` (a failed request) is ``Failed`` with it; an
    answer naming a version is ``Successful``; anything else ``Failed``."""
    if error:
        return ConnectionState(FAILED, error, at)
    version = server_version(answer or {})
    if not version:
        return ConnectionState(FAILED, "the API server's /version names no version", at)
    return ConnectionState(SUCCESSFUL, "", at, version)


@dataclass(frozen=True)
class Registered:
    """One registered cluster and how it is reached: ``kubeconfig`` (``None``: the environment's) and
    ``context``. ``added``: through the API (``source`` is the kubeconfig path and context given then);
    ``broken``: why it cannot be reached (its kubeconfig became unreadable)."""

    ref: ClusterRef
    kubeconfig: str | None
    context: str
    added: bool = False
    source: tuple[str, str] = ("", "")
    override: str = ""
    """The ``server`` given when it was added (``""``: its kubeconfig's URL)."""
    broken: str = ""


@dataclass
class _Added:
    entries: dict[str, Registered] = field(default_factory=dict)
    serial: int = 0


class ClusterRegistry:
    """The registered clusters, a ``ClusterView`` (client + live cache) per cluster opened on first use,
    and their connection states. ``store`` and ``directory`` (private) allow ``add`` and ``remove``."""

    def __init__(
        self,
        kubeconfig: str | None,
        configured: Sequence[ClusterConfig] = (),
        *,
        store: Store | None = None,
        directory: Path | None = None,
        clock: Callable[[], float] = time.time,
        environment_optional: bool = False,
    ) -> None:
        self._kubeconfig = kubeconfig
        self._environment_optional = environment_optional and kubeconfig is None
        self._configured = {c.name: c for c in configured}
        self._store = store
        self._directory = directory
        self._clock = clock
        self._base: list[Registered] | None = None
        self._added = _Added()
        self._lock = threading.Lock()
        self._views: dict[str, ClusterView] = {}
        self._clients: dict[str, KubeCluster] = {}
        self.observe: Observer = no_observer
        """Where the clusters' clients report their requests (``gitloop serve``: its ``/metrics``)."""
        self._retired: list[ClusterView] = []
        self._states: dict[str, ConnectionState] = {}
        self._prober: asyncio.Task[None] | None = None

    @classmethod
    def served(cls, configured: Sequence[ClusterConfig], store: Store, directory: Path) -> ClusterRegistry:
        """``gitloop serve``'s registry: its ``clusters:`` merged into one private kubeconfig in
        ``directory`` (none: ``$KUBECONFIG``'s contexts, if it can be read), and those added through the API
        registered again from ``store``."""
        from gitloop.service.server.kubeconfigs import write_merged

        kubeconfig = str(write_merged(configured, directory)) if configured else None
        registry = cls(kubeconfig, configured, store=store, directory=directory, environment_optional=True)
        restored = registry.restore()
        if restored:
            log.info("clusters registered again: %s", ", ".join(restored))
        return registry

    @property
    def kubeconfig(self) -> str | None:
        """The kubeconfig whose contexts are the configured clusters (``None``: the environment's)."""
        return self._kubeconfig

    # -- what is registered -------------------------------------------------------------------------

    def _configured_clusters(self) -> list[Registered]:
        if self._base is None:
            from lightkube.config.kubeconfig import KubeConfig

            where = f"kubeconfig {self._kubeconfig or '(from environment)'}"
            try:
                config = KubeConfig.from_file(self._kubeconfig) if self._kubeconfig else KubeConfig.from_env()
            except Exception as exc:  # lightkube's ConfigError, or YAML/KeyError for a malformed file
                if not self._environment_optional:
                    raise UsageError(f"{where}: cannot be read: {exc}") from exc
                log.warning("%s: cannot be read (only clusters added through the API): %s", where, exc)
                self._base = []
                return self._base
            found: list[Registered] = []
            for name, context in config.contexts.items():
                url = str(getattr(config.clusters.get(context.cluster), "server", "") or "")
                extra = self._configured.get(name)
                ref = ClusterRef(name, url)
                if extra is not None:
                    ref = ClusterRef(
                        name,
                        extra.server or url,
                        dict(extra.labels),
                        dict(extra.annotations),
                        extra.project,
                    )
                found.append(Registered(ref, self._kubeconfig, name))
            current = config.current_context
            found.sort(key=lambda r: r.ref.name != current)  # stable: the current context first
            self._base = found
        return self._base

    def entries(self) -> list[Registered]:
        """Every registered cluster: the configured ones (the default first), then the added ones."""
        with self._lock:
            added = list(self._added.entries.values())
        return [*self._configured_clusters(), *added]

    def refs(self) -> list[ClusterRef]:
        """Every registered cluster as the ApplicationSet ``clusters`` generator selects among them."""
        return [entry.ref for entry in self.entries()]

    def clusters(self) -> list[ClusterRef]:
        """``refs()``: the registry as the ApplicationSet engine's ``ClusterSource`` port reads it."""
        return self.refs()

    def known(self) -> tuple[list[KnownCluster], KnownCluster | None]:
        """The clusters as ``gitloop.gitops.destinations`` matches destinations, and the default one."""
        clusters = [KnownCluster(e.ref.name, e.ref.server) for e in self.entries()]
        base = self._configured_clusters()
        return clusters, (clusters[0] if base else None)

    def get(self, name_or_server: str) -> Registered | None:
        """The cluster of that name, else of that server URL (``in-cluster`` and
        ``https://kubernetes.default.svc``: the default one)."""
        entries = self.entries()
        clusters, default = self.known()
        for destination in (Destination(name=name_or_server), Destination(server=name_or_server)):
            try:
                found = destination_cluster(destination, clusters, default)
            except UsageError:
                continue
            return next(e for e in entries if e.ref.name == found.name)
        return None

    def counts(self, destinations: Iterable[Destination]) -> dict[str, int]:
        """How many of ``destinations`` each cluster is (by name); a destination of none is left out."""
        clusters, default = self.known()
        found: dict[str, int] = {}
        for destination in destinations:
            try:
                name = destination_cluster(destination, clusters, default).name
            except UsageError:
                continue
            found[name] = found.get(name, 0) + 1
        return found

    # -- reaching a cluster --------------------------------------------------------------------------

    def _view(self, entry: Registered) -> ClusterView:
        if entry.broken:
            raise UsageError(f"cluster {entry.ref.name}: {entry.broken}")
        found = self._views.get(entry.ref.name)
        if found is None:
            from gitloop.kube import KubeCluster

            cluster = KubeCluster.from_kubeconfig(entry.kubeconfig, entry.context, observe=self.observe)
            self._clients[entry.ref.name] = cluster
            found = self._views[entry.ref.name] = ClusterView(
                cluster, LiveCache(cluster), name=entry.ref.name, server=entry.ref.server
            )
        return found

    def view_for(self, app: Application) -> ClusterView:
        """The view of ``app``'s destination; ``UsageError`` (Argo CD's message) when it is none."""
        clusters, default = self.known()
        name = destination_cluster(app.destination, clusters, default).name
        entry = next(e for e in self.entries() if e.ref.name == name)
        return self._view(entry)

    # -- connection state ----------------------------------------------------------------------------

    def state(self, name: str) -> ConnectionState:
        """The last known connection state of a cluster (``Unknown`` before its first probe)."""
        return self._states.get(name, ConnectionState())

    async def probe(self, entry: Registered, timeout: float = PROBE_TIMEOUT) -> ConnectionState:
        """Ask the cluster's API server for ``/version`` now; its new state."""
        answer: Mapping[str, Any] | None = None
        error = ""
        try:
            self._view(entry)
            async with asyncio.timeout(timeout):
                answer = await self._clients[entry.ref.name].version()
        except TimeoutError:
            error = f"no answer in {timeout:.0f}s"
        except GitloopError as exc:
            error = str(exc)
        state = connection_state(answer, error, self._clock())
        self._states[entry.ref.name] = state
        return state

    async def probe_all(self) -> None:
        """Probe every registered cluster at once."""
        await asyncio.gather(*(self.probe(entry) for entry in self.entries()))

    async def start(self, interval: float = PROBE_INTERVAL) -> None:
        """Probe every cluster every ``interval`` seconds until ``close``."""

        async def loop() -> None:
            while True:
                try:
                    await self.probe_all()
                except GitloopError as exc:
                    log.warning("clusters not probed: %s", exc)
                await asyncio.sleep(interval)

        self._prober = asyncio.get_running_loop().create_task(loop(), name="cluster-probes")

    # -- adding and removing -------------------------------------------------------------------------

    def _materialise(self, name: str, kubeconfig: str, context: str) -> tuple[str, str]:
        """Copy ``context`` of ``kubeconfig`` into a private file; its path and the cluster's URL."""
        from gitloop.service.server.kubeconfigs import merged, write_merged

        if self._directory is None:
            raise UsageError("clusters can be added on a gitloop server only")
        path = Path(kubeconfig).expanduser()
        if not path.is_absolute():
            raise UsageError(f"config.kubeconfig: {kubeconfig!r} is not an absolute path")
        wanted = ClusterConfig(name, path, context)
        url = str(merged([wanted])["clusters"][0]["cluster"].get("server") or "")
        if not url:
            raise UsageError(f"cluster {name}: {path}: its context {context!r} has no server URL")
        with self._lock:
            self._added.serial += 1
            serial = self._added.serial
        return str(write_merged([wanted], self._directory / f"added-{serial}")), url

    def add(
        self,
        name: str,
        kubeconfig: str,
        context: str,
        *,
        server: str = "",
        labels: Mapping[str, str] | None = None,
        annotations: Mapping[str, str] | None = None,
        project: str = "",
        upsert: bool = False,
    ) -> Registered:
        """Register the cluster of ``context`` (``""``: the current one) in ``kubeconfig`` (an absolute
        path on this machine) as ``name``. ``UsageError`` for an unreadable file or unknown context
        (never quoting the file); ``ClusterExists`` when the name or the server is taken (``upsert``:
        an added cluster of that name is replaced)."""
        if not name.strip():
            raise UsageError("name: must not be empty")
        if self._store is None:
            raise UsageError("clusters can be added on a gitloop server only")
        for entry in self.entries():
            if entry.ref.name == name and not (upsert and entry.added):
                how = "in the serve config" if not entry.added else "already"
                raise ClusterExists(f"cluster {name!r} is registered {how}")
        file, url = self._materialise(name, kubeconfig, context)
        ref = ClusterRef(name, server or url, dict(labels or {}), dict(annotations or {}), project)
        clash = next((e for e in self.entries() if e.ref.server == ref.server and e.ref.name != name), None)
        if clash is not None:
            shutil.rmtree(Path(file).parent, ignore_errors=True)
            raise ClusterExists(f"cluster {clash.ref.name!r} has the server {ref.server} already")
        entry = Registered(ref, file, name, added=True, source=(kubeconfig, context), override=server)
        self._store.put(RECORD_KIND, name, _record(entry))
        self._replace(entry)
        return entry

    def _replace(self, entry: Registered) -> None:
        with self._lock:
            old = self._added.entries.pop(entry.ref.name, None)
            self._added.entries[entry.ref.name] = entry
        if old is not None and old.kubeconfig:
            shutil.rmtree(Path(old.kubeconfig).parent, ignore_errors=True)
        self._states.pop(entry.ref.name, None)
        self._clients.pop(entry.ref.name, None)
        view = self._views.pop(entry.ref.name, None)
        if view is not None:  # in use until the Applications' next refresh; closed with the registry
            self._retired.append(view)

    def relabel(
        self, name: str, labels: Mapping[str, str], annotations: Mapping[str, str], project: str | None
    ) -> Registered:
        """Replace an added cluster's labels and annotations (and project, unless ``None``)."""
        entry = self._added_entry(name)
        ref = replace(
            entry.ref,
            labels=dict(labels),
            annotations=dict(annotations),
            project=entry.ref.project if project is None else project,
        )
        entry = replace(entry, ref=ref)
        assert self._store is not None
        self._store.put(RECORD_KIND, name, _record(entry))
        with self._lock:
            self._added.entries[name] = entry
        return entry

    def _added_entry(self, name: str) -> Registered:
        found = self.get(name)
        if found is None:
            raise UsageError(f"no cluster {name!r} is registered")
        if not found.added:
            raise UsageError(
                f"cluster {found.ref.name!r} is defined in the serve config (clusters:); change it there"
            )
        return found

    async def remove(self, name_or_server: str) -> Registered:
        """Forget an added cluster (its record, private kubeconfig, client and live cache)."""
        entry = self._added_entry(name_or_server)
        assert self._store is not None
        await asyncio.to_thread(self._store.delete, RECORD_KIND, entry.ref.name)
        with self._lock:
            self._added.entries.pop(entry.ref.name, None)
        self._states.pop(entry.ref.name, None)
        self._clients.pop(entry.ref.name, None)
        view = self._views.pop(entry.ref.name, None)
        if entry.kubeconfig:
            shutil.rmtree(Path(entry.kubeconfig).parent, ignore_errors=True)
        if view is not None:
            await _close(view)
        return entry

    def restore(self) -> list[str]:
        """Register again the clusters the store keeps; those whose kubeconfig cannot be read stay
        registered as broken (their state says why). The names restored."""
        if self._store is None:
            return []
        names = []
        for record in reversed(self._store.query(RECORD_KIND)):
            doc = record.doc
            name, kubeconfig, context = (str(doc.get(k) or "") for k in ("name", "kubeconfig", "context"))
            labels, annotations = _strings(doc.get("labels")), _strings(doc.get("annotations"))
            try:
                file, url = self._materialise(name, kubeconfig, context)
            except UsageError as exc:
                log.warning("cluster %s: %s", name, exc)
                file, url = "", ""
                broken = str(exc)
            else:
                broken = ""
            override = str(doc.get("server") or "")
            ref = ClusterRef(name, override or url, labels, annotations, str(doc.get("project") or ""))
            source = (kubeconfig, context)
            self._replace(Registered(ref, file, name, True, source, override, broken))
            names.append(name)
        return names

    async def close(self) -> None:
        if self._prober is not None:
            self._prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prober
        for view in [*self._views.values(), *self._retired]:
            await _close(view)
        self._views.clear()
        self._retired.clear()
        self._clients.clear()


async def _close(view: ClusterView) -> None:
    await view.cache.close()
    await view.cluster.close()


def _strings(value: object) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def _record(entry: Registered) -> dict[str, object]:
    """The store's record of an added cluster: where its credentials are, never what they are."""
    doc: dict[str, object] = {
        "name": entry.ref.name,
        "kubeconfig": entry.source[0],
        "context": entry.source[1],
        "labels": dict(entry.ref.labels),
        "annotations": dict(entry.ref.annotations),
        "project": entry.ref.project,
    }
    if entry.override:
        doc["server"] = entry.override
    return doc
