"""API discovery: which kinds a server serves, under which plural, namespaced or not.

Parses the ``/api`` + ``/apis`` documents and each group version's ``APIResourceList`` into
``ApiResource`` values. Pure functions over the JSON the server returns; the adapter does the I/O.
"""

from __future__ import annotations

from typing import Any

from gitloop.model.resources import GroupVersionKind
from gitloop.ports import ApiResource


def group_versions(core: dict[str, Any], groups: dict[str, Any]) -> list[tuple[str, bool]]:
    """Every served group version as (``apiVersion``, is-preferred), core ``v1`` first."""
    out: list[tuple[str, bool]] = [(v, True) for v in core.get("versions", [])]
    for g in groups.get("groups", []):
        preferred = (g.get("preferredVersion") or {}).get("groupVersion")
        for v in g.get("versions", []):
            gv = v["groupVersion"]
            out.append((gv, gv == preferred))
    return out


def resources_of(group_version: str, resource_list: dict[str, Any]) -> list[ApiResource]:
    """The kinds in one ``APIResourceList``, leaving out subresources such as ``deployments/status``."""
    group, _, version = group_version.rpartition("/")
    out = []
    for r in resource_list.get("resources", []):
        if "/" in r["name"]:
            continue
        out.append(
            ApiResource(
                gvk=GroupVersionKind(group, version, r["kind"]),
                plural=r["name"],
                namespaced=bool(r.get("namespaced")),
                verbs=frozenset(r.get("verbs", [])),
            )
        )
    return out
