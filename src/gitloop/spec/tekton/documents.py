"""From YAML documents to Tekton objects: pick the parser by ``apiVersion`` and ``kind``.

Read kinds: ``Task``, ``Pipeline``, ``TaskRun``, ``PipelineRun`` (``tekton.dev/v1``, and ``tekton.dev/v1beta1``
where it matches v1: see ``versions``), ``ConfigMap``, ``Secret``, ``PersistentVolumeClaim`` (``v1``), and the
cluster-only ``ServiceAccount`` and RBAC kinds (``cluster_objects``). Any other kind is an error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

from gitloop.spec.fields import Node, Origin, type_name
from gitloop.spec.tekton.cluster_objects import (
    CLUSTER_ONLY_KINDS,
    ClusterOnlyObject,
    PersistentVolumeClaim,
    parse_cluster_only,
    parse_persistent_volume_claim,
)
from gitloop.spec.tekton.core import ConfigMap, Secret, parse_config_map, parse_secret
from gitloop.spec.tekton.meta import Source, object_label
from gitloop.spec.tekton.pipeline import Pipeline
from gitloop.spec.tekton.pipeline_checks import parse_pipeline
from gitloop.spec.tekton.runs import PipelineRun, TaskRun, parse_pipeline_run, parse_task_run
from gitloop.spec.tekton.stepaction import StepAction, parse_step_action
from gitloop.spec.tekton.task import Task, parse_task
from gitloop.spec.tekton.versions import READ_VERSIONS, TEKTON_VERSIONS, v1beta1_hint
from gitloop.spec.yaml.documents import Document, load_path, load_text

TektonObject: TypeAlias = (
    Task
    | Pipeline
    | TaskRun
    | PipelineRun
    | ConfigMap
    | Secret
    | PersistentVolumeClaim
    | ClusterOnlyObject
    | StepAction
)

_TEKTON_KINDS = ("Task", "Pipeline", "TaskRun", "PipelineRun")
_CORE_KINDS = ("ConfigMap", "Secret", "PersistentVolumeClaim")


_TEKTON_PARSERS: dict[str, Callable[[Node, str, Source], TektonObject]] = {
    "Task": parse_task,
    "Pipeline": parse_pipeline,
    "TaskRun": parse_task_run,
    "PipelineRun": parse_pipeline_run,
}


def parse_document(document: Document) -> TektonObject:
    """The object in one document."""
    origin = Origin(document.file, unknown_hint=v1beta1_hint)
    body = Node(document.body, "", origin, document.line)
    kind = document.body.get("kind")
    api_version = document.body.get("apiVersion")
    for key, value in (("apiVersion", api_version), ("kind", kind)):
        if not value:
            raise body.error("required field is missing; every Kubernetes object needs one", key)
        if not isinstance(value, str):
            raise body.error(f"must be a string, got {type_name(value)}", key)
    assert isinstance(kind, str) and isinstance(api_version, str)
    origin.obj = object_label(kind, body)
    source = Source(document.file, document.line)
    if kind == "StepAction":
        return parse_step_action(body, api_version, source)
    if kind in _TEKTON_KINDS:
        if api_version not in TEKTON_VERSIONS:
            raise body.error(
                f"unsupported apiVersion {api_version!r} for {kind}; gitloop reads {READ_VERSIONS}",
                "apiVersion",
            )
        return _TEKTON_PARSERS[kind](body, api_version, source)
    if kind in _CORE_KINDS:
        if api_version != "v1":
            raise body.error(f"unsupported apiVersion {api_version!r} for {kind}; use v1", "apiVersion")
        if kind == "PersistentVolumeClaim":
            return parse_persistent_volume_claim(body, source)
        return parse_config_map(body, source) if kind == "ConfigMap" else parse_secret(body, source)
    if kind in CLUSTER_ONLY_KINDS:
        if api_version != CLUSTER_ONLY_KINDS[kind]:
            raise body.error(
                f"unsupported apiVersion {api_version!r} for {kind}; use {CLUSTER_ONLY_KINDS[kind]}",
                "apiVersion",
            )
        return parse_cluster_only(body, kind, api_version, source)
    raise body.error(
        f"unsupported kind {kind!r} ({api_version}); gitloop reads Task, Pipeline, TaskRun, PipelineRun "
        f"({READ_VERSIONS}), ConfigMap, Secret, PersistentVolumeClaim (v1), and notes ServiceAccount, "
        "Role, ClusterRole, RoleBinding, ClusterRoleBinding as not applicable locally",
        "kind",
    )


def parse_text(text: str, file: str = "<string>") -> list[TektonObject]:
    """Every object of a YAML stream."""
    return [parse_document(d) for d in load_text(text, file)]


def load(path: Path) -> list[TektonObject]:
    """Every object of a file, or of the YAML files of a directory."""
    return [parse_document(d) for d in load_path(path)]
