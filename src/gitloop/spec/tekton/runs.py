"""``PipelineRun`` and ``TaskRun`` (tekton.dev/v1, v1beta1): one execution, with params, workspaces and timeouts.

A run names its Pipeline or Task (``pipelineRef``/``taskRef``, by name or resolver) or embeds it
(``pipelineSpec``/``taskSpec``). An embedded spec is checked here, with the run's params propagated to
it; a referenced one is bound by the engine, with ``params.bind_params``, once resolved.

From tekton.dev/v1beta1 the renamed PipelineRun fields ``serviceAccountName``, ``podTemplate`` and
``timeout`` are read into ``taskRunTemplate`` and ``timeouts.pipeline``. A tekton.dev/v1 PipelineRun that
still says ``spec.serviceAccountName`` (as many published examples do) is read the same way, as Tekton's
conversion maps it, with a warning (``PipelineRun.warnings``) that v1 spells it
``taskRunTemplate.serviceAccountName``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from gitloop.spec.fields import Node, Origin
from gitloop.spec.tekton.meta import ObjectMeta, Source, parse_meta
from gitloop.spec.tekton.params import Param, ParamSpec, bind_params, parse_params, references_in, value_type
from gitloop.spec.tekton.pipeline import PipelineSpec, TaskRef, parse_pipeline_spec, parse_ref
from gitloop.spec.tekton.pipeline_checks import check_pipeline_spec
from gitloop.spec.tekton.task import TaskSpec, check_task_references, parse_task_spec
from gitloop.spec.tekton.variables import find_references
from gitloop.spec.tekton.workspaces import WorkspaceBinding, parse_workspace_bindings

DEFAULT_TIMEOUT = 3600.0
"""Tekton's default ``default-timeout-minutes`` (60) in seconds."""
PIPELINE_RUN_STATUSES = ("Cancelled", "CancelledRunFinally", "StoppedRunFinally", "PipelineRunPending")
TASK_RUN_STATUSES = ("TaskRunCancelled", "TaskRunPending")
_V1_MOVED = {
    "serviceAccountName": "in tekton.dev/v1 it is spec.taskRunTemplate.serviceAccountName",
    "podTemplate": "in tekton.dev/v1 it is spec.taskRunTemplate.podTemplate",
    "timeout": "in tekton.dev/v1 it is spec.timeouts.pipeline",
}


@dataclass(frozen=True)
class PipelineRef:
    """A Pipeline by ``name``, or fetched by a ``resolver`` with ``params``."""

    name: str = ""
    api_version: str = ""
    resolver: str = ""
    params: tuple[Param, ...] = ()


@dataclass(frozen=True)
class TimeoutFields:
    """Seconds for the whole run, its tasks and its finally tasks; ``None`` unset, ``0`` no timeout."""

    pipeline: float | None = None
    tasks: float | None = None
    finally_tasks: float | None = None


@dataclass(frozen=True)
class TaskRunTemplate:
    """What every TaskRun of a PipelineRun gets unless ``taskRunSpecs`` says otherwise."""

    service_account_name: str = ""
    pod_template: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PipelineTaskRunSpec:
    """Run-time settings for one pipeline task (``spec.taskRunSpecs[]``)."""

    pipeline_task_name: str
    service_account_name: str = ""
    pod_template: Mapping[str, Any] = field(default_factory=dict)
    step_specs: tuple[Mapping[str, Any], ...] = ()
    sidecar_specs: tuple[Mapping[str, Any], ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    compute_resources: Mapping[str, Any] = field(default_factory=dict)
    timeout: float | None = None


@dataclass(frozen=True)
class PipelineRun:
    kind: ClassVar[str] = "PipelineRun"
    api_version: str
    meta: ObjectMeta
    pipeline_ref: PipelineRef | None = None
    pipeline_spec: PipelineSpec | None = None
    params: tuple[Param, ...] = ()
    workspaces: tuple[WorkspaceBinding, ...] = ()
    timeouts: TimeoutFields = field(default_factory=TimeoutFields)
    task_run_template: TaskRunTemplate = field(default_factory=TaskRunTemplate)
    task_run_specs: tuple[PipelineTaskRunSpec, ...] = ()
    status: str = ""
    """``""``, or ``PipelineRunPending``, ``Cancelled``, ``CancelledRunFinally``, ``StoppedRunFinally``."""
    managed_by: str = ""
    source: Source | None = field(default=None, compare=False)
    warnings: tuple[str, ...] = field(default=(), compare=False)
    """Accepted but not as Tekton v1 spells it: one line each, for the user."""

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def pending(self) -> bool:
        return self.status == "PipelineRunPending"


@dataclass(frozen=True)
class TaskRun:
    kind: ClassVar[str] = "TaskRun"
    api_version: str
    meta: ObjectMeta
    task_ref: TaskRef | None = None
    task_spec: TaskSpec | None = None
    params: tuple[Param, ...] = ()
    workspaces: tuple[WorkspaceBinding, ...] = ()
    timeout: float | None = None
    """Seconds per attempt; ``None`` is Tekton's default (an hour), ``0`` no timeout."""
    retries: int = 0
    service_account_name: str = ""
    pod_template: Mapping[str, Any] = field(default_factory=dict)
    status: str = ""
    """``""``, ``TaskRunPending`` or ``TaskRunCancelled``."""
    managed_by: str = ""
    source: Source | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def pending(self) -> bool:
        return self.status == "TaskRunPending"


def param_specs_of(params: Sequence[Param]) -> dict[str, ParamSpec]:
    """Declarations matching given values (their types inferred), for params propagated to embedded specs."""
    specs: dict[str, ParamSpec] = {}
    for p in params:
        properties = dict.fromkeys(p.value, "string") if isinstance(p.value, Mapping) else {}
        specs[p.name] = ParamSpec(p.name, value_type(p.value), properties=properties)
    return specs


def _run_params(node: Node) -> tuple[Param, ...]:
    params = parse_params(node)
    for i, param in enumerate(params):
        for text in references_in(param.value):
            if any(ref.result_ref for ref in find_references(text)):
                raise node.error(
                    f"cannot use result expressions in {text!r} as run parameter values", f"params[{i}].value"
                )
    return params


def _timeouts(spec: Node, beta: bool) -> TimeoutFields:
    node = spec.child("timeouts")
    legacy = spec.duration("timeout") if beta else None
    if node is None:
        return TimeoutFields(pipeline=legacy)
    node.require_map().only(("pipeline", "tasks", "finally"))
    timeouts = TimeoutFields(node.duration("pipeline"), node.duration("tasks"), node.duration("finally"))
    limit = DEFAULT_TIMEOUT if timeouts.pipeline is None else timeouts.pipeline
    what = "default timeout duration" if timeouts.pipeline is None else "pipeline duration"
    if limit:
        for key, value in (("tasks", timeouts.tasks), ("finally", timeouts.finally_tasks)):
            if value is not None and (value > limit or value == 0):
                shown = f"{node.value[key]}" + (" (no timeout)" if value == 0 else "")
                raise node.error(f"{shown} should be <= {what}", key)
        both = timeouts.tasks is not None and timeouts.finally_tasks is not None
        if both and (timeouts.tasks or 0) + (timeouts.finally_tasks or 0) > limit:
            raise node.error(f"{node.value['tasks']} + {node.value['finally']} should be <= {what}", "tasks")
    return timeouts


def _task_run_specs(spec: Node) -> tuple[PipelineTaskRunSpec, ...]:
    found: list[PipelineTaskRunSpec] = []
    for item in spec.items("taskRunSpecs"):
        item.require_map().only(
            (
                "pipelineTaskName",
                "serviceAccountName",
                "podTemplate",
                "stepSpecs",
                "sidecarSpecs",
                "metadata",
                "computeResources",
                "timeout",
            )
        )
        found.append(
            PipelineTaskRunSpec(
                pipeline_task_name=item.string("pipelineTaskName", required=True),
                service_account_name=item.string("serviceAccountName"),
                pod_template=item.raw_map("podTemplate"),
                step_specs=tuple(s.require_map().raw_map() for s in item.items("stepSpecs")),
                sidecar_specs=tuple(s.require_map().raw_map() for s in item.items("sidecarSpecs")),
                metadata=item.raw_map("metadata"),
                compute_resources=item.raw_map("computeResources"),
                timeout=item.duration("timeout"),
            )
        )
    return tuple(found)


def _status(spec: Node, allowed: tuple[str, ...]) -> str:
    status = spec.string("status")
    if status and status not in allowed:
        raise spec.error(f"{status} should be {', '.join(allowed)}", "status")
    return status


def parse_pipeline_run(body: Node, api_version: str, source: Source | None = None) -> PipelineRun:
    """A ``PipelineRun`` document; an embedded ``pipelineSpec`` is checked with the run's params."""
    body.only(("apiVersion", "kind", "metadata", "spec", "status"))
    meta = parse_meta(body, generate_name=True)
    spec = body.child("spec")
    if spec is None:
        raise body.error("required field is missing", "spec")
    beta = api_version.endswith("v1beta1")
    fields = (
        "pipelineRef",
        "pipelineSpec",
        "params",
        "status",
        "timeouts",
        "taskRunTemplate",
        "workspaces",
        "taskRunSpecs",
        "managedBy",
    )
    accepted = (*fields, *(_V1_MOVED if beta else ("serviceAccountName",)))
    spec.require_map().only(accepted, {} if beta else _V1_MOVED)
    warnings = () if beta else _v1beta1_spellings(spec, body.origin)
    ref_node, spec_node = spec.child("pipelineRef"), spec.child("pipelineSpec")
    if (ref_node is None) == (spec_node is None):
        raise spec.error(
            f"expected exactly one, got {'both' if ref_node else 'neither'}: pipelineRef, pipelineSpec"
        )
    ref = parse_ref(ref_node, kind_field=False) if ref_node is not None else None
    template = spec.child("taskRunTemplate")
    if template is not None:
        template.require_map().only(("serviceAccountName", "podTemplate"))
    account = spec.string("serviceAccountName") if template is None else ""
    if template is not None and spec.child("serviceAccountName") is not None:
        if not beta:
            raise spec.error(
                "give taskRunTemplate.serviceAccountName only (serviceAccountName is its v1beta1 spelling)",
                "serviceAccountName",
            )
        account = spec.string("serviceAccountName")
    run = PipelineRun(
        api_version=api_version,
        meta=meta,
        pipeline_ref=PipelineRef(ref.name, ref.api_version, ref.resolver, ref.params) if ref else None,
        pipeline_spec=parse_pipeline_spec(spec_node, beta=beta) if spec_node is not None else None,
        params=_run_params(spec),
        workspaces=parse_workspace_bindings(spec),
        timeouts=_timeouts(spec, beta),
        task_run_template=TaskRunTemplate(
            (template.string("serviceAccountName") if template is not None else "") or account,
            (template or spec).raw_map("podTemplate"),
        ),
        task_run_specs=_task_run_specs(spec),
        status=_status(spec, PIPELINE_RUN_STATUSES),
        managed_by=spec.string("managedBy"),
        source=source,
        warnings=warnings,
    )
    if run.pipeline_spec is not None:
        _check_embedded_pipeline(run, body.origin)
    return run


def _v1beta1_spellings(spec: Node, origin: Origin) -> tuple[str, ...]:
    """The warning for a v1 PipelineRun's ``spec.serviceAccountName``, read as Tekton's conversion does."""
    if spec.child("serviceAccountName") is None:
        return ()
    line = origin.line("spec.serviceAccountName")
    where = f"{origin.file}:{line}" if line else origin.file
    where += f" {origin.obj}" if origin.obj else ""
    return (
        f"{where}: spec.serviceAccountName is the tekton.dev/v1beta1 spelling; tekton.dev/v1 spells it "
        "spec.taskRunTemplate.serviceAccountName (read as that, as Tekton's conversion does)",
    )


def _check_embedded_pipeline(run: PipelineRun, origin: Origin) -> None:
    pipeline = run.pipeline_spec
    assert pipeline is not None
    propagated = param_specs_of(run.params)
    for task in pipeline.tasks + pipeline.finally_tasks:
        propagated.update({k: v for k, v in param_specs_of(task.params).items() if k not in propagated})
    check_pipeline_spec(pipeline, origin.error, "spec.pipelineSpec", propagated)
    bind_params(pipeline.params, run.params, origin.error)
    names = {t.name for t in pipeline.tasks + pipeline.finally_tasks}
    for i, task_run_spec in enumerate(run.task_run_specs):
        if task_run_spec.pipeline_task_name not in names:
            raise origin.error(
                f"spec.taskRunSpecs[{i}].pipelineTaskName",
                f"no pipeline task named {task_run_spec.pipeline_task_name!r}",
            )


def parse_task_run(body: Node, api_version: str, source: Source | None = None) -> TaskRun:
    """A ``TaskRun`` document; an embedded ``taskSpec`` is checked with the run's params."""
    body.only(("apiVersion", "kind", "metadata", "spec", "status"))
    meta = parse_meta(body, generate_name=True)
    spec = body.child("spec")
    if spec is None:
        raise body.error("required field is missing", "spec")
    spec.require_map().only(
        (
            "debug",
            "params",
            "serviceAccountName",
            "taskRef",
            "taskSpec",
            "status",
            "statusMessage",
            "retries",
            "timeout",
            "podTemplate",
            "workspaces",
            "stepSpecs",
            "sidecarSpecs",
            "computeResources",
            "managedBy",
        )
    )
    ref_node, spec_node = spec.child("taskRef"), spec.child("taskSpec")
    if (ref_node is None) == (spec_node is None):
        raise spec.error(f"expected exactly one, got {'both' if ref_node else 'neither'}: taskRef, taskSpec")
    run = TaskRun(
        api_version=api_version,
        meta=meta,
        task_ref=parse_ref(ref_node) if ref_node is not None else None,
        task_spec=parse_task_spec(spec_node, beta=api_version.endswith("v1beta1")) if spec_node else None,
        params=_run_params(spec),
        workspaces=parse_workspace_bindings(spec),
        timeout=spec.duration("timeout"),
        retries=spec.integer("retries", minimum=0),
        service_account_name=spec.string("serviceAccountName"),
        pod_template=spec.raw_map("podTemplate"),
        status=_status(spec, TASK_RUN_STATUSES),
        managed_by=spec.string("managedBy"),
        source=source,
    )
    if run.task_spec is not None:
        check_task_references(run.task_spec, body.origin.error, "spec.taskSpec", param_specs_of(run.params))
        bind_params(run.task_spec.params, run.params, body.origin.error)
    return run
