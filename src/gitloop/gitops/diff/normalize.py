"""Normalisation: what is removed or rewritten in desired, live and predicted objects before comparing.

Applied alike to every side, so only differences that mean something remain:

- fields the API server owns: ``metadata.managedFields``, ``resourceVersion``, ``uid``,
  ``generation``, ``creationTimestamp``, ``selfLink``; the ``kubectl.kubernetes.io/last-applied-
  configuration`` annotation and gitloop's tracking annotation ``gitloop.dev/tracking-id``; empty
  ``labels``/``annotations`` maps;
- ``status``, which git does not own — for every kind by default, as Argo CD's
  ``ignoreResourceStatusField: all``; ``StatusPolicy.CRD`` ignores it only on
  CustomResourceDefinitions and ``StatusPolicy.NONE`` never;
- ``null`` map values, which mean "unset" (a template's ``creationTimestamp: null``); map keys that
  YAML read as numbers or booleans are turned into the strings Kubernetes sees;
- Secrets: ``stringData`` is encoded into ``data`` (base64), and ``null`` data values become ``""``,
  as gitops-engine's ``NormalizeSecret`` does;
- Roles and ClusterRoles: an empty ``rules`` list is unset; with ``ignore_aggregated_roles`` the rules
  of an aggregated role (one with an ``aggregationRule``) are dropped, as Argo CD's option does;
- resource quantities under ``resources.limits``/``resources.requests`` in canonical spelling.
"""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass
from enum import Enum
from typing import Any

from gitloop.gitops.diff import quantity
from gitloop.model.resources import Manifest

LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"
TRACKING_ANNOTATION = "gitloop.dev/tracking-id"
SERVER_METADATA = ("managedFields", "resourceVersion", "uid", "generation", "creationTimestamp", "selfLink")
_STRIPPED_ANNOTATIONS = (LAST_APPLIED_ANNOTATION, TRACKING_ANNOTATION)
_CRD = ("apiextensions.k8s.io", "CustomResourceDefinition")
_ROLES = {("rbac.authorization.k8s.io", "Role"), ("rbac.authorization.k8s.io", "ClusterRole")}


class StatusPolicy(Enum):
    """Which kinds' ``status`` is ignored (Argo CD's ``resource.compareoptions.ignoreResourceStatusField``)."""

    ALL = "all"
    CRD = "crd"
    NONE = "none"


@dataclass(frozen=True)
class NormalizeOptions:
    """System-level comparison options (Argo CD's ``resource.compareoptions``)."""

    status: StatusPolicy = StatusPolicy.ALL
    ignore_aggregated_roles: bool = False


def group_kind(obj: Manifest) -> tuple[str, str]:
    """``(group, kind)`` of an object; the group is ``""`` for the core group."""
    return str(obj.get("apiVersion") or "").rpartition("/")[0], str(obj.get("kind") or "")


def normalize(obj: Manifest, options: NormalizeOptions | None = None) -> Manifest:
    """A normalised deep copy of ``obj`` (the argument is not changed)."""
    options = options or NormalizeOptions()
    out = copy.deepcopy(obj)
    gk = group_kind(out)
    _strip_metadata(out)
    if options.status is StatusPolicy.ALL or (options.status is StatusPolicy.CRD and gk == _CRD):
        out.pop("status", None)
    if gk == ("", "Secret"):
        normalize_secret(out)
    elif gk in _ROLES:
        _normalize_role(out, options)
    cleaned: Manifest = _clean(out)
    _canonical_quantities(cleaned)
    return cleaned


def _strip_metadata(obj: Manifest) -> None:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return
    for name in SERVER_METADATA:
        meta.pop(name, None)
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        for name in _STRIPPED_ANNOTATIONS:
            annotations.pop(name, None)
    for name in ("annotations", "labels"):
        if name in meta and not meta[name]:
            del meta[name]


def normalize_secret(obj: Manifest) -> None:
    """Move a Secret's ``stringData`` into ``data`` (base64) and turn ``null`` data values into ``""``.

    Changes ``obj`` in place. Non-string ``stringData`` values are moved unencoded, so an invalid
    Secret stays invalid (and its apply fails) instead of being silently fixed.
    """
    string_data = obj.get("stringData")
    if isinstance(string_data, dict):
        data = obj.get("data")
        if not isinstance(data, dict):
            data = {}
        for name, value in string_data.items():
            data[name] = base64.b64encode(value.encode()).decode() if isinstance(value, str) else value
        obj["data"] = data
        del obj["stringData"]
    data = obj.get("data")
    if isinstance(data, dict):
        for name, value in data.items():
            if value is None:
                data[name] = ""


def _normalize_role(obj: Manifest, options: NormalizeOptions) -> None:
    if options.ignore_aggregated_roles and isinstance(obj.get("aggregationRule"), dict):
        obj.pop("rules", None)
    if obj.get("rules") == []:
        del obj["rules"]


def _clean(value: Any) -> Any:
    """``value`` without ``null`` map values, and with map keys as strings (YAML's ``8080:`` becomes
    ``"8080"``, as in the YAML-to-JSON conversion kubectl does)."""
    if isinstance(value, dict):
        return {_json_key(name): _clean(item) for name, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    return value


def _json_key(name: Any) -> str:
    if isinstance(name, bool):
        return "true" if name else "false"
    return "null" if name is None else str(name)


def _canonical_quantities(value: Any) -> None:
    if isinstance(value, dict):
        resources = value.get("resources")
        if isinstance(resources, dict):
            for name in ("limits", "requests"):
                amounts = resources.get(name)
                if isinstance(amounts, dict):
                    for resource, amount in amounts.items():
                        spelled = quantity.canonical(amount)
                        if spelled is not None:
                            amounts[resource] = spelled
        for item in value.values():
            _canonical_quantities(item)
    elif isinstance(value, list):
        for item in value:
            _canonical_quantities(item)


def last_applied(obj: Manifest | None) -> Manifest | None:
    """The object in the ``last-applied-configuration`` annotation (client-side apply), if readable."""
    meta = (obj or {}).get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    text = annotations.get(LAST_APPLIED_ANNOTATION) if isinstance(annotations, dict) else None
    if not isinstance(text, str):
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None
