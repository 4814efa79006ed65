"""In-memory fakes of gitloop's own ports for engine tests: a cluster, a git repository, a renderer.

``FakeCluster`` keeps objects in a dict with a growing resourceVersion, serves list + watch,
server-side apply (the applied object replaces the old one, ``status`` is kept), finalizers and
deletion, JSON patches of finalizers, and a ``controller`` hook that plays the part of Kubernetes'
controllers (e.g. completing a Job). ``FakeRepo`` is a git repository of commits made of file
dicts; ``FakeRenderer`` reads the YAML files under a source's path.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import itertools
import json
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from gitloop.errors import ClusterError, GitError, NotFoundError, RenderError
from gitloop.model.resources import GroupVersionKind, Manifest, ResourceKey
from gitloop.ports import ApiResource, CommitInfo, ObjectList, WatchEvent

Key = tuple[str, str, str, str]
_KINDS = [
    ("v1", "Namespace", False),
    ("v1", "ConfigMap", True),
    ("v1", "Secret", True),
    ("v1", "Service", True),
    ("v1", "Pod", True),
    ("v1", "ServiceAccount", True),
    ("apps/v1", "Deployment", True),
    ("apps/v1", "ReplicaSet", True),
    ("batch/v1", "Job", True),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", False),
]


def _without_version(obj: Manifest) -> Manifest:
    return {**obj, "metadata": {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}}


def _key(api_version: str, kind: str, name: str, namespace: str | None) -> Key:
    return (api_version.rpartition("/")[0], kind, namespace or "", name)


class FakeCluster:
    """The ``Cluster`` port in memory."""

    def __init__(self, *, controller: Callable[[Manifest], None] | None = None) -> None:
        self.objects: dict[Key, Manifest] = {}
        self.served = {
            (a, k): ApiResource(
                GroupVersionKind.from_api_version(a, k), k.lower() + "s", ns, frozenset({"list", "watch"})
            )
            for a, k, ns in _KINDS
        }
        self._rv = itertools.count(100)
        self._watchers: list[tuple[str, str, asyncio.Queue[WatchEvent]]] = []
        self.controller = controller
        self.calls: list[tuple[str, str]] = []
        self.fail_apply: dict[str, str] = {}
        """name → error message for applies of objects with that name."""
        self.expire_next_watch = False
        self.apply_times: dict[str, float] = {}

    # -- helpers for tests ---------------------------------------------------------------------------

    def add_namespace(self, name: str) -> None:
        self._store({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def find(self, kind: str, name: str, namespace: str = "") -> Manifest | None:
        for (_, k, ns, n), obj in self.objects.items():
            if (k, ns, n) == (kind, namespace, name):
                return obj
        return None

    def update(self, obj: Manifest) -> None:
        """Store a changed object as another actor would (a controller, ``kubectl``)."""
        self._store(copy.deepcopy(obj))

    def _store(self, obj: Manifest) -> Manifest:
        meta = obj.setdefault("metadata", {})
        meta["resourceVersion"] = str(next(self._rv))
        meta.setdefault(
            "uid",
            hashlib.sha1(json.dumps([obj["kind"], meta["name"]]).encode(), usedforsecurity=False).hexdigest(),
        )
        key = _key(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        event = "MODIFIED" if key in self.objects else "ADDED"
        self.objects[key] = obj
        self._emit(event, obj)
        return obj

    def _emit(self, kind: str, obj: Manifest) -> None:
        for api_version, k, queue in self._watchers:
            if (api_version, k) == (obj["apiVersion"], obj["kind"]):
                queue.put_nowait(WatchEvent(kind, copy.deepcopy(obj)))

    # -- the port ---------------------------------------------------------------------------------------

    async def resources(self) -> list[ApiResource]:
        return list(self.served.values())

    async def resource_for(self, api_version: str, kind: str) -> ApiResource:
        try:
            return self.served[(api_version, kind)]
        except KeyError:
            raise NotFoundError(f"the server does not serve {kind} in {api_version}", status=404) from None

    async def apply(self, manifest: Manifest, *, force: bool = True, dry_run: bool = False) -> Manifest:
        res = await self.resource_for(manifest["apiVersion"], manifest["kind"])
        meta = manifest.get("metadata") or {}
        name, ns = meta["name"], meta.get("namespace") if res.namespaced else None
        if res.namespaced:
            ns = ns or "default"
            if _key("v1", "Namespace", ns, None) not in self.objects:
                raise NotFoundError(f'namespaces "{ns}" not found', status=404)
        if name in self.fail_apply:
            raise ClusterError(self.fail_apply[name], status=422)
        self.calls.append(("dry-run" if dry_run else "apply", f"{manifest['kind']}/{name}"))
        key = _key(manifest["apiVersion"], manifest["kind"], name, ns)
        before = self.objects.get(key)
        out = copy.deepcopy(manifest)
        out["metadata"] = {**copy.deepcopy(meta), **({"namespace": ns} if ns else {})}
        out["metadata"]["managedFields"] = [{"manager": "gitloop", "operation": "Apply"}]
        if before is not None:
            if "status" in before:
                out["status"] = copy.deepcopy(before["status"])
            for extra in ("uid", "deletionTimestamp"):
                if extra in before["metadata"]:
                    out["metadata"][extra] = before["metadata"][extra]
            if _without_version(before) == _without_version(out):
                return copy.deepcopy(before)
        if dry_run:
            out["metadata"]["resourceVersion"] = before["metadata"]["resourceVersion"] if before else "0"
            return out
        self.apply_times[f"{manifest['kind']}/{name}"] = asyncio.get_running_loop().time()
        if self.controller is not None:
            self.controller(out)
        self._store(out)
        return copy.deepcopy(self.objects[key])

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
        key = _key(api_version, kind, name, namespace)
        obj = self.objects.get(key)
        if obj is None:
            raise NotFoundError(f"{kind} {name} not found", status=404)
        obj = copy.deepcopy(obj)
        assert patch_type == "json" and isinstance(patch, list)
        for op in patch:
            index = int(op["path"].rsplit("/", 1)[1])
            finalizers = obj["metadata"].get("finalizers", [])
            if op["op"] == "test" and finalizers[index] != op["value"]:
                raise ClusterError("test failed", status=422)
            if op["op"] == "remove":
                del finalizers[index]
        self._store(obj)
        self._collect(key)
        return copy.deepcopy(self.objects.get(key, obj))

    async def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Manifest:
        res = await self.resource_for(api_version, kind)
        obj = self.objects.get(
            _key(api_version, kind, name, (namespace or "default") if res.namespaced else None)
        )
        if obj is None:
            raise NotFoundError(f"{kind} {name} not found", status=404)
        return copy.deepcopy(obj)

    async def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[Manifest]:
        return (await self.snapshot(api_version, kind, namespace)).items

    async def snapshot(self, api_version: str, kind: str, namespace: str | None = None) -> ObjectList:
        await self.resource_for(api_version, kind)
        items = [
            copy.deepcopy(o)
            for (g, k, ns, _), o in self.objects.items()
            if (g, k) == (api_version.rpartition("/")[0], kind) and (namespace is None or ns == namespace)
        ]
        return ObjectList(items, str(next(self._rv)))

    async def watch(
        self, api_version: str, kind: str, namespace: str | None = None, resource_version: str | None = None
    ) -> AsyncIterator[WatchEvent]:
        if self.expire_next_watch:
            self.expire_next_watch = False
            raise ClusterError("too old resource version", status=410)
        queue: asyncio.Queue[WatchEvent] = asyncio.Queue()
        entry = (api_version, kind, queue)
        self._watchers.append(entry)
        try:
            while True:
                yield await queue.get()
        finally:
            self._watchers.remove(entry)

    async def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        propagation: str = "Foreground",
    ) -> None:
        res = await self.resource_for(api_version, kind)
        key = _key(api_version, kind, name, (namespace or "default") if res.namespaced else None)
        obj = self.objects.get(key)
        if obj is None:
            raise NotFoundError(f"{kind} {name} not found", status=404)
        self.calls.append(("delete", f"{kind}/{name}"))
        if obj["metadata"].get("finalizers"):
            obj = copy.deepcopy(obj)
            obj["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
            self._store(obj)
        else:
            del self.objects[key]
            self._emit("DELETED", obj)

    def _collect(self, key: Key) -> None:
        obj = self.objects.get(key)
        if (
            obj is not None
            and obj["metadata"].get("deletionTimestamp")
            and not obj["metadata"].get("finalizers")
        ):
            del self.objects[key]
            self._emit("DELETED", obj)

    async def close(self) -> None:
        return None


def complete_jobs(failing: set[str] | None = None) -> Callable[[Manifest], None]:
    """A controller that marks every applied Job complete (or failed, for names in ``failing``)."""
    failing = failing or set()

    def controller(obj: Manifest) -> None:
        if obj["kind"] == "Job":
            kind = "Failed" if obj["metadata"]["name"].split("-")[0] in failing else "Complete"
            obj["status"] = {"conditions": [{"type": kind, "status": "True"}]}
            if kind == "Complete":
                obj["status"]["succeeded"] = 1
        if obj["kind"] == "Deployment":
            replicas = obj["spec"].get("replicas", 1)
            obj["status"] = {
                "observedGeneration": obj["metadata"].get("generation", 0),
                "replicas": replicas,
                "updatedReplicas": replicas,
                "readyReplicas": replicas,
                "availableReplicas": replicas,
            }

    return controller


class FakeRepo:
    """The ``GitRepo`` port over commits of file dicts; branch ``main`` points at the last commit."""

    def __init__(self, url: str) -> None:
        self._url = url
        self.commits: dict[str, dict[str, str]] = {}
        self.order: list[str] = []
        self.fetches = 0
        self.reachable = True

    @property
    def url(self) -> str:
        return self._url

    def commit(self, files: Mapping[str, str | None]) -> str:
        base = dict(self.commits[self.order[-1]]) if self.order else {}
        for path, text in files.items():
            if text is None:
                base.pop(path, None)
            else:
                base[path] = text
        sha = hashlib.sha1(
            json.dumps([len(self.order), base], sort_keys=True).encode(), usedforsecurity=False
        ).hexdigest()
        self.commits[sha] = base
        self.order.append(sha)
        return sha

    def fetch(self) -> None:
        if not self.reachable:
            raise GitError(f"cannot reach {self._url}")
        self.fetches += 1

    def resolve(self, revision: str) -> str:
        if revision in ("HEAD", "main", "") and self.order:
            return self.order[-1]
        if revision in self.commits:
            return revision
        raise GitError(f"revision {revision!r} not found in {self._url}")

    def tree_id(self, commit: str, path: str = "") -> str:
        prefix = path.strip("/") + "/" if path.strip("/") else ""
        files = {p: t for p, t in self.commits[commit].items() if p.startswith(prefix)}
        return hashlib.sha1(json.dumps(files, sort_keys=True).encode(), usedforsecurity=False).hexdigest()

    def export(self, commit: str, dest: Path) -> Path:
        for path, text in self.commits[commit].items():
            (dest / path).parent.mkdir(parents=True, exist_ok=True)
            (dest / path).write_text(text)
        dest.mkdir(parents=True, exist_ok=True)
        return dest

    def commit_info(self, commit: str) -> CommitInfo:
        return CommitInfo(commit, "tester", "t@example.invalid", 0.0, f"commit {self.order.index(commit)}")


class FakeRenderer:
    """Reads every YAML file under the source's path (the ``Renderer`` port, directory sources only)."""

    def render(
        self,
        root: Path,
        source: dict[str, Any],
        *,
        app_name: str,
        namespace: str,
        revision: str = "",
        project: str = "",
        refs: Mapping[str, Path] | None = None,
    ) -> list[Manifest]:
        path = root / str(source.get("path", ""))
        if not path.is_dir():
            raise RenderError(f"app path does not exist: {source.get('path')}")
        found: list[Manifest] = []
        for file in sorted(path.glob("*.yaml")):
            try:
                found.extend(d for d in yaml.safe_load_all(file.read_text()) if d)
            except yaml.YAMLError as exc:
                raise RenderError(f"{file.name}: {exc}") from exc
        return found


def resource_key(kind: str, name: str, namespace: str = "", group: str = "") -> ResourceKey:
    return ResourceKey(group, kind, namespace, name)
