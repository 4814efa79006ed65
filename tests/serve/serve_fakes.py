"""Fakes of the server's two engine seams, payload builders and a client for the serve tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitloop.errors import NotFoundError, SyncError
from gitloop.gitops import resource as app_resource
from gitloop.gitops import tree
from gitloop.gitops.apiobjects import application_list
from gitloop.gitops.operation import SyncRequest
from gitloop.gitops.query import AppQuery, encode_continue
from gitloop.gitops.resource import ResourceRef
from gitloop.model.resources import Manifest, ResourceKey
from gitloop.service.server import Conflict, NotFound, Push, ServedListener
from gitloop.service.server.engines import Subscription
from gitloop.service.server.pushhooks import matching_apps
from gitloop.service.server.wiring import load_listener
from gitloop.spec.serveconfig import ListenerConfig

TESTDATA = Path(__file__).parent / "testdata"
GITHUB_SECRET = "github-hook-secret"
GITLAB_TOKEN = "gitlab-hook-token"
SHA = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class FakeLauncher:
    """Records what it was asked to launch; ``fail`` makes ``launch`` raise."""

    launched: list[dict[str, Any]] = field(default_factory=list)
    sources: list[Any] = field(default_factory=list)
    """The lineage link each launched run carries."""
    fail: Exception | None = None
    drained: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def launch(self, resource: dict[str, Any], *, event_id: str, source: Any = None) -> str:
        if self.fail is not None:
            raise self.fail
        with self.lock:
            self.launched.append(resource)
            self.sources.append(source)
        return str(resource["metadata"]["name"])

    def cancel(self, name: str, status: str | None = None) -> str:
        return status or "Cancelled"

    def rerun(self, name: str) -> str:
        return f"{name}-r-00000"

    def in_flight(self) -> int:
        return 0

    def resume(self) -> list[str]:
        return []

    def drain(self, grace: float, force: threading.Event | None = None) -> int:
        self.drained = True
        return 0

    def names(self) -> list[str]:
        with self.lock:
            return [str(r["metadata"]["name"]) for r in self.launched]


@dataclass
class FakeApps:
    """Applications as (repoURL, targetRevision) pairs; records refreshes and syncs."""

    sources: dict[str, list[tuple[str, str]]]
    refreshed: list[list[str]] = field(default_factory=list)
    synced: list[tuple[str, SyncRequest]] = field(default_factory=list)
    busy: set[str] = field(default_factory=set)
    event: threading.Event = field(default_factory=threading.Event)
    auto_sync: bool = False
    rolled_back: list[tuple[str, int]] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    stream_size: int = 256
    live: dict[str, list[Manifest]] = field(default_factory=dict)
    """Application name → its live objects: those without ``ownerReferences`` are its resources, the rest
    are owned (the resource tree is built from them by the engine's own ``tree``)."""

    def names(self) -> list[str]:
        return sorted(self.sources)

    def project_of(self, name: str) -> str | None:
        return "default" if name in self.sources else None

    def project_specs(self) -> list[Any]:
        from gitloop.spec.argocd import DEFAULT_PROJECT

        return [DEFAULT_PROJECT]

    def apps_for_push(self, push: Push) -> list[str]:
        return matching_apps(push, self.sources)

    def refresh(self, app_names: Sequence[str]) -> None:
        self.refreshed.append(list(app_names))
        self.event.set()

    def status(self, name: str) -> Mapping[str, Any]:
        if name not in self.sources:
            raise NotFound(f"no Application named {name!r}")
        return {
            "metadata": {"name": name},
            "status": {"sync": {"status": "Synced"}, "health": {"status": "Healthy"}},
        }

    async def refresh_now(self, name: str) -> Mapping[str, Any]:
        self.refreshed.append([name])
        return self.status(name)

    async def sync(self, name: str, request: SyncRequest, *, wait: bool) -> Mapping[str, Any]:
        self.status(name)
        if name in self.busy:
            raise Conflict(f"{name}: another operation is already in progress")
        self.synced.append((name, request))
        return {"phase": "Succeeded" if wait else "Running"}

    async def drain(self, grace: float, force: threading.Event | None = None) -> None:
        for subscription in self.subscriptions:
            subscription.close()

    # -- /api/v1 ------------------------------------------------------------------------------------

    def _shown(self, name: str) -> dict[str, Any]:
        return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", **self.status(name)}

    def list_applications(self, query: AppQuery) -> dict[str, Any]:
        chosen = [n for n in self.names() if (not query.name or n == query.name) and query.search in n]
        start = next((i for i, n in enumerate(chosen) if n > query.after), len(chosen)) if query.after else 0
        shown = chosen[start:][: query.limit] if query.limit else chosen[start:]
        more = bool(query.limit) and start + len(shown) < len(chosen)
        return application_list([self._shown(n) for n in shown], encode_continue(shown[-1]) if more else "")

    async def application(self, name: str, *, refresh: str = "") -> dict[str, Any]:
        if refresh:
            self.refreshed.append([name])
        return self._shown(name)

    async def start_sync(self, name: str, request: SyncRequest) -> dict[str, Any]:
        await self.sync(name, request, wait=False)
        return self._shown(name)

    async def rollback(
        self, name: str, history_id: int, *, prune: bool, dry_run: bool, username: str = ""
    ) -> dict[str, Any]:
        self.status(name)
        if self.auto_sync:
            raise SyncError(f"rollback cannot be initiated when auto-sync is enabled: {name}")
        self.rolled_back.append((name, history_id))
        return self._shown(name)

    async def create(self, app: Any, *, upsert: bool) -> dict[str, Any]:
        self.sources.setdefault(app.name, [(app.sources[0].repo_url, app.sources[0].target_revision)])
        return self._shown(app.name)

    async def update(self, name: str, app: Any) -> dict[str, Any]:
        self.status(name)
        return self._shown(name)

    def delete(self, name: str, *, cascade: bool | None, propagation: str | None) -> None:
        self.status(name)
        self.sources.pop(name)

    def sync_windows(self, name: str) -> dict[str, Any]:
        self.status(name)
        return {"activeWindows": [], "assignedWindows": [], "canSync": True}

    def terminate(self, name: str) -> None:
        self.status(name)
        if name not in self.busy:
            raise SyncError(f"{name}: no operation is in progress")
        self.busy.discard(name)

    async def resource_tree(self, name: str) -> dict[str, Any]:
        self.status(name)
        return {"nodes": [], "orphanedNodes": [], "hosts": []}

    async def managed_resources(self, name: str) -> dict[str, Any]:
        self.status(name)
        return {"items": []}

    async def manifests(self, name: str) -> dict[str, Any]:
        self.status(name)
        return {"manifests": [], "revision": SHA, "namespace": "", "server": ""}

    async def events(self, name: str) -> dict[str, Any]:
        self.status(name)
        return {"apiVersion": "v1", "kind": "EventList", "metadata": {}, "items": []}

    async def resource(self, name: str, ref: ResourceRef) -> dict[str, Any]:
        self.status(name)
        objects = self.live.get(name, [])
        roots = {ResourceKey.of(o): o for o in objects if not o["metadata"].get("ownerReferences")}

        async def get(api_version: str, kind: str, obj_name: str, namespace: str | None) -> Manifest:
            for obj in objects:
                meta = obj["metadata"]
                if (obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace")) == (
                    api_version,
                    kind,
                    obj_name,
                    namespace,
                ):
                    return obj
            raise NotFoundError(f"{kind} {obj_name} not found", status=404)

        manifest = await app_resource.live(get, tree.resource_tree(roots, objects), ref, name)
        return {"manifest": manifest}

    def subscribe(self, query: AppQuery) -> Subscription:
        subscription = Subscription(query, size=self.stream_size)
        for name in self.names():
            if not query.name or query.name == name:
                subscription.offer({"result": {"type": "ADDED", "application": self._shown(name)}})
        self.subscriptions.append(subscription)
        return subscription

    def publish(self, name: str) -> None:
        """A change of ``name`` to every subscriber (``MODIFIED``)."""
        for subscription in self.subscriptions:
            subscription.offer({"result": {"type": "MODIFIED", "application": self._shown(name)}})

    def projects(self) -> dict[str, Any]:
        return {"metadata": {}, "items": [{"metadata": {"name": "default"}, "spec": {}}]}

    def project(self, name: str) -> dict[str, Any]:
        if name != "default":
            raise NotFound(f"no AppProject named {name!r}")
        return {"metadata": {"name": "default"}, "spec": {}}

    async def clusters(self) -> dict[str, Any]:
        return {"metadata": {}, "items": []}


def github_push(
    ref: str = "refs/heads/main",
    after: str = SHA,
    repo: str = "http://git.example.com/team/app-source",
    message: str = "change",
) -> bytes:
    body = {
        "ref": ref,
        "before": "0" * 40,
        "after": after,
        "deleted": False,
        "repository": {
            "name": repo.rsplit("/", 1)[-1],
            "html_url": repo,
            "clone_url": f"{repo}.git",
            "default_branch": "main",
        },
        "head_commit": {"id": after, "message": message, "timestamp": "2026-11-21T10:00:00Z"},
    }
    return json.dumps(body).encode()


def sign(body: bytes, secret: str = GITHUB_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github_headers(
    body: bytes, *, event: str = "push", secret: str | None = GITHUB_SECRET, delivery: str | None = None
) -> dict[str, str]:
    headers = {"X-GitHub-Event": event, "Content-Type": "application/json"}
    headers["X-GitHub-Delivery"] = delivery or str(uuid.uuid4())
    if secret is not None:
        headers["X-Hub-Signature-256"] = sign(body, secret)
    return headers


def listeners(launcher: FakeLauncher) -> dict[str, ServedListener]:
    """The two test listeners, both launching with ``launcher``."""
    served = {}
    for name in ("github", "gitlab"):
        entry = ListenerConfig(name, (TESTDATA / "listeners.yaml",), (), (TESTDATA / "secrets.yaml",))
        listener, secrets = load_listener(entry)
        served[name] = ServedListener(listener, secrets, launcher)
    return served


def refused_counts(metrics: str) -> dict[tuple[str, str], float]:
    """``gitloop_http_refused_total`` of a ``/metrics`` text, by ``(reason, code)``."""
    counts: dict[tuple[str, str], float] = {}
    for line in metrics.splitlines():
        if line.startswith("gitloop_http_refused_total{"):
            labels, value = line[len("gitloop_http_refused_total{") :].split("} ")
            fields = dict(part.split("=", 1) for part in labels.split(","))
            counts[(fields["reason"].strip('"'), fields["code"].strip('"'))] = float(value)
    return counts


def open_access(store: Any) -> Any:
    """Access control that lets anyone do anything (``auth.anonymous`` with ``role:admin`` as the default
    role): for the tests of what the routes do, not of who may call them."""
    from gitloop.service.server.access import ServedAccess
    from gitloop.spec.serve_auth import AuthConfig, RBACConfig

    return ServedAccess.build(store, AuthConfig(anonymous=True), RBACConfig(policy_default="role:admin"))
