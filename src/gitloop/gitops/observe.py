"""One destination cluster as the engine reads it: discovery, the live cache, predicted objects.

``place`` puts rendered manifests where they will live — a namespaced object without a namespace
gets the destination's (``default`` when the destination names none), a cluster-scoped one loses any
namespace it was given — and prepares them for applying (``gitloop.gitops.tracking.prepare``);
objects of kinds the server does not serve (and no CustomResourceDefinition in the same manifests
defines) are reported. ``gather`` collects the live side of a comparison: the objects the
Application tracks (from ``LiveCache``), desired objects that exist untracked or tracked by another
Application (read once, never modified by the comparison), and the server-side apply dry run of each
desired object that exists — the predicted live object of ``gitloop.gitops.diff``. Dry runs are
remembered by the desired object's digest and the live object's content without status and
versions, so a steady cluster costs no API calls; a failed dry run falls back to the three-way
comparison. ``observe`` reads watched keys for the sync driver. Every request goes through one limit of concurrent
requests per cluster (16), which keeps the client's connections few and reused.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitloop.errors import ClusterError, NotFoundError
from gitloop.gitops.live import LiveCache, resource_version
from gitloop.gitops.tracking import prepare
from gitloop.model.resources import GroupVersionKind, Manifest, ResourceKey
from gitloop.ports import ApiResource, Cluster

_PREDICTED_CACHE = 20_000
_UNSERVED_TTL = 5.0
CRD_GROUP = "apiextensions.k8s.io"


def digest(obj: Manifest) -> str:
    """A stable digest of an object's JSON."""
    return hashlib.sha1(
        json.dumps(obj, sort_keys=True, default=str).encode(), usedforsecurity=False
    ).hexdigest()


def content_fingerprint(obj: Manifest) -> str:
    """A digest of what a dry run depends on: the object without status and versions."""
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = dict(out.get("metadata") or {})
    meta.pop("resourceVersion", None)
    managed = meta.get("managedFields")
    if isinstance(managed, list):
        meta["managedFields"] = [
            {k: v for k, v in entry.items() if k != "time"} for entry in managed if isinstance(entry, dict)
        ]
    out["metadata"] = meta
    return digest(out)


@dataclass(frozen=True)
class Placed:
    """Desired objects as they will be applied, with their digests, and kinds the cluster lacks."""

    desired: tuple[Manifest, ...]
    digests: Mapping[ResourceKey, str] = field(default_factory=dict)
    unknown: Mapping[ResourceKey, str] = field(default_factory=dict)
    """Objects whose kind the server does not serve, with the reason."""
    cluster_scoped: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class Gathered:
    """The live side of one comparison."""

    live: Mapping[ResourceKey, Manifest]
    predicted: Mapping[ResourceKey, Manifest]
    problems: Mapping[tuple[str, str], str] = field(default_factory=dict)
    """Kinds whose live state could not be read, with the reason."""
    shared: tuple[str, ...] = ()
    """Desired objects another Application tracks."""
    read: bool = False
    """Objects were read from the API server (not only from the cache)."""


def _crd_scopes(manifests: Sequence[Manifest]) -> dict[tuple[str, str], bool]:
    """``(group, kind) → namespaced`` for the kinds CRDs among ``manifests`` define."""
    found = {}
    for obj in manifests:
        spec = obj.get("spec")
        key = ResourceKey.of(obj)
        if (key.group, key.kind) != (CRD_GROUP, "CustomResourceDefinition") or not isinstance(spec, dict):
            continue
        names = spec.get("names")
        if (
            isinstance(names, dict)
            and isinstance(spec.get("group"), str)
            and isinstance(names.get("kind"), str)
        ):
            found[(spec["group"], names["kind"])] = spec.get("scope", "Namespaced") == "Namespaced"
    return found


class ClusterView:
    """Reads of one cluster for the engine; shared by every Application deployed to it."""

    def __init__(
        self,
        cluster: Cluster,
        cache: LiveCache | None = None,
        *,
        concurrency: int = 16,
        name: str = "",
        server: str = "",
    ) -> None:
        self.cluster = cluster
        self.name, self.server = name, server
        """The registered cluster's name and server URL (``""``: not known), for the project's
        destination rules when an Application names only one of them."""
        self.cache = cache if cache is not None else LiveCache(cluster)
        self._limit = asyncio.Semaphore(concurrency)
        self._kinds: dict[tuple[str, str], tuple[ApiResource | None, float]] = {}
        self._predicted: OrderedDict[tuple[ResourceKey, str, str], Manifest | None] = OrderedDict()
        self._fingerprints: dict[ResourceKey, tuple[int, str]] = {}

    async def kind(self, api_version: str, kind: str) -> ApiResource | None:
        """The served kind, or ``None`` when the server does not serve it (re-checked after a few seconds)."""
        known = self._kinds.get((api_version, kind))
        if known is not None and (known[0] is not None or time.monotonic() - known[1] < _UNSERVED_TTL):
            return known[0]
        try:
            found: ApiResource | None = await self.cluster.resource_for(api_version, kind)
        except NotFoundError:
            found = None
        self._kinds[(api_version, kind)] = (found, time.monotonic())
        return found

    async def place(self, app: str, manifests: Sequence[Manifest], namespace: str) -> Placed:
        """``manifests`` namespaced and prepared as ``app`` applies them."""
        crds = _crd_scopes(manifests)
        kinds = {(str(m["apiVersion"]), str(m["kind"])) for m in manifests}
        served = dict(zip(kinds, await asyncio.gather(*(self.kind(a, k) for a, k in kinds)), strict=True))
        desired: list[Manifest] = []
        unknown: dict[ResourceKey, str] = {}
        cluster_scoped: set[tuple[str, str]] = set()
        for obj in manifests:
            api_version, kind = str(obj["apiVersion"]), str(obj["kind"])
            gvk = GroupVersionKind.from_api_version(api_version, kind)
            res = served[(api_version, kind)]
            namespaced = res.namespaced if res is not None else crds.get((gvk.group, kind), True)
            out = copy.copy(obj)
            meta = dict(out.get("metadata") or {})
            if namespaced and not meta.get("namespace"):
                meta["namespace"] = namespace or "default"
            elif not namespaced:
                meta.pop("namespace", None)
                cluster_scoped.add((gvk.group, kind))
            out["metadata"] = meta
            prepared = prepare(out, app)
            desired.append(prepared)
            if res is None and (gvk.group, kind) not in crds:
                unknown[ResourceKey.of(prepared)] = (
                    f"the server does not serve {kind} in {api_version} (no such kind or CRD)"
                )
        digests = {ResourceKey.of(m): digest(m) for m in desired}
        return Placed(tuple(desired), digests, unknown, frozenset(cluster_scoped))

    async def apply(self, manifest: Manifest, *, dry_run: bool = False) -> Manifest:
        """Server-side apply (conflicts forced), within the view's limit of concurrent requests."""
        async with self._limit:
            return await self.cluster.apply(manifest, force=True, dry_run=dry_run)

    async def delete(
        self, api_version: str, kind: str, name: str, namespace: str | None, *, propagation: str
    ) -> None:
        async with self._limit:
            await self.cluster.delete(api_version, kind, name, namespace or None, propagation=propagation)

    async def patch(
        self, api_version: str, kind: str, name: str, namespace: str | None, operations: list[dict[str, Any]]
    ) -> None:
        """A JSON patch of one object."""
        async with self._limit:
            await self.cluster.patch(
                api_version, kind, name, namespace or None, patch=operations, patch_type="json"
            )

    async def get(self, api_version: str, kind: str, name: str, namespace: str | None) -> Manifest | None:
        """One object from the API server, ``None`` if it does not exist."""
        async with self._limit:
            try:
                return await self.cluster.get(api_version, kind, name, namespace or None)
            except NotFoundError:
                return None

    async def gather(self, app: str, placed: Placed, extra_kinds: Iterable[tuple[str, str]] = ()) -> Gathered:
        """The live objects of ``app`` and of its desired resources, and their predicted objects."""
        kinds = {(str(m["apiVersion"]), str(m["kind"])) for m in placed.desired}
        known = [k for k in (*kinds, *extra_kinds) if await self.kind(*k) is not None]
        problems = await self.cache.watch_kinds(known)
        live = self.cache.objects(app)
        shared: list[str] = []
        reads: dict[ResourceKey, Manifest] = {}
        lookups = []
        for obj in placed.desired:
            key = ResourceKey.of(obj)
            if key in placed.unknown:
                continue
            current = live.get(key)
            owner = self.cache.owner(key)
            if current is None and owner is not None and owner != app:
                shared.append(f"{key} is part of applications {app} and {owner}")
            if current is None and self.cache.exists(key) is False:
                continue  # the cache knows it does not exist
            if current is None or current.get("apiVersion") != obj["apiVersion"]:
                lookups.append((key, obj))
        found = await asyncio.gather(
            *(self.get(str(o["apiVersion"]), key.kind, key.name, key.namespace) for key, o in lookups)
        )
        for (key, _), read in zip(lookups, found, strict=True):
            if read is not None:
                reads[key] = read
        live.update(reads)
        predicted = await self._predict(placed, live)
        return Gathered(live, predicted, problems, tuple(shared), read=bool(lookups))

    async def _predict(
        self, placed: Placed, live: Mapping[ResourceKey, Manifest]
    ) -> dict[ResourceKey, Manifest]:
        todo = []
        predicted: dict[ResourceKey, Manifest] = {}
        for obj in placed.desired:
            key = ResourceKey.of(obj)
            current = live.get(key)
            if current is None or key in placed.unknown:
                continue
            entry = (key, placed.digests[key], self.fingerprint(key, current))
            if entry in self._predicted:
                self._predicted.move_to_end(entry)
                cached = self._predicted[entry]
                if cached is not None:
                    predicted[key] = cached
            else:
                todo.append((entry, obj))
        results = await asyncio.gather(*(self._dry_run(obj) for _, obj in todo))
        for (entry, _), result in zip(todo, results, strict=True):
            self._predicted[entry] = result
            if result is not None:
                predicted[entry[0]] = result
        while len(self._predicted) > _PREDICTED_CACHE:
            self._predicted.popitem(last=False)
        return predicted

    def fingerprint(self, key: ResourceKey, obj: Manifest) -> str:
        """``content_fingerprint`` of a live object, remembered by its resourceVersion."""
        version = resource_version(obj)
        known = self._fingerprints.get(key)
        if known is not None and known[0] == version and version:
            return known[1]
        found = content_fingerprint(obj)
        self._fingerprints[key] = (version, found)
        return found

    def remember(self, desired: Manifest, applied: Manifest) -> None:
        """What an apply of ``desired`` returned is its predicted object (no dry run needed for it)."""
        key = ResourceKey.of(applied)
        self._predicted[(key, digest(desired), self.fingerprint(key, applied))] = applied

    async def _dry_run(self, obj: Manifest) -> Manifest | None:
        try:
            return await self.apply(obj, dry_run=True)
        except ClusterError:
            return None  # immutable fields, admission: the three-way comparison decides instead

    async def observe(
        self, wanted: Mapping[ResourceKey, str], unconfirmed: dict[ResourceKey, int]
    ) -> dict[ResourceKey, Any]:
        """The live objects of ``wanted`` (key → apiVersion) that exist.

        ``unconfirmed`` holds keys just applied (with the version the apply returned) or deleted (0):
        they are read from the API server until the cache holds that version (or the same as the
        server); the others come from the cache when it watches their kind."""
        found: dict[ResourceKey, Manifest] = {}
        reads = []
        for key, api_version in wanted.items():
            cached = self.cache.get(key)
            watched = self.cache.watching(key.group, key.kind)
            if watched and 0 < unconfirmed.get(key, 0) <= resource_version(cached):
                del unconfirmed[key]
            fits = cached is None or cached.get("apiVersion") == api_version
            if key not in unconfirmed and watched and fits:
                if cached is not None:
                    found[key] = cached
            else:
                reads.append((key, api_version))
        results = await asyncio.gather(*(self.get(a, k.kind, k.name, k.namespace) for k, a in reads))
        for (key, _), obj in zip(reads, results, strict=True):
            cached = self.cache.get(key)
            if resource_version(cached) == resource_version(obj) and (cached is None) == (obj is None):
                unconfirmed.pop(key, None)
            if obj is not None:
                found[key] = obj
        return found
