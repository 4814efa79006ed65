"""Where the Sealed Secrets key pairs live, for unsealing at render and for ``GET /v1/cert.pem``.

``ClusterKeyStore`` keeps them as the sealed-secrets controller does: ``kubernetes.io/tls`` Secrets
(``tls.crt``, ``tls.key``) in ``kube-system`` of the DEFAULT cluster, labelled
``sealedsecrets.bitnami.com/sealed-secrets-key: active`` and named ``sealed-secrets-key<suffix>``,
newest (``metadata.creationTimestamp``) first. So a cluster whose controller already made keys is
unsealed with them, and a controller installed later takes gitloop's keys over. ``KeyDirectory``
(``gitloop.sealing``) is the same ring as files, for ``sealedSecrets.keysDirectory`` and the local mode.

Every method blocks (the render runs in worker threads): a cluster call opens its own short-lived client
on its own event loop. Keys are read again at most every ``ttl`` seconds. The private keys never leave
this module but to ``gitloop.sealing.unseal``: not the store, the logs or the API.

``local_keys``: ``gitloop app``'s rule — the keys of the default cluster (when it answers) and those of
the local key directory (``<state dir>/sealing-keys``, where ``gitloop seal`` keeps its own), tried
together. ``renew_due``: the rotation rule of ``keyRenewPeriod``.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from gitloop.errors import ClusterError, GitloopError, SealingError, UsageError
from gitloop.sealing import KeyDirectory, SealingKey, generate_key

if TYPE_CHECKING:
    from gitloop.kube import KubeCluster
    from gitloop.service.clusters import ClusterRegistry
    from gitloop.spec.serve_sealing import SealingConfig

log = logging.getLogger("gitloop.sealing")

KEY_NAMESPACE = "kube-system"
KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
KEY_PREFIX = "sealed-secrets-key"
KEY_BITS = 4096
RENEW_CHECK = 600.0
"""How often, at most, ``keep_renewed`` looks at the newest key's age."""
T = TypeVar("T")


class KeyRing(Protocol):
    """Key pairs, newest first: a ``ClusterKeyStore`` or a ``KeyDirectory``."""

    def keys(self) -> list[SealingKey]: ...

    def ensure(self) -> SealingKey: ...

    def rotate(self) -> SealingKey: ...


def _timestamp(text: object) -> float:
    if not isinstance(text, str) or not text:
        return 0.0
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def key_of(secret: dict[str, Any]) -> SealingKey:
    """The key pair a controller key Secret holds; ``SealingError`` naming the Secret and field."""
    meta = secret.get("metadata") or {}
    name = str(meta.get("name", ""))
    where = f"Secret/{meta.get('namespace') or KEY_NAMESPACE}/{name}"
    data = secret.get("data") or {}
    pems: list[bytes] = []
    for field in ("tls.key", "tls.crt"):
        value = data.get(field)
        if not isinstance(value, str) or not value:
            raise SealingError("missing", obj=where, field=f"data.{field}")
        try:
            pems.append(base64.b64decode(value, validate=True))
        except ValueError as exc:
            raise SealingError("not base64", obj=where, field=f"data.{field}") from exc
    return SealingKey(name, pems[0], pems[1], _timestamp(meta.get("creationTimestamp")))


def key_secret(key: SealingKey, namespace: str = KEY_NAMESPACE) -> dict[str, Any]:
    """The controller's Secret for ``key`` in ``namespace``."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {"name": key.name, "namespace": namespace, "labels": {KEY_LABEL: "active"}},
        "data": {
            "tls.crt": base64.b64encode(key.certificate_pem).decode(),
            "tls.key": base64.b64encode(key.private_key_pem).decode(),
        },
    }


class ClusterKeyStore:
    """The key pairs in ``namespace`` (the controller's ``--key-namespace``: ``kube-system``) of one
    cluster (``kubeconfig``, ``context``)."""

    def __init__(
        self,
        kubeconfig: str | None,
        context: str | None,
        *,
        namespace: str = KEY_NAMESPACE,
        bits: int = KEY_BITS,
        ttl: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._kubeconfig = kubeconfig
        self._context = context
        self._bits = bits
        self.namespace = namespace
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, list[SealingKey]] | None = None

    @classmethod
    def of_default(cls, registry: ClusterRegistry, **kwargs: Any) -> ClusterKeyStore | None:
        """The store of ``registry``'s default cluster (``None``: there is none)."""
        entries = registry.entries()
        if not entries or entries[0].added or entries[0].broken:
            return None
        return cls(entries[0].kubeconfig, entries[0].context, **kwargs)

    def _run(self, call: Callable[[KubeCluster], Awaitable[T]]) -> T:
        from gitloop.kube import KubeCluster

        async def run() -> T:
            cluster = KubeCluster.from_kubeconfig(self._kubeconfig, self._context)
            try:
                return await call(cluster)
            finally:
                await cluster.close()

        try:
            return asyncio.run(run())
        except GitloopError:
            raise
        except Exception as exc:  # lightkube's ConfigError for an unreadable kubeconfig
            raise ClusterError(f"the sealing keys' cluster cannot be reached: {exc}") from exc

    def _read(self) -> list[SealingKey]:
        async def listed(cluster: KubeCluster) -> list[dict[str, Any]]:
            return await cluster.list("v1", "Secret", self.namespace, f"{KEY_LABEL}=active")

        found = [key_of(secret) for secret in self._run(listed)]
        found.sort(key=lambda key: (key.created, key.name), reverse=True)
        self._cached = (self._clock(), found)
        return found

    def keys(self) -> list[SealingKey]:
        """Every active key, newest first (``ClusterError`` when the cluster cannot be read)."""
        with self._lock:
            if self._cached is not None and self._clock() - self._cached[0] < self._ttl:
                return list(self._cached[1])
            return list(self._read())

    def ensure(self) -> SealingKey:
        """The newest key; one is generated and stored when there is none."""
        with self._lock:
            found = self._read()
            return found[0] if found else self._create()

    def rotate(self) -> SealingKey:
        """A new active key; the older ones stay, for unsealing."""
        with self._lock:
            return self._create()

    def _create(self) -> SealingKey:
        key = generate_key(bits=self._bits, name=f"{KEY_PREFIX}{_suffix()}")

        async def created(cluster: KubeCluster) -> dict[str, Any]:
            return await cluster.apply(key_secret(key, self.namespace), force=False)

        answer = self._run(created)
        stamp = _timestamp((answer.get("metadata") or {}).get("creationTimestamp")) or key.created
        made = SealingKey(key.name, key.private_key_pem, key.certificate_pem, stamp)
        log.info("sealing key %s/%s created", self.namespace, key.name)
        self._read()
        return made

    def forget(self) -> None:
        """Read the keys again on the next call (after another process changed them)."""
        with self._lock:
            self._cached = None


def _suffix() -> str:
    import secrets
    import string

    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(5))


def renew_due(ring: KeyRing, period: float, now: float) -> float:
    """Rotate ``ring`` when its newest key is ``period`` seconds old (``keyRenewPeriod``; 0: never);
    the seconds until the next check. A ring without keys is left alone: its first key is made when
    one is first needed (``ensure``)."""
    if period <= 0:
        return float("inf")
    found = ring.keys()
    if not found:
        return RENEW_CHECK
    if now - found[0].created >= period:
        newest = ring.rotate()
        log.info("sealing key renewed: %s (keyRenewPeriod)", newest.name)
        return min(RENEW_CHECK, period)
    return max(1.0, min(RENEW_CHECK, found[0].created + period - now))


async def keep_renewed(ring: KeyRing, period: float, clock: Callable[[], float] = time.time) -> None:
    """``renew_due`` for as long as the server runs (cancel the task to stop); errors are logged."""
    while period > 0:
        try:
            wait = await asyncio.to_thread(renew_due, ring, period, clock())
        except GitloopError as exc:
            log.warning("sealing keys: renewal failed, tried again later: %s", exc)
            wait = RENEW_CHECK
        await asyncio.sleep(wait)


def served_key_ring(settings: SealingConfig, registry: ClusterRegistry) -> KeyRing:
    """``gitloop serve``'s keys: ``keysDirectory`` when given, else the default cluster's, else (no
    cluster at all) the local key directory."""
    if settings.keys_directory is not None:
        return KeyDirectory(settings.keys_directory)
    return ClusterKeyStore.of_default(registry) or local_key_directory()


class LocalKeys:
    """``gitloop app``'s keys: the default cluster's of ``registry`` (when it answers) and the local key
    directory's, newest first."""

    def __init__(self, registry: ClusterRegistry, directory: KeyDirectory) -> None:
        self._registry = registry
        self._directory = directory
        self._cluster: ClusterKeyStore | None = None
        self._lock = threading.Lock()

    def keys(self) -> list[SealingKey]:
        found: list[SealingKey] = []
        try:
            with self._lock:
                if self._cluster is None:
                    self._cluster = ClusterKeyStore.of_default(self._registry)
            if self._cluster is not None:
                found.extend(self._cluster.keys())
        except (ClusterError, UsageError) as exc:
            log.info("the default cluster's sealing keys are not readable: %s", exc)
        found.extend(self._directory.keys())
        return sorted(found, key=lambda key: key.created, reverse=True)


def local_key_directory() -> KeyDirectory:
    """``<state dir>/sealing-keys``: the local key directory ``gitloop seal`` also uses."""
    from gitloop.localinfra.paths import state_dir

    return KeyDirectory(Path(state_dir()) / "sealing-keys")


def newest_certificate(ring: KeyRing) -> bytes:
    """The PEM certificate of ``ring``'s newest key (one is generated when there is none)."""
    return ring.ensure().certificate_pem
