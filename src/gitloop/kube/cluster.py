"""``KubeCluster``: the ``Cluster`` port on lightkube's ``AsyncClient``.

Objects are plain dicts in and out. Kinds are found by discovery, so any group/kind the server
serves (CRDs included) works without generated models. Server-side apply uses field manager
``gitloop``. Every lightkube / transport error is mapped into the ``ClusterError`` tree.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx2
import lightkube
from lightkube import generic_resource
from lightkube.config import client_adapter
from lightkube.config.kubeconfig import KubeConfig, SingleConfig
from lightkube.core.exceptions import ConfigError
from lightkube.types import PatchType

from gitloop.errors import ClusterError, ConflictError, ForbiddenError, NotFoundError, UsageError
from gitloop.kube.discovery import group_versions, resources_of
from gitloop.kube.observed import observe_requests
from gitloop.model.resources import GroupVersionKind, Manifest
from gitloop.ports import ApiResource, ObjectList, Observer, WatchEvent, no_observer

FIELD_MANAGER = "gitloop"
T = TypeVar("T")

# lightkube registers every generic resource class process-wide and refuses a second class for the
# same kind, so the classes are shared by all KubeCluster instances.
_TYPES: dict[tuple[GroupVersionKind, str, bool], Any] = {}


def _map_error(exc: Exception, what: str) -> ClusterError:
    if isinstance(exc, lightkube.ApiError):
        code = exc.status.code or 0
        reason = exc.status.reason or ""
        msg = f"{what}: {exc.status.message or reason or 'HTTP ' + str(code)}"
        if code == 404:
            return NotFoundError(msg, status=code, reason=reason)
        if code == 409:
            return ConflictError(msg, status=code, reason=reason)
        if code in (401, 403):
            return ForbiddenError(msg, status=code, reason=reason)
        return ClusterError(msg, status=code, reason=reason)
    return ClusterError(f"{what}: {type(exc).__name__}: {exc}")


class KubeCluster:
    """One cluster, reached through a kubeconfig context; every request reported to ``observe``
    (:mod:`gitloop.kube.observed`)."""

    def __init__(
        self, config: SingleConfig, *, timeout: float = 30.0, observe: Observer = no_observer
    ) -> None:
        self._config = config
        self._client = lightkube.AsyncClient(
            config, field_manager=FIELD_MANAGER, timeout=httpx2.Timeout(timeout), trust_env=False
        )
        self._raw = client_adapter.AsyncClient(
            config, client_adapter.ConnectionParams(timeout=httpx2.Timeout(timeout), trust_env=False)
        )
        if observe is not no_observer:
            for client in (self._client._client._client, self._raw):  # lightkube's own HTTP client
                observe_requests(client, self.server, observe)
        self._discovered: list[ApiResource] | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def from_kubeconfig(
        cls, path: str | Path | None = None, context: str | None = None, *, observe: Observer = no_observer
    ) -> KubeCluster:
        """From ``path`` (or ``$KUBECONFIG`` / ``~/.kube/config``), optionally a named context."""
        try:
            kc = KubeConfig.from_file(str(path)) if path else KubeConfig.from_env()
            single = kc.get(context_name=context)
            if single is None:
                raise UsageError(f"kubeconfig {path or '(from environment)'}: no context to use")
            return cls(single, observe=observe)
        except ConfigError as exc:
            raise UsageError(f"kubeconfig {path or '(from environment)'}: {exc}") from exc
        except OSError as exc:
            raise UsageError(f"kubeconfig {path}: {exc.strerror or exc}") from exc

    @property
    def server(self) -> str:
        return str(self._config.cluster.server)

    # ---- discovery -----------------------------------------------------------------------------
    async def _get_json(self, path: str) -> dict[str, Any]:
        try:
            resp = await self._raw.get(path)
        except httpx2.HTTPError as exc:
            raise ClusterError(f"GET {path} on {self.server}: {exc}") from exc
        if resp.status_code != 200:
            raise ClusterError(
                f"GET {path} on {self.server}: HTTP {resp.status_code}", status=resp.status_code
            )
        data: dict[str, Any] = resp.json()
        return data

    async def _discover(self) -> list[ApiResource]:
        async with self._lock:
            if self._discovered is None:
                core, groups = await asyncio.gather(self._get_json("/api"), self._get_json("/apis"))
                gvs = group_versions(core, groups)
                lists = await asyncio.gather(
                    *(self._get_json(f"/api/{gv}" if "/" not in gv else f"/apis/{gv}") for gv, _ in gvs)
                )
                found: list[ApiResource] = []
                preferred: list[ApiResource] = []
                for (gv, is_preferred), rl in zip(gvs, lists, strict=True):
                    rs = resources_of(gv, rl)
                    found.extend(rs)
                    if is_preferred:
                        preferred.extend(rs)
                self._all = found
                self._discovered = preferred
            return self._discovered

    async def version(self) -> dict[str, Any]:
        """The API server's ``/version`` (``major``, ``minor``, ``gitVersion``...): a cheap probe."""
        return await self._get_json("/version")

    async def resources(self) -> list[ApiResource]:
        return list(await self._discover())

    def invalidate(self) -> None:
        """Forget discovery results (after CRDs were added or removed)."""
        self._discovered = None

    async def resource_for(self, api_version: str, kind: str) -> ApiResource:
        gvk = GroupVersionKind.from_api_version(api_version, kind)
        for attempt in (0, 1):
            await self._discover()
            for r in self._all:
                if r.gvk == gvk:
                    return r
            if attempt == 0:
                self.invalidate()
        raise NotFoundError(f"the server {self.server} does not serve {kind} in {api_version}", status=404)

    async def _type(self, api_version: str, kind: str) -> tuple[ApiResource, Any]:
        res = await self.resource_for(api_version, kind)
        key = (res.gvk, res.plural, res.namespaced)
        t = _TYPES.get(key)
        if t is None:
            t = generic_resource.get_generic_resource(res.gvk.api_version, kind)  # type: ignore[no-untyped-call]
            if t is None:
                g, v = res.gvk.group, res.gvk.version
                make = (
                    generic_resource.create_namespaced_resource
                    if res.namespaced
                    else generic_resource.create_global_resource
                )
                t = make(g, v, kind, res.plural)
            _TYPES[key] = t
        return res, t

    # ---- calls ---------------------------------------------------------------------------------
    async def _call(self, what: str, make: Callable[[], Awaitable[T]]) -> T:
        try:
            return await make()
        except (lightkube.ApiError, httpx2.HTTPError) as exc:
            raise _map_error(exc, what) from exc

    async def apply(self, manifest: Manifest, *, force: bool = True, dry_run: bool = False) -> Manifest:
        api_version, kind = str(manifest.get("apiVersion", "")), str(manifest.get("kind", ""))
        meta = manifest.get("metadata") or {}
        name, ns = meta.get("name"), meta.get("namespace")
        if not isinstance(name, str) or not name:
            raise ClusterError(f"apply {kind}: the object has no metadata.name")
        res, t = await self._type(api_version, kind)
        if res.namespaced and not ns:
            ns = "default"
        what = f"apply {kind} {f'{ns}/' if res.namespaced else ''}{name}"
        out = await self._call(
            what,
            lambda: self._client.patch(
                t,
                name,
                manifest,
                namespace=ns if res.namespaced else None,
                patch_type=PatchType.APPLY,
                field_manager=FIELD_MANAGER,
                force=force,
                dry_run=dry_run,
            ),
        )
        return _plain(out)

    async def patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        patch: list[dict[str, Any]] | dict[str, Any],
        patch_type: str = "merge",
    ) -> Manifest:
        types = {"merge": PatchType.MERGE, "json": PatchType.JSON}
        if patch_type not in types:
            raise ClusterError(f"patch {kind} {name}: unknown patch type {patch_type!r} (merge or json)")
        res, t = await self._type(api_version, kind)
        ns = (namespace or "default") if res.namespaced else None
        out = await self._call(
            f"patch {kind} {name}",
            lambda: self._client.patch(t, name, patch, namespace=ns, patch_type=types[patch_type]),
        )
        return _plain(out)

    async def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Manifest:
        res, t = await self._type(api_version, kind)
        ns = (namespace or "default") if res.namespaced else None
        out = await self._call(f"get {kind} {name}", lambda: self._client.get(t, name, namespace=ns))
        return _plain(out)

    async def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
    ) -> list[Manifest]:
        res, t = await self._type(api_version, kind)
        ns: Any = (
            namespace if res.namespaced and namespace else (lightkube.ALL_NS if res.namespaced else None)
        )
        labels = _labels(label_selector)

        async def collect() -> list[Manifest]:
            return [
                _plain(o, api_version, kind) async for o in self._client.list(t, namespace=ns, labels=labels)
            ]

        return await self._call(f"list {kind}", collect)

    async def snapshot(self, api_version: str, kind: str, namespace: str | None = None) -> ObjectList:
        res, t = await self._type(api_version, kind)
        ns: Any = (
            namespace if res.namespaced and namespace else (lightkube.ALL_NS if res.namespaced else None)
        )

        async def collect() -> ObjectList:
            listing = self._client.list(t, namespace=ns)
            items = [_plain(o, api_version, kind) async for o in listing]
            return ObjectList(items, listing.resourceVersion)

        return await self._call(f"list {kind}", collect)

    async def watch(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        resource_version: str | None = None,
    ) -> AsyncIterator[WatchEvent]:
        res, t = await self._type(api_version, kind)
        ns: Any = (
            namespace if res.namespaced and namespace else (lightkube.ALL_NS if res.namespaced else None)
        )
        try:
            async for event, obj in self._client.watch(t, namespace=ns, resource_version=resource_version):
                yield WatchEvent(str(event), _plain(obj, api_version, kind))
        except (lightkube.ApiError, httpx2.HTTPError) as exc:
            raise _map_error(exc, f"watch {kind}") from exc

    async def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        propagation: str = "Foreground",
    ) -> None:
        from lightkube.types import CascadeType

        res, t = await self._type(api_version, kind)
        ns = (namespace or "default") if res.namespaced else None
        cascade = {"Foreground": CascadeType.FOREGROUND, "Background": CascadeType.BACKGROUND}.get(
            propagation, CascadeType.ORPHAN
        )
        await self._call(
            f"delete {kind} {name}", lambda: self._client.delete(t, name, namespace=ns, cascade=cascade)
        )

    async def close(self) -> None:
        await self._client.close()
        await self._raw.aclose()

    async def __aenter__(self) -> KubeCluster:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _labels(selector: str | None) -> dict[str, Any] | None:
    """``a=b,c`` into lightkube's label filter (equality and existence terms)."""
    if not selector:
        return None
    out: dict[str, Any] = {}
    for term in selector.split(","):
        term = term.strip()
        if "=" in term:
            k, _, v = term.partition("=")
            out[k.rstrip("=").strip()] = v.lstrip("=").strip()
        elif term:
            from lightkube import operators

            out[term] = operators.exists()
        # Anything richer (in, notin, !=) is not needed by gitloop's callers yet.
    return out


def _plain(obj: Any, api_version: str | None = None, kind: str | None = None) -> Manifest:
    d: Manifest = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    # List items come without apiVersion/kind; put them back so every object is self-describing.
    if api_version and "apiVersion" not in d:
        d["apiVersion"] = api_version
    if kind and "kind" not in d:
        d["kind"] = kind
    return d
