"""The Kubernetes objects that travel with runs in Tekton files, besides ConfigMaps and Secrets.

A ``PersistentVolumeClaim`` (``v1``) is read and checked as the API server would (name, ``accessModes``,
``resources.requests.storage``): a local run keeps it as a named directory that
``persistentVolumeClaim.claimName`` binds. ``ServiceAccount`` (``v1``) and ``Role``, ``ClusterRole``,
``RoleBinding``, ``ClusterRoleBinding`` (``rbac.authorization.k8s.io/v1``) only mean something to a
cluster's API server: they are read as a ``ClusterOnlyObject`` that a run notes and otherwise ignores.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import ClassVar

from gitloop.spec.fields import Node
from gitloop.spec.tekton.meta import ObjectMeta, Source, parse_meta

ACCESS_MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")
RBAC_API_VERSION = "rbac.authorization.k8s.io/v1"
CLUSTER_ONLY_KINDS = {
    "ServiceAccount": "v1",
    "Role": RBAC_API_VERSION,
    "ClusterRole": RBAC_API_VERSION,
    "RoleBinding": RBAC_API_VERSION,
    "ClusterRoleBinding": RBAC_API_VERSION,
}
"""Kinds read only to be noted, with the apiVersion each must have."""
_PVC_SPEC_FIELDS = (
    "accessModes",
    "resources",
    "storageClassName",
    "volumeMode",
    "volumeName",
    "selector",
    "dataSource",
    "dataSourceRef",
    "volumeAttributesClassName",
)
_QUANTITY = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?")
_FACTORS = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    **{s: Decimal(1024) ** (i + 1) for i, s in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))},
    **{s: Decimal(1000) ** (i + 1) for i, s in enumerate(("k", "M", "G", "T", "P", "E"))},
}


def parse_quantity(text: str) -> Decimal:
    """A Kubernetes resource quantity (``1Gi``, ``500M``, ``1e9``, ``0.5Ki``); ``ValueError`` otherwise."""
    found = _QUANTITY.fullmatch(text)
    if found is None:
        raise ValueError(
            f"{text!r} is not a quantity: a number with an optional suffix Ki, Mi, Gi, Ti, Pi, Ei, "
            "k, M, G, T, P, E or an exponent (e.g. 1Gi, 500M)"
        )
    number, suffix = Decimal(found.group(1)), found.group(2) or ""
    if suffix[:1] in ("e", "E"):
        return number * Decimal(10) ** int(suffix[1:])
    return number * _FACTORS[suffix]


@dataclass(frozen=True)
class PersistentVolumeClaim:
    """A claim a local run keeps as a directory of this machine, named by ``metadata.name``."""

    kind: ClassVar[str] = "PersistentVolumeClaim"
    api_version: ClassVar[str] = "v1"
    meta: ObjectMeta
    access_modes: tuple[str, ...]
    storage: Decimal
    """Bytes requested (``spec.resources.requests.storage``); recorded, not enforced locally."""
    source: Source | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def read_only(self) -> bool:
        return self.access_modes == ("ReadOnlyMany",)


@dataclass(frozen=True)
class ClusterOnlyObject:
    """A ServiceAccount or RBAC object: meaningful only to a cluster, so not applied locally."""

    kind: str
    api_version: str
    meta: ObjectMeta
    source: Source | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return self.meta.name

    def note(self) -> str:
        """The one line a run shows for it."""
        where = f" ({self.source})" if self.source else ""
        return (
            f"{self.kind} {self.name!r}{where}: not applicable locally (steps run as this machine's "
            "user, with no Kubernetes API to authorize against); ignored"
        )


def parse_persistent_volume_claim(body: Node, source: Source | None = None) -> PersistentVolumeClaim:
    """A ``PersistentVolumeClaim`` document: a valid name, known access modes, a storage request."""
    body.only(("apiVersion", "kind", "metadata", "spec", "status"))
    meta = parse_meta(body)
    spec = body.child("spec")
    if spec is None:
        raise body.error("required field is missing", "spec")
    spec.only(_PVC_SPEC_FIELDS)
    modes = spec.strings("accessModes")
    if not modes:
        raise spec.error(f"at least one access mode is required ({', '.join(ACCESS_MODES)})", "accessModes")
    for i, mode in enumerate(modes):
        if mode not in ACCESS_MODES:
            raise spec.error(
                f"unsupported access mode {mode!r}: use {', '.join(ACCESS_MODES)}", f"accessModes[{i}]"
            )
    if "ReadWriteOncePod" in modes and len(modes) > 1:
        raise spec.error("ReadWriteOncePod may not be combined with other access modes", "accessModes")
    resources = spec.child("resources")
    if resources is None:
        raise spec.error("required field is missing (requests.storage)", "resources")
    resources.only(("requests", "limits"))
    requests = resources.child("requests")
    storage_node = requests.child("storage") if requests is not None else None
    if requests is None or storage_node is None:
        raise resources.error("required field is missing", "requests.storage")
    text = str(storage_node.value)
    try:
        storage = parse_quantity(text)
    except ValueError as exc:
        raise storage_node.error(str(exc)) from exc
    if storage <= 0:
        raise storage_node.error(f"{text!r} must be greater than zero")
    return PersistentVolumeClaim(meta, modes, storage, source)


def parse_cluster_only(
    body: Node, kind: str, api_version: str, source: Source | None = None
) -> ClusterOnlyObject:
    """A ServiceAccount or RBAC document: only its metadata is read (and checked)."""
    return ClusterOnlyObject(kind, api_version, parse_meta(body), source)
