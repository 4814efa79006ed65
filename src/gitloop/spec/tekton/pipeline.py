"""``Pipeline`` (tekton.dev/v1, v1beta1): pipeline tasks ordered by ``runAfter`` and result references.

This module reads the shape; ``pipeline_checks`` checks how the parts refer to one another.
Pipelines in pipelines (``pipelineRef``/``pipelineSpec`` in a task) and embedded custom task specs are
not supported; custom tasks by reference (``taskRef`` with ``apiVersion`` and ``kind``) are read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from gitloop.spec.fields import Node
from gitloop.spec.tekton.meta import ObjectMeta, Source
from gitloop.spec.tekton.names import qualified_name_problem
from gitloop.spec.tekton.params import (
    PARAM_TYPES,
    Param,
    ParamSpec,
    ParamType,
    ParamValue,
    parse_param_specs,
    parse_params,
    parse_value,
    references_in,
)
from gitloop.spec.tekton.steps import ON_ERROR, OnError, Sidecar, Step
from gitloop.spec.tekton.task import TaskSpec, parse_task_spec
from gitloop.spec.tekton.variables import Reference, find_references
from gitloop.spec.tekton.versions import V1BETA1
from gitloop.spec.tekton.when import WhenExpression, parse_when
from gitloop.spec.tekton.workspaces import (
    PipelineWorkspaceDeclaration,
    WorkspacePipelineTaskBinding,
    parse_pipeline_task_workspaces,
    parse_pipeline_workspace_declarations,
)

PIPELINE_TASK_FIELDS = (
    "name",
    "displayName",
    "description",
    "taskRef",
    "taskSpec",
    "when",
    "retries",
    "runAfter",
    "params",
    "matrix",
    "workspaces",
    "timeout",
    "pipelineRef",
    "pipelineSpec",
    "onError",
)


@dataclass(frozen=True)
class TaskRef:
    """A Task by ``name``, or fetched by a ``resolver`` (``git``, ``hub``, ``bundles``, ...) with ``params``.

    With an ``api_version`` (and a ``kind`` other than ``Task``) it names a custom task.
    """

    name: str = ""
    kind: str = "Task"
    api_version: str = ""
    resolver: str = ""
    params: tuple[Param, ...] = ()

    @property
    def custom(self) -> bool:
        return bool(self.api_version)


@dataclass(frozen=True)
class MatrixInclude:
    """One explicit combination (``matrix.include``): string params added to, or run besides, the fan-out."""

    name: str = ""
    params: tuple[Param, ...] = ()


@dataclass(frozen=True)
class Matrix:
    """Fan a pipeline task out over every combination of its array ``params`` (plus ``include``)."""

    params: tuple[Param, ...] = ()
    include: tuple[MatrixInclude, ...] = ()


@dataclass(frozen=True)
class PipelineTask:
    """One task of a Pipeline (in ``tasks`` or ``finally``)."""

    name: str
    task_ref: TaskRef | None = None
    task_spec: TaskSpec | None = None
    task_spec_labels: Mapping[str, str] = field(default_factory=dict)
    task_spec_annotations: Mapping[str, str] = field(default_factory=dict)
    display_name: str = ""
    description: str = ""
    run_after: tuple[str, ...] = ()
    params: tuple[Param, ...] = ()
    workspaces: tuple[WorkspacePipelineTaskBinding, ...] = ()
    when: tuple[WhenExpression, ...] = ()
    retries: int = 0
    timeout: float | None = None
    """Seconds; ``None`` leaves it to the PipelineRun's timeouts, ``0`` is no timeout."""
    matrix: Matrix | None = None
    on_error: OnError = "stopAndFail"

    def param_strings(self) -> Iterator[tuple[str, str]]:
        """(field path, text) of every string of params, matrix and ``when`` (result references live here)."""
        for i, param in enumerate(self.params):
            for text in references_in(param.value):
                yield f"params[{i}].value", text
        if self.matrix is not None:
            for i, param in enumerate(self.matrix.params):
                for text in references_in(param.value):
                    yield f"matrix.params[{i}].value", text
            for i, include in enumerate(self.matrix.include):
                for j, param in enumerate(include.params):
                    for text in references_in(param.value):
                        yield f"matrix.include[{i}].params[{j}].value", text
        for i, when in enumerate(self.when):
            for text in when.strings():
                yield f"when[{i}]", text

    def spec_strings(self) -> Iterator[str]:
        """The strings of an embedded Task spec's steps (with their StepAction params) and sidecars."""
        if self.task_spec is None:
            return
        containers: tuple[Step | Sidecar, ...] = (*self.task_spec.steps, *self.task_spec.sidecars)
        for container in containers:
            yield from (container.image, container.working_dir, container.script)
            yield from container.command
            yield from container.args
            yield from (env.value for env in container.env)
        for step in self.task_spec.steps:
            for param in step.params:
                yield from references_in(param.value)

    def references(self) -> list[Reference]:
        """Every variable reference in params, matrix, ``when`` and an embedded spec's containers."""
        texts = [text for _, text in self.param_strings()] + list(self.spec_strings())
        return [ref for text in texts for ref in find_references(text)]

    def result_dependencies(self) -> frozenset[str]:
        """The tasks whose results this task uses: implicit ``runAfter`` edges."""
        return frozenset(
            ref.result_ref[0] for ref in self.references() if ref.result_ref and ref.namespace == "tasks"
        )

    def dependencies(self) -> frozenset[str]:
        """Every task this one waits for: ``runAfter`` plus result references."""
        return frozenset(self.run_after) | self.result_dependencies()


@dataclass(frozen=True)
class PipelineResult:
    """A result of the Pipeline, made of its tasks' results: ``$(tasks.<task>.results.<result>)``."""

    name: str
    value: ParamValue
    type: ParamType = "string"
    description: str = ""


@dataclass(frozen=True)
class PipelineSpec:
    tasks: tuple[PipelineTask, ...] = ()
    finally_tasks: tuple[PipelineTask, ...] = ()
    params: tuple[ParamSpec, ...] = ()
    workspaces: tuple[PipelineWorkspaceDeclaration, ...] = ()
    results: tuple[PipelineResult, ...] = ()
    description: str = ""
    display_name: str = ""

    def task(self, name: str) -> PipelineTask | None:
        """The task (or finally task) named ``name``."""
        return next((t for t in (*self.tasks, *self.finally_tasks) if t.name == name), None)

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)


@dataclass(frozen=True)
class Pipeline:
    kind: ClassVar[str] = "Pipeline"
    api_version: str
    meta: ObjectMeta
    spec: PipelineSpec
    source: Source | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return self.meta.name


def parse_ref(node: Node, kind_field: bool = True) -> TaskRef:
    """A ``taskRef`` (or, without ``kind``, a ``pipelineRef``): a name or a resolver, not both."""
    allowed = ("name", "apiVersion", "resolver", "params", *(("kind",) if kind_field else ()))
    node.require_map().only(allowed, {"bundle": "use resolver: bundles with params bundle, name and kind"})
    ref = TaskRef(
        name=node.string("name"),
        kind=node.string("kind", default="Task") if kind_field else "",
        api_version=node.string("apiVersion"),
        resolver=node.string("resolver"),
        params=parse_params(node),
    )
    if ref.resolver or ref.params:
        if ref.params and ref.name:
            raise node.error("expected exactly one, got both: name, params")
        if not ref.resolver:
            raise node.error("required field is missing (params need a resolver)", "resolver")
        if ref.name:
            raise node.error("expected exactly one, got both: name, resolver", "name")
    elif not ref.name:
        raise node.error("required field is missing (name, or resolver and params)", "name")
    elif problem := qualified_name_problem(ref.name):
        raise node.error(f"invalid {'task' if kind_field else 'pipeline'} name: {problem}", "name")
    if kind_field and ref.kind == "ClusterTask" and not ref.api_version:
        raise node.error(
            f"ClusterTask (a {V1BETA1} kind, since removed from Tekton) is not read by gitloop; "
            "use kind: Task, or a resolver",
            "kind",
        )
    if kind_field and ref.kind not in ("", "Task") and not ref.api_version:
        raise node.error("custom task ref must specify apiVersion", "apiVersion")
    if ref.api_version and "/" not in ref.api_version.strip("/"):
        raise node.error(
            f'invalid apiVersion format {ref.api_version!r}, must be in the format "group/version"',
            "apiVersion",
        )
    return ref


def _matrix(node: Node) -> Matrix:
    node.require_map().only(("params", "include"))
    includes: list[MatrixInclude] = []
    for item in node.items("include"):
        item.require_map().only(("name", "params"))
        includes.append(MatrixInclude(item.string("name"), parse_params(item)))
    return Matrix(parse_params(node), tuple(includes))


def parse_pipeline_task(node: Node, *, beta: bool = False) -> PipelineTask:
    """One entry of ``tasks`` or ``finally``, read on its own."""
    node.require_map().only(PIPELINE_TASK_FIELDS)
    name = node.string("name", required=True)
    for unsupported in ("pipelineRef", "pipelineSpec"):
        if node.has(unsupported):
            raise node.error("pipelines in pipelines are not supported by gitloop", unsupported)
    ref_node, spec_node = node.child("taskRef"), node.child("taskSpec")
    if ref_node is not None and spec_node is not None:
        raise node.error("expected exactly one, got both: taskRef, taskSpec")
    if ref_node is None and spec_node is None:
        raise node.error("expected exactly one, got neither: taskRef, taskSpec")
    task_spec: TaskSpec | None = None
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    if spec_node is not None:
        task_spec, labels, annotations = _embedded_task(spec_node, beta)
    matrix_node = node.child("matrix")
    task = PipelineTask(
        name=name,
        task_ref=parse_ref(ref_node) if ref_node is not None else None,
        task_spec=task_spec,
        task_spec_labels=labels,
        task_spec_annotations=annotations,
        display_name=node.string("displayName"),
        description=node.string("description"),
        run_after=node.strings("runAfter"),
        params=parse_params(node),
        workspaces=parse_pipeline_task_workspaces(node),
        when=parse_when(node),
        retries=node.integer("retries", minimum=0),
        timeout=node.duration("timeout"),
        matrix=_matrix(matrix_node) if matrix_node is not None else None,
        on_error=node.one_of("onError", ON_ERROR, default="stopAndFail"),
    )
    if task.on_error == "continue" and task.retries > 0:
        raise node.error(
            'PipelineTask onError cannot be set to "continue" when retries is greater than 0', "onError"
        )
    return task


def _embedded_task(node: Node, beta: bool) -> tuple[TaskSpec, dict[str, str], dict[str, str]]:
    node.require_map()
    if node.has("apiVersion") or node.has("kind") or node.has("spec"):
        if node.has("steps"):
            key = "apiVersion" if node.has("apiVersion") else "kind"
            raise node.error(f"taskSpec.{key} cannot be specified when using taskSpec.steps", key)
        raise node.error("embedded custom task specs are not supported by gitloop; use a taskRef", "spec")
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    meta = node.child("metadata")
    if meta is not None:
        meta.require_map().only(("labels", "annotations"))
        labels, annotations = meta.string_map("labels"), meta.string_map("annotations")
    spec = parse_task_spec(node, beta=beta, extra_fields=("metadata",))
    return spec, labels, annotations


def _results(node: Node) -> tuple[PipelineResult, ...]:
    found: list[PipelineResult] = []
    for item in node.items("results"):
        item.require_map().only(("name", "type", "description", "value"))
        name = item.string("name", required=True)
        if any(r.name == name for r in found):
            raise item.error(f"result {name!r} appears more than once", "name")
        value = item.child("value")
        if value is None:
            raise item.error("required field is missing", "value")
        result_type = item.one_of("type", PARAM_TYPES, default="string")
        found.append(PipelineResult(name, parse_value(value), result_type, item.string("description")))
    return tuple(found)


def parse_pipeline_spec(node: Node, *, beta: bool = False) -> PipelineSpec:
    """A Pipeline spec's shape; ``pipeline_checks.check_pipeline_spec`` checks how it hangs together."""
    node.require_map().only(
        ("displayName", "description", "tasks", "params", "workspaces", "results", "finally"),
        {"resources": "PipelineResources were removed from Tekton; use workspaces"},
    )
    if not node.value:
        raise node.error("expected at least one, got none: description, params, tasks, workspaces")
    return PipelineSpec(
        tasks=tuple(parse_pipeline_task(t, beta=beta) for t in node.items("tasks")),
        finally_tasks=tuple(parse_pipeline_task(t, beta=beta) for t in node.items("finally")),
        params=parse_param_specs(node),
        workspaces=parse_pipeline_workspace_declarations(node),
        results=_results(node),
        description=node.string("description"),
        display_name=node.string("displayName"),
    )
