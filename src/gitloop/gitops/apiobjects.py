"""Argo CD's API objects besides the Application (``gitloop.gitops.shapes``), field for field. Pure.

``application_list`` (``ApplicationList`` with ``metadata.continue``), ``project`` and
``project_list`` (``AppProject``), ``cluster`` and ``cluster_list`` (``Cluster`` with its
``connectionState`` and ``info.applicationsCount``), ``managed_resource`` (``ResourceDiff``: the
target, live, normalised and predicted states as JSON strings, Secret values masked), and
``manifest_response`` (``ManifestResponse``). Every object is what Argo CD's swagger names; nothing is
invented where Argo CD has a field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gitloop.gitops.diff import ResourceDiff, mask_secrets
from gitloop.gitops.diff.render import unified_diff
from gitloop.gitops.shapes import API_VERSION, timestamp
from gitloop.model.clusters import ClusterRef
from gitloop.model.resources import Manifest
from gitloop.spec.argocd import AppProject


def application_list(items: Sequence[Mapping[str, Any]], continue_token: str = "") -> dict[str, Any]:
    """``ApplicationList``; ``metadata.continue`` says where the next page starts (absent on the last)."""
    metadata: dict[str, Any] = {}
    if continue_token:
        metadata["continue"] = continue_token
    return {"apiVersion": API_VERSION, "kind": "ApplicationList", "metadata": metadata, "items": list(items)}


def _group_kinds(found: Iterable[Any]) -> list[dict[str, str]]:
    return [{"group": gk.group, "kind": gk.kind} for gk in found]


def project(found: AppProject, namespace: str = "argocd") -> dict[str, Any]:
    """``AppProject``."""
    spec: dict[str, Any] = {
        "sourceRepos": list(found.source_repos),
        "destinations": [
            {k: v for k, v in (("server", d.server), ("name", d.name), ("namespace", d.namespace)) if v}
            for d in found.destinations
        ],
        "clusterResourceWhitelist": _group_kinds(found.cluster_resource_whitelist),
        "clusterResourceBlacklist": _group_kinds(found.cluster_resource_blacklist),
        "namespaceResourceBlacklist": _group_kinds(found.namespace_resource_blacklist),
    }
    if found.namespace_resource_whitelist is not None:
        spec["namespaceResourceWhitelist"] = _group_kinds(found.namespace_resource_whitelist)
    if found.description:
        spec["description"] = found.description
    return {
        "apiVersion": API_VERSION,
        "kind": "AppProject",
        "metadata": {"name": found.name, "namespace": namespace},
        "spec": spec,
        "status": {},
    }


def project_list(projects: Iterable[AppProject]) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "AppProjectList",
        "metadata": {},
        "items": [project(p) for p in sorted(projects, key=lambda p: p.name)],
    }


def cluster(
    ref: ClusterRef,
    *,
    status: str,
    message: str,
    attempted_at: float | None,
    server_version: str = "",
    applications: int = 0,
) -> dict[str, Any]:
    """``Cluster``: ``status`` is ``Successful``, ``Failed`` or ``Unknown``; ``config`` stays empty
    (credentials are never shown)."""
    state = {"status": status, "message": message, "attemptedAt": timestamp(attempted_at)}
    shown: dict[str, Any] = {
        "server": ref.server,
        "name": ref.name,
        "config": {},
        "connectionState": state,
        "serverVersion": server_version,
        "info": {
            "connectionState": state,
            "serverVersion": server_version,
            "applicationsCount": applications,
            "cacheInfo": {},
        },
    }
    if ref.labels:
        shown["labels"] = dict(ref.labels)
    if ref.annotations:
        shown["annotations"] = dict(ref.annotations)
    if ref.project:
        shown["project"] = ref.project
    return shown


def cluster_list(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"metadata": {}, "items": list(items)}


def _state(obj: Manifest | None) -> str:
    return json.dumps(obj, sort_keys=True) if obj is not None else "null"


def managed_resource(diff: ResourceDiff, live: Manifest | None, *, hook: bool = False) -> dict[str, Any]:
    """``ResourceDiff`` of one resource; ``live`` is the raw live object (its Secret values masked here;
    the diff's own objects are normalised and masked already)."""
    key = diff.key
    masked_live = mask_secrets([live])[0]
    return {
        "group": key.group,
        "kind": key.kind,
        "namespace": key.namespace,
        "name": key.name,
        "targetState": _state(diff.desired),
        "liveState": _state(masked_live),
        "normalizedLiveState": _state(diff.live),
        "predictedLiveState": _state(diff.predicted),
        "diff": unified_diff(diff),
        "hook": hook,
        "modified": diff.modified,
        "resourceVersion": str(((live or {}).get("metadata") or {}).get("resourceVersion") or ""),
    }


def manifest_response(
    desired: Iterable[Manifest], *, revision: str, namespace: str, server: str
) -> dict[str, Any]:
    """``ManifestResponse``: the desired objects as JSON strings, Secret values masked."""
    return {
        "manifests": [_state(m) for m in mask_secrets(list(desired)) if m is not None],
        "revision": revision,
        "namespace": namespace,
        "server": server,
    }
