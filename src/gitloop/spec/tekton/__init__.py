"""Tekton Pipelines (tekton.dev/v1) read into frozen dataclasses and checked as Tekton's webhook checks them.

``load(path)`` and ``parse_text(text)`` return ``Task``, ``Pipeline``, ``TaskRun``, ``PipelineRun``,
``ConfigMap`` and ``Secret`` objects; anything invalid raises ``SpecError`` naming ``file:line``,
``Kind/name`` and the field path (``spec.tasks[2].runAfter``).
"""

from __future__ import annotations

from gitloop.spec.tekton.core import ConfigMap, Secret
from gitloop.spec.tekton.documents import TektonObject, load, parse_document, parse_text
from gitloop.spec.tekton.meta import ObjectMeta, Source
from gitloop.spec.tekton.params import (
    Param,
    ParamSpec,
    ParamType,
    ParamValue,
    ResultSpec,
    bind_params,
    value_type,
)
from gitloop.spec.tekton.pipeline import (
    Matrix,
    MatrixInclude,
    Pipeline,
    PipelineResult,
    PipelineSpec,
    PipelineTask,
    TaskRef,
)
from gitloop.spec.tekton.runs import (
    PipelineRef,
    PipelineRun,
    PipelineTaskRunSpec,
    TaskRun,
    TaskRunTemplate,
    TimeoutFields,
)
from gitloop.spec.tekton.steps import EnvFromSource, EnvVar, KeyRef, Sidecar, Step, StepTemplate, VolumeMount
from gitloop.spec.tekton.task import Task, TaskSpec
from gitloop.spec.tekton.variables import Reference, exact_reference, find_references
from gitloop.spec.tekton.when import WhenExpression
from gitloop.spec.tekton.workspaces import (
    PipelineWorkspaceDeclaration,
    WorkspaceBinding,
    WorkspaceDeclaration,
    WorkspacePipelineTaskBinding,
    WorkspaceUsage,
)

__all__ = [
    "ConfigMap",
    "EnvFromSource",
    "EnvVar",
    "KeyRef",
    "Matrix",
    "MatrixInclude",
    "ObjectMeta",
    "Param",
    "ParamSpec",
    "ParamType",
    "ParamValue",
    "Pipeline",
    "PipelineRef",
    "PipelineResult",
    "PipelineRun",
    "PipelineSpec",
    "PipelineTask",
    "PipelineTaskRunSpec",
    "PipelineWorkspaceDeclaration",
    "Reference",
    "ResultSpec",
    "Secret",
    "Sidecar",
    "Source",
    "Step",
    "StepTemplate",
    "Task",
    "TaskRef",
    "TaskRun",
    "TaskRunTemplate",
    "TaskSpec",
    "TektonObject",
    "TimeoutFields",
    "VolumeMount",
    "WhenExpression",
    "WorkspaceBinding",
    "WorkspaceDeclaration",
    "WorkspacePipelineTaskBinding",
    "WorkspaceUsage",
    "bind_params",
    "exact_reference",
    "find_references",
    "load",
    "parse_document",
    "parse_text",
    "value_type",
]
