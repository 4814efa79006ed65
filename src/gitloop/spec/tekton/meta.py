"""Object metadata and where a parsed object came from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gitloop.spec.fields import Node
from gitloop.spec.tekton.names import generate_name_problem, resource_name_problem

_META_FIELDS = (
    "name",
    "generateName",
    "namespace",
    "labels",
    "annotations",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
    "finalizers",
    "managedFields",
    "selfLink",
)


@dataclass(frozen=True)
class Source:
    """The file and line a document started on."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class ObjectMeta:
    name: str = ""
    namespace: str = ""
    generate_name: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    uid: str = ""


def object_label(kind: str, body: Node) -> str:
    """``Kind/name`` for error messages, from a document not parsed yet."""
    meta = body.value.get("metadata") if body.is_map() else None
    name = ""
    if isinstance(meta, dict):
        name = str(meta.get("name") or "") or (f"{meta['generateName']}*" if meta.get("generateName") else "")
    return f"{kind}/{name}" if name else kind


def parse_meta(body: Node, *, generate_name: bool = False) -> ObjectMeta:
    """``metadata``: a valid ``name`` (or, for runs, a ``generateName``)."""
    node = body.child("metadata")
    if node is None:
        raise body.error("required field is missing", "metadata")
    node.require_map().only(_META_FIELDS)
    meta = ObjectMeta(
        name=node.string("name"),
        namespace=node.string("namespace"),
        generate_name=node.string("generateName"),
        labels=node.string_map("labels"),
        annotations=node.string_map("annotations"),
        uid=node.string("uid"),
    )
    if not meta.name and not (generate_name and meta.generate_name):
        raise node.error(
            "required field is missing" + (" (name or generateName)" if generate_name else ""), "name"
        )
    if meta.name and (problem := resource_name_problem(meta.name)):
        raise node.error(f"invalid resource name: {problem}", "name")
    if meta.generate_name and (problem := generate_name_problem(meta.generate_name)):
        raise node.error(f"invalid generateName: {problem}", "generateName")
    return meta
