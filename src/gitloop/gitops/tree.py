"""An Application's resource tree, as Argo CD's ``ApplicationTree``: its resources and what they own. Pure.

The roots are the live objects the Application tracks; below them, found by ``ownerReferences``,
the objects their controllers made (Deployment → ReplicaSet → Pod, Job → Pod, StatefulSet and
DaemonSet → Pod, CronJob → Job → Pod, Service → EndpointSlice). The candidates are read from the
cluster by the caller (``CHILD_KINDS`` in the namespaces of the roots); only those reachable from a
root are kept. Each node carries Argo CD's ``ResourceNode`` fields: group, version, kind, namespace,
name, uid, resourceVersion, ``parentRefs``, ``health`` (the engine's health rules), ``images`` and
``createdAt``. ``involved`` picks the Kubernetes Events about the tree's objects.

An App of Apps parent's children (Applications, AppProjects, ApplicationSets: the engine's own objects,
not the cluster's) are nodes too, from the parent's resource statuses, with a child Application's own
health (``child_node``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gitloop.gitops import health
from gitloop.gitops.status import ResourceStatus
from gitloop.model.images import images_in
from gitloop.model.resources import Manifest, ResourceKey

CHILD_KINDS: tuple[tuple[str, str], ...] = (
    ("apps/v1", "ReplicaSet"),
    ("v1", "Pod"),
    ("batch/v1", "Job"),
    ("discovery.k8s.io/v1", "EndpointSlice"),
)
"""``(apiVersion, kind)`` of the objects controllers make for an Application's resources."""


def _meta(obj: Manifest) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _uid(obj: Manifest) -> str:
    return str(_meta(obj).get("uid") or "")


def _ref(obj: Manifest) -> dict[str, str]:
    key = ResourceKey.of(obj)
    return {
        "group": key.group,
        "kind": key.kind,
        "namespace": key.namespace,
        "name": key.name,
        "uid": _uid(obj),
    }


def node(obj: Manifest, parents: Sequence[Manifest] = ()) -> dict[str, Any]:
    """One ``ResourceNode``."""
    key = ResourceKey.of(obj)
    meta = _meta(obj)
    found: dict[str, Any] = {
        "group": key.group,
        "version": str(obj.get("apiVersion", "")).rpartition("/")[2],
        "kind": key.kind,
        "namespace": key.namespace,
        "name": key.name,
        "uid": _uid(obj),
        "resourceVersion": str(meta.get("resourceVersion") or ""),
        "parentRefs": [_ref(p) for p in parents],
        "images": list(images_in([obj])),
        "createdAt": meta.get("creationTimestamp"),
        "info": [],
    }
    result = health.assess(obj)
    if result is not None:
        found["health"] = {"status": result.status.value}
        if result.message:
            found["health"]["message"] = result.message
    return found


def child_node(status: ResourceStatus) -> dict[str, Any]:
    """The ``ResourceNode`` of an App of Apps child, from its status in the parent."""
    key = status.key
    found: dict[str, Any] = {
        "group": key.group,
        "version": status.api_version.rpartition("/")[2],
        "kind": key.kind,
        "namespace": key.namespace,
        "name": key.name,
        "uid": "",
        "resourceVersion": "",
        "parentRefs": [],
        "images": [],
        "createdAt": None,
        "info": [],
    }
    if status.health is not None:
        found["health"] = {"status": status.health.status.value}
        if status.health.message:
            found["health"]["message"] = status.health.message
    return found


def _owners(obj: Manifest) -> list[str]:
    refs = _meta(obj).get("ownerReferences")
    if not isinstance(refs, list):
        return []
    return [str(r["uid"]) for r in refs if isinstance(r, dict) and r.get("uid")]


def owned(roots: Iterable[Manifest], candidates: Iterable[Manifest]) -> list[tuple[Manifest, list[Manifest]]]:
    """The candidates reachable from ``roots`` by ownerReferences, each with its owners in the tree,
    in breadth-first order (an object owned twice appears once)."""
    by_owner: dict[str, list[Manifest]] = {}
    for obj in candidates:
        for uid in _owners(obj):
            by_owner.setdefault(uid, []).append(obj)
    in_tree: dict[str, Manifest] = {_uid(r): r for r in roots if _uid(r)}
    queue = list(in_tree)
    found: list[tuple[Manifest, list[Manifest]]] = []
    while queue:
        uid = queue.pop(0)
        for child in by_owner.get(uid, ()):
            child_uid = _uid(child)
            if not child_uid or child_uid in in_tree:
                continue
            in_tree[child_uid] = child
            parents = [in_tree[o] for o in _owners(child) if o in in_tree]
            found.append((child, parents))
            queue.append(child_uid)
    return found


def resource_tree(
    roots: Mapping[ResourceKey, Manifest],
    candidates: Iterable[Manifest],
    children: Iterable[ResourceStatus] = (),
) -> dict[str, Any]:
    """Argo CD's ``ApplicationTree`` of an Application whose tracked live objects are ``roots`` and whose
    App of Apps children have the statuses ``children`` (those requiring pruning are left out once gone)."""
    ordered = [roots[k] for k in sorted(roots, key=lambda k: (k.group, k.kind, k.namespace, k.name))]
    nodes = [node(obj) for obj in ordered]
    nodes += [child_node(status) for status in children]
    nodes += [node(child, parents) for child, parents in owned(ordered, candidates)]
    return {"nodes": nodes, "orphanedNodes": [], "hosts": []}


def involved(events: Iterable[Manifest], tree: Mapping[str, Any]) -> list[Manifest]:
    """The Events whose ``involvedObject`` is a node of ``tree`` (by uid, else by kind, namespace, name)."""
    uids = {n["uid"] for n in tree.get("nodes", ()) if n.get("uid")}
    names = {(n["kind"], n["namespace"], n["name"]) for n in tree.get("nodes", ())}
    chosen = []
    for event in events:
        about = event.get("involvedObject")
        if not isinstance(about, dict):
            continue
        uid = about.get("uid")
        if (uid and uid in uids) or (
            about.get("kind"),
            about.get("namespace", ""),
            about.get("name"),
        ) in names:
            chosen.append(event)
    return chosen
