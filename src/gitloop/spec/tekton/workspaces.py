"""Workspaces: what Tasks and Pipelines declare, how pipeline tasks map them, and what runs bind to them.

A run binds each workspace to exactly one volume source: ``emptyDir``, ``persistentVolumeClaim``,
``volumeClaimTemplate``, ``secret``, ``configMap``, ``projected`` or ``csi``; the source's own fields are
kept as plain data in ``WorkspaceBinding.source``.

Every name that becomes a path on this machine is checked as the Kubernetes API server checks it:
``claimName`` is a DNS-1123 subdomain, ``subPath`` and ``items[].path`` are relative without ``..``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitloop.spec.fields import Node
from gitloop.spec.tekton.names import config_key_problem, dns1123_subdomain_problem, local_path_problem

VOLUME_SOURCES = (
    "emptyDir",
    "persistentVolumeClaim",
    "volumeClaimTemplate",
    "secret",
    "configMap",
    "projected",
    "csi",
)
_REQUIRED_SOURCE_FIELD = {
    "persistentVolumeClaim": "claimName",
    "secret": "secretName",
    "configMap": "name",
    "projected": "sources",
    "csi": "driver",
}


@dataclass(frozen=True)
class WorkspaceDeclaration:
    """A workspace a Task needs; mounted at ``/workspace/<name>`` unless ``mount_path`` says otherwise."""

    name: str
    description: str = ""
    mount_path: str = ""
    read_only: bool = False
    optional: bool = False

    @property
    def path(self) -> str:
        return self.mount_path or f"/workspace/{self.name}"


@dataclass(frozen=True)
class PipelineWorkspaceDeclaration:
    """A workspace a Pipeline needs from its PipelineRun."""

    name: str
    description: str = ""
    optional: bool = False


@dataclass(frozen=True)
class WorkspacePipelineTaskBinding:
    """Gives a pipeline task's workspace ``name`` the pipeline workspace ``workspace`` (same name if empty)."""

    name: str
    workspace: str = ""
    sub_path: str = ""

    @property
    def pipeline_workspace(self) -> str:
        return self.workspace or self.name


@dataclass(frozen=True)
class WorkspaceUsage:
    """A step or sidecar that mounts only some of the Task's workspaces (``steps[].workspaces``)."""

    name: str
    mount_path: str = ""


@dataclass(frozen=True)
class WorkspaceBinding:
    """What a TaskRun or PipelineRun binds a workspace to: one volume source and an optional sub path."""

    name: str
    kind: str
    """Which of ``VOLUME_SOURCES`` this is."""
    source: Mapping[str, Any] = field(default_factory=dict)
    """The source's own fields, e.g. ``{"claimName": "cache"}`` or a ``volumeClaimTemplate``."""
    sub_path: str = ""

    @property
    def claim_name(self) -> str:
        return str(self.source.get("claimName", "")) if self.kind == "persistentVolumeClaim" else ""

    @property
    def secret_name(self) -> str:
        return str(self.source.get("secretName", "")) if self.kind == "secret" else ""

    @property
    def config_map_name(self) -> str:
        return str(self.source.get("name", "")) if self.kind == "configMap" else ""

    @property
    def items(self) -> list[dict[str, Any]]:
        """``secret``/``configMap`` items (``key``, ``path``, ``mode``) selecting which keys become files."""
        items = self.source.get("items")
        return list(items) if isinstance(items, list) else []


def parse_workspace_declarations(parent: Node) -> tuple[WorkspaceDeclaration, ...]:
    """A Task's ``workspaces``: names and mount paths must be unique."""
    found: list[WorkspaceDeclaration] = []
    for item in parent.items("workspaces"):
        item.require_map().only(("name", "description", "mountPath", "readOnly", "optional"))
        decl = WorkspaceDeclaration(
            name=item.string("name", required=True),
            description=item.string("description"),
            mount_path=item.string("mountPath"),
            read_only=item.boolean("readOnly"),
            optional=item.boolean("optional"),
        )
        if any(d.name == decl.name for d in found):
            raise item.error(f"workspace name {decl.name!r} must be unique", "name")
        if any(d.path.rstrip("/") == decl.path.rstrip("/") for d in found):
            raise item.error(f"workspace mount path {decl.path!r} must be unique", "mountPath")
        found.append(decl)
    return tuple(found)


def parse_pipeline_workspace_declarations(parent: Node) -> tuple[PipelineWorkspaceDeclaration, ...]:
    """A Pipeline's ``workspaces``: names must be unique."""
    found: list[PipelineWorkspaceDeclaration] = []
    for item in parent.items("workspaces"):
        item.require_map().only(("name", "description", "optional"))
        decl = PipelineWorkspaceDeclaration(
            item.string("name", required=True), item.string("description"), item.boolean("optional")
        )
        if any(d.name == decl.name for d in found):
            raise item.error(f"workspace with name {decl.name!r} appears more than once", "name")
        found.append(decl)
    return tuple(found)


def parse_pipeline_task_workspaces(parent: Node) -> tuple[WorkspacePipelineTaskBinding, ...]:
    """A pipeline task's ``workspaces``: task workspace names must be unique."""
    found: list[WorkspacePipelineTaskBinding] = []
    for item in parent.items("workspaces"):
        item.require_map().only(("name", "workspace", "subPath"))
        binding = WorkspacePipelineTaskBinding(
            item.string("name", required=True), item.string("workspace"), _sub_path(item)
        )
        if any(b.name == binding.name for b in found):
            raise item.error(f"workspace name {binding.name!r} must be unique", "name")
        found.append(binding)
    return tuple(found)


def parse_workspace_usages(parent: Node) -> tuple[WorkspaceUsage, ...]:
    """A step's or sidecar's ``workspaces``."""
    usages: list[WorkspaceUsage] = []
    for item in parent.items("workspaces"):
        item.require_map().only(("name", "mountPath"))
        usages.append(WorkspaceUsage(item.string("name", required=True), item.string("mountPath")))
    return tuple(usages)


def parse_workspace_bindings(parent: Node) -> tuple[WorkspaceBinding, ...]:
    """A run's ``workspaces``: exactly one volume source each, names unique."""
    found: list[WorkspaceBinding] = []
    for item in parent.items("workspaces"):
        item.require_map().only(("name", "subPath", *VOLUME_SOURCES))
        name = item.string("name", required=True)
        kinds = [k for k in VOLUME_SOURCES if k in item.value]
        if not kinds:
            raise item.error(f"expected exactly one volume source, got none: {', '.join(VOLUME_SOURCES)}")
        if len(kinds) > 1:
            raise item.error(f"expected exactly one volume source, got several: {', '.join(kinds)}")
        kind = kinds[0]
        source_node = item.child(kind)
        source = item.raw_map(kind) if source_node is not None else {}
        required = _REQUIRED_SOURCE_FIELD.get(kind)
        if required and not source.get(required):
            raise item.error("required field is missing", f"{kind}.{required}")
        if any(b.name == name for b in found):
            index = next(i for i, b in enumerate(found) if b.name == name)
            raise item.error(
                f"workspace {name!r} provided more than once, at index {index} and {len(found)}", "name"
            )
        _check_source(item, kind)
        found.append(WorkspaceBinding(name, kind, source, _sub_path(item)))
    return tuple(found)


def _sub_path(item: Node) -> str:
    """``subPath``: relative, no ``..`` (Tekton variables in it are checked again once substituted)."""
    sub_path = item.string("subPath")
    if problem := local_path_problem(sub_path):
        raise item.error(f"invalid subPath: {problem}", "subPath")
    return sub_path


def _check_source(item: Node, kind: str) -> None:
    """The fields of a volume source that become host paths: ``claimName``, ``items[].key``/``path``."""
    source = item.child(kind)
    if source is None:
        return
    if kind == "persistentVolumeClaim":
        claim = source.field("claimName")
        if problem := _problem(claim.value, dns1123_subdomain_problem):
            raise claim.error(f"invalid claim name: {problem}")
    if kind not in ("secret", "configMap"):
        return
    for entry in source.items("items"):
        key = entry.field("key")
        if problem := _problem(key.value, config_key_problem):
            raise key.error(f"invalid key: {problem}")
        path = entry.child("path")
        if path is not None and (problem := _problem(path.value, _item_path_problem)):
            raise path.error(f"invalid path: {problem}")


def _item_path_problem(path: str) -> str | None:
    return "must not be empty" if not path else local_path_problem(path)


def _problem(value: object, check: Callable[[str], str | None]) -> str | None:
    return check(value) if isinstance(value, str) else "must be a string"
