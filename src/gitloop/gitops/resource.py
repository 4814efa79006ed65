"""One live object of an Application's resource tree, as Argo CD's ``GetResource`` answers it.

Only a node of the Application's ``ApplicationTree`` (a resource it manages, or an object their
controllers made) may be read: ``find`` picks the node by group, kind, namespace and name (Argo CD's
``FindNode``) and refuses anything else with ``NotInTree`` naming it, so an Application is no window
onto arbitrary cluster objects. ``live`` reads the node's object from the Application's cluster now and
``manifest`` masks Secret values by the one masking rule (``gitloop.gitops.diff.mask_secrets``, as
``managed-resources`` does) before the object becomes Argo CD's JSON-string ``manifest``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gitloop.errors import NotFoundError, UsageError
from gitloop.gitops.diff import mask_secrets
from gitloop.model.resources import Manifest

Getter = Callable[[str, str, str, str | None], Awaitable[Manifest]]
"""The cluster port's ``get(api_version, kind, name, namespace)``."""

REQUIRED = ("resourceName", "kind")
"""The query parameters a request must give; ``group`` (empty: the core group), ``namespace`` (empty:
cluster-scoped) and ``version`` (empty: the node's own) may be left out."""


class NotInTree(LookupError):
    """The object asked for is not a readable node of the Application's resource tree."""


@dataclass(frozen=True)
class ResourceRef:
    """Argo CD's ``ApplicationResourceRequest``: which object of the tree to read."""

    name: str
    kind: str
    group: str = ""
    namespace: str = ""
    version: str = ""

    @classmethod
    def parse(cls, params: Mapping[str, list[str]]) -> ResourceRef:
        """The reference of a query (``resourceName``, ``kind``, ``group``, ``namespace``, ``version``);
        ``UsageError`` naming a missing or repeated parameter."""
        given: dict[str, str] = {}
        for key in ("resourceName", "kind", "group", "namespace", "version"):
            values = params.get(key, [])
            if len(values) > 1:
                raise UsageError(f"{key}: given {len(values)} times; give it once")
            given[key] = values[0].strip() if values else ""
            if key in REQUIRED and not given[key]:
                raise UsageError(f"{key}: the query parameter is required")
        return cls(
            name=given["resourceName"],
            kind=given["kind"],
            group=given["group"],
            namespace=given["namespace"],
            version=given["version"],
        )

    def __str__(self) -> str:
        where = f" in namespace {self.namespace}" if self.namespace else ""
        kind = f"{self.kind}.{self.group}" if self.group else self.kind
        return f"{kind} {self.name!r}{where}"


def find(tree: Mapping[str, Any], ref: ResourceRef, app: str) -> Mapping[str, Any]:
    """The node of ``tree`` (an ``ApplicationTree``) that ``ref`` names; ``NotInTree`` when there is none,
    or when it has no live object (an App of Apps child is the engine's own, with no uid)."""
    wanted = (ref.group, ref.kind, ref.namespace, ref.name)
    nodes: list[Mapping[str, Any]] = list(tree.get("nodes", ()))
    for node in nodes:
        if (node["group"], node["kind"], node["namespace"], node["name"]) == wanted:
            if not node.get("uid"):
                raise NotInTree(f"{ref} of Application {app!r} is gitloop's own, with no live object to read")
            return node
    raise NotInTree(f"{ref} is not a resource of Application {app!r}")


def api_version(node: Mapping[str, Any], ref: ResourceRef) -> str:
    """The ``apiVersion`` to read ``node`` at: the requested version if given, else the node's."""
    version = ref.version or str(node.get("version") or "")
    return f"{node['group']}/{version}" if node["group"] else version


def manifest(obj: Manifest) -> str:
    """Argo CD's ``manifest``: the live object as a JSON string, Secret values masked."""
    [masked] = mask_secrets([obj])
    return json.dumps(masked, sort_keys=True)


async def live(get: Getter, tree: Mapping[str, Any], ref: ResourceRef, app: str) -> str:
    """The ``manifest`` of the live object ``ref`` names in ``app``'s ``tree``, read with ``get`` now."""
    node = find(tree, ref, app)
    try:
        obj = await get(api_version(node, ref), ref.kind, ref.name, ref.namespace or None)
    except NotFoundError as exc:
        raise NotInTree(f"{ref} of Application {app!r} is gone from its cluster") from exc
    return manifest(obj)
