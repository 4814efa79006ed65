"""What a PipelineRun will run, fixed and checked before anything starts. Pure.

``build_plan`` takes the PipelineRun, its Pipeline, the Task each pipeline task resolved to, the
ConfigMaps and Secrets of the input files and the host directories chosen for directory workspaces,
and checks what Tekton checks when a run starts: params given (``ParameterMissing``, with Tekton's
``[User error]`` message) and of the declared types, workspaces bound (``InvalidWorkspaceBindings``),
each pipeline task giving its Task the params and workspaces it needs, result references naming
results the Task declares, CEL syntax. Every problem is a ``RunValidationError`` naming file, object
and field, so nothing runs on bad input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

from gitloop.errors import SpecError
from gitloop.pipeline import reasons as R
from gitloop.pipeline.dag import Dag
from gitloop.pipeline.results import MAX_RESULT_SIZE
from gitloop.pipeline.substitution import SubstitutionError, substitute
from gitloop.pipeline.taskrun import TaskRunPlan
from gitloop.pipeline.volumes import BoundWorkspace, Objects, WorkspaceVolume, check_binding, volume_for
from gitloop.pipeline.when import check_cel
from gitloop.spec.tekton import (
    ParamValue,
    PipelineRun,
    PipelineSpec,
    PipelineTask,
    TaskRun,
    TaskSpec,
    TimeoutFields,
    bind_params,
    find_references,
    value_type,
)
from gitloop.spec.tekton.runs import DEFAULT_TIMEOUT


class RunValidationError(SpecError):
    """A run that cannot start; ``reason`` is the Tekton reason its status shows."""

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        file: str | None = None,
        obj: str | None = None,
        field: str | None = None,
    ) -> None:
        self.reason = reason
        self.detail = message
        super().__init__(message, file=file, obj=obj, field=field)


@dataclass(frozen=True)
class ResolvedTask:
    """The Task a pipeline task runs: its name (``$(context.task.name)``) and spec, and where it was read
    (``file:line``, when it came from a file)."""

    name: str
    spec: TaskSpec
    embedded: bool = False
    source: str | None = None


@dataclass(frozen=True)
class Timeouts:
    """Seconds for the whole run, its tasks and its finally tasks; ``None`` is no timeout."""

    pipeline: float | None = DEFAULT_TIMEOUT
    tasks: float | None = None
    finally_tasks: float | None = None


def resolve_timeouts(fields: TimeoutFields, override: float | None = None) -> Timeouts:
    """Tekton's rules: ``pipeline`` defaults to an hour, ``0`` is none; with ``pipeline`` and ``finally``
    set, the tasks get what ``finally`` leaves of ``pipeline``."""
    pipeline = override if override is not None else fields.pipeline
    if pipeline is None:
        pipeline = DEFAULT_TIMEOUT
    tasks = fields.tasks
    if tasks is None and fields.finally_tasks and pipeline:
        tasks = max(pipeline - fields.finally_tasks, 0.0)
    return Timeouts(pipeline or None, tasks or None, fields.finally_tasks or None)


@dataclass(frozen=True)
class PipelineRunPlan:
    """Everything fixed about one PipelineRun."""

    name: str
    pipeline_name: str
    spec: PipelineSpec
    tasks: Mapping[str, ResolvedTask]
    params: Mapping[str, ParamValue]
    workspaces: Mapping[str, BoundWorkspace] = field(default_factory=dict)
    objects: Objects = field(default_factory=Objects)
    timeouts: Timeouts = field(default_factory=Timeouts)
    task_timeouts: Mapping[str, float] = field(default_factory=dict)
    service_accounts: Mapping[str, str] = field(default_factory=dict)
    namespace: str = "default"
    uid: str = ""
    result_limit: int = MAX_RESULT_SIZE

    @cached_property
    def dag(self) -> Dag:
        """The order of ``tasks``: ``runAfter`` and result-reference edges."""
        return Dag.build(self.spec)

    @cached_property
    def parents(self) -> Mapping[str, frozenset[str]]:
        """Each task of ``tasks`` and the tasks it waits for."""
        return {t: self.dag.parents(t) for t in self.dag.tasks}

    @cached_property
    def final_names(self) -> frozenset[str]:
        return frozenset(t.name for t in self.spec.finally_tasks)

    def task(self, name: str) -> PipelineTask:
        found = self.spec.task(name)
        if found is None:
            raise KeyError(name)
        return found

    def is_final(self, name: str) -> bool:
        return name in self.final_names


@dataclass(frozen=True)
class _Where:
    file: str | None
    obj: str | None

    def error(self, message: str, reason: str, field: str | None = None) -> RunValidationError:
        return RunValidationError(message, reason=reason, file=self.file, obj=self.obj, field=field)


def _go_list(items: list[str]) -> str:
    return "[" + " ".join(items) + "]"


def _check_params(run: PipelineRun, spec: PipelineSpec, name: str, where: _Where) -> dict[str, ParamValue]:
    given = {p.name for p in run.params}
    missing = [p.name for p in spec.params if p.default is None and p.name not in given]
    namespace = run.meta.namespace or "default"
    if missing:
        raise where.error(
            f"{R.USER_ERROR}PipelineRun {namespace}/{run.name or 'run'} is missing some parameters required by "
            f"Pipeline {namespace}/{name}: pipelineRun missing parameters: {_go_list(missing)}",
            R.PR_PARAMETER_MISSING,
            "spec.params",
        )

    def fail(path: str, message: str) -> SpecError:
        reason = R.PR_INVALID_PARAM_VALUE if "enum" in message else R.PR_PARAMETER_TYPE_MISMATCH
        return where.error(f"{R.USER_ERROR}{message}", reason, path)

    return bind_params(spec.params, run.params, fail)


def _check_workspaces(
    run: PipelineRun, spec: PipelineSpec, bound: Mapping[str, BoundWorkspace], objects: Objects, where: _Where
) -> None:
    declared = {w.name: w for w in spec.workspaces}
    for name, workspace in declared.items():
        if name not in bound and not workspace.optional:
            raise where.error(
                f'pipeline requires workspace with name "{name}" be provided by pipelinerun',
                R.PR_INVALID_WORKSPACE_BINDING,
                "spec.workspaces",
            )
    for i, (name, bound_workspace) in enumerate(bound.items()):
        at = f"spec.workspaces[{i}]"
        if name not in declared:
            raise where.error(
                f'workspace binding "{name}" does not match any declared workspace of the pipeline',
                R.PR_INVALID_WORKSPACE_BINDING,
                at,
            )

        def fail(message: str, at: str = at) -> SpecError:
            return where.error(message, R.PR_INVALID_WORKSPACE_BINDING, at)

        check_binding(bound_workspace.binding, objects, fail)


def _is_reference(value: ParamValue) -> bool:
    texts = [value] if isinstance(value, str) else list(value.values()) if isinstance(value, Mapping) else []
    return any(find_references(t) for t in texts)


def _check_task(
    task: PipelineTask,
    at: str,
    resolved: ResolvedTask,
    spec: PipelineSpec,
    tasks: Mapping[str, ResolvedTask],
    where: _Where,
) -> None:
    declared = {p.name: p for p in resolved.spec.params}
    given = {p.name: p for p in task.params}
    matrix_names: set[str] = set()
    if task.matrix is not None:
        matrix_names = {p.name for p in task.matrix.params}
        matrix_names |= {p.name for inc in task.matrix.include for p in inc.params}
    missing = [
        n for n, p in declared.items() if p.default is None and n not in given and n not in matrix_names
    ]
    if missing:
        raise where.error(
            f"{R.USER_ERROR}invalid input params for task {resolved.name}: missing values for these params "
            f"which have no default values: {_go_list(missing)} (pipeline task {task.name!r})",
            R.PR_VALIDATION_FAILED,
            f"{at}.params",
        )
    for i, given_param in enumerate(task.params):
        spec_param = declared.get(given_param.name)
        if spec_param is None or (_is_reference(given_param.value) and isinstance(given_param.value, str)):
            continue
        if value_type(given_param.value) != spec_param.type:
            raise where.error(
                f"{R.USER_ERROR}param {given_param.name!r} of Task {resolved.name!r} is declared "
                f"{spec_param.type}, pipeline task {task.name!r} gives {value_type(given_param.value)}",
                R.PR_PARAMETER_TYPE_MISMATCH,
                f"{at}.params[{i}].value",
            )
    if task.matrix is not None:
        for i, matrix_param in enumerate(task.matrix.params):
            spec_param = declared.get(matrix_param.name)
            if spec_param is not None and spec_param.type != "string":
                raise where.error(
                    f"matrix param {matrix_param.name!r} fans out into strings, but Task {resolved.name!r} "
                    f"declares it {spec_param.type}",
                    R.PR_PARAMETER_TYPE_MISMATCH,
                    f"{at}.matrix.params[{i}]",
                )
    bindings = {b.name for b in task.workspaces}
    task_workspaces = {w.name: w for w in resolved.spec.workspaces}
    pipeline_optional = {w.name for w in spec.workspaces if w.optional}
    for name, decl in task_workspaces.items():
        if name not in bindings and not decl.optional:
            raise where.error(
                f"pipeline task {task.name!r} does not bind workspace {name!r} that Task {resolved.name!r} needs",
                R.PR_INVALID_WORKSPACE_BINDING,
                f"{at}.workspaces",
            )
    for j, binding in enumerate(task.workspaces):
        decl_ws = task_workspaces.get(binding.name)
        if decl_ws is None:
            raise where.error(
                f"Task {resolved.name!r} declares no workspace {binding.name!r}",
                R.PR_INVALID_WORKSPACE_BINDING,
                f"{at}.workspaces[{j}]",
            )
        if binding.pipeline_workspace in pipeline_optional and not decl_ws.optional:
            raise where.error(
                f"pipeline workspace {binding.pipeline_workspace!r} is optional but Task {resolved.name!r} "
                f"requires workspace {binding.name!r}",
                "RequiredWorkspaceMarkedOptional",
                f"{at}.workspaces[{j}]",
            )
    for ref in task.references():
        if ref.result_ref is None:
            continue
        producer, result = ref.result_ref
        target = tasks.get(producer)
        if target is not None and target.spec.result(result) is None:
            raise where.error(
                f"invalid task result reference {ref.expression}: Task {target.name!r} of pipeline task "
                f"{producer!r} declares no result {result!r}",
                R.PR_INVALID_RESULT_REFERENCE,
                f"{at}.params",
            )
    for i, when in enumerate(task.when):
        if when.cel:
            try:
                check_cel(when.cel)
            except SpecError as exc:
                raise where.error(str(exc), R.PR_VALIDATION_FAILED, f"{at}.when[{i}].cel") from exc


def build_plan(
    run: PipelineRun,
    spec: PipelineSpec,
    pipeline_name: str,
    tasks: Mapping[str, ResolvedTask],
    *,
    objects: Objects,
    host_dirs: Mapping[str, str],
    uid: str,
    name: str,
    timeout: float | None = None,
    pipeline_source: str | None = None,
) -> PipelineRunPlan:
    """The checked plan of ``run`` (named ``name``) running ``spec``; ``host_dirs`` maps each directory
    workspace binding to the host directory the driver chose for it."""
    where = _Where(str(run.source) if run.source else None, f"PipelineRun/{name}")
    pipeline_where = _Where(pipeline_source, f"Pipeline/{pipeline_name}") if pipeline_source else where
    # A run built for the command line has no file: its params are checked against the Pipeline's.
    params = _check_params(run, spec, pipeline_name, where if run.source else pipeline_where)
    context = {
        "context.pipelineRun.name": name,
        "context.pipelineRun.namespace": run.meta.namespace or "default",
        "context.pipelineRun.uid": uid,
    }
    bound: dict[str, BoundWorkspace] = {}
    for i, binding in enumerate(run.workspaces):
        try:
            sub_path = substitute(binding.sub_path, context, strict=(), field=f"spec.workspaces[{i}].subPath")
        except SubstitutionError as exc:
            raise where.error(str(exc), R.PR_INVALID_WORKSPACE_BINDING, f"spec.workspaces[{i}]") from exc
        bound[binding.name] = BoundWorkspace(
            replace(binding, sub_path=sub_path), host_dirs.get(binding.name, "")
        )
    _check_workspaces(run, spec, bound, objects, where)
    prefix = "spec.pipelineSpec" if run.pipeline_spec is not None else "spec"
    for section, section_tasks in (("tasks", spec.tasks), ("finally", spec.finally_tasks)):
        for i, task in enumerate(section_tasks):
            resolved = tasks.get(task.name)
            if resolved is None:
                raise pipeline_where.error(
                    f"pipeline task {task.name!r}: its Task was not resolved",
                    R.PR_COULDNT_GET_TASK,
                    f"{prefix}.{section}[{i}].taskRef",
                )
            _check_task(task, f"{prefix}.{section}[{i}]", resolved, spec, tasks, pipeline_where)
    task_timeouts = {s.pipeline_task_name: s.timeout for s in run.task_run_specs if s.timeout is not None}
    accounts = {s.pipeline_task_name: s.service_account_name for s in run.task_run_specs}
    return PipelineRunPlan(
        name=name,
        pipeline_name=pipeline_name,
        spec=spec,
        tasks=tasks,
        params=params,
        workspaces=bound,
        objects=objects,
        timeouts=resolve_timeouts(run.timeouts, timeout),
        task_timeouts=task_timeouts,
        service_accounts={k: v or run.task_run_template.service_account_name for k, v in accounts.items()},
        namespace=run.meta.namespace or "default",
        uid=uid,
    )


def build_task_run_plan(
    run: TaskRun,
    task: ResolvedTask,
    *,
    objects: Objects,
    host_dirs: Mapping[str, str],
    uid: str,
    name: str,
    timeout: float | None = None,
) -> TaskRunPlan:
    """The checked plan of a standalone TaskRun (named ``name``) running ``task``."""
    where = _Where(str(run.source) if run.source else None, f"TaskRun/{name}")
    # A run built for the command line has no file: its params are checked against the Task's.
    params_where = where if run.source or not task.source else _Where(task.source, f"Task/{task.name}")
    given = {p.name for p in run.params}
    missing = [p.name for p in task.spec.params if p.default is None and p.name not in given]
    if missing:
        raise params_where.error(
            f"{R.USER_ERROR}invalid input params for task {task.name}: missing values for these params which "
            f"have no default values: {_go_list(missing)}",
            R.TR_VALIDATION_FAILED,
            "spec.params",
        )

    def fail(path: str, message: str) -> SpecError:
        reason = R.PR_INVALID_PARAM_VALUE if "enum" in message else R.PR_PARAMETER_TYPE_MISMATCH
        return params_where.error(f"{R.USER_ERROR}{message}", reason, path)

    params = bind_params(task.spec.params, run.params, fail)
    context = {"context.taskRun.name": name, "context.taskRun.namespace": run.meta.namespace or "default"}
    context["context.taskRun.uid"] = uid
    bindings = {b.name: b for b in run.workspaces}
    declared = {w.name for w in task.spec.workspaces}
    for i, binding in enumerate(run.workspaces):
        if binding.name not in declared:
            raise where.error(
                f"workspace binding {binding.name!r} does not match any workspace of Task {task.name}",
                R.PR_INVALID_WORKSPACE_BINDING,
                f"spec.workspaces[{i}]",
            )

        def bad(message: str, at: str = f"spec.workspaces[{i}]") -> SpecError:
            return where.error(message, R.PR_INVALID_WORKSPACE_BINDING, at)

        check_binding(binding, objects, bad)
    volumes: list[WorkspaceVolume] = []
    for decl in task.spec.workspaces:
        chosen = bindings.get(decl.name)
        if chosen is None and not decl.optional:
            raise where.error(
                f'TaskRun {name} does not bind workspace "{decl.name}" that Task {task.name} declares',
                R.PR_INVALID_WORKSPACE_BINDING,
                "spec.workspaces",
            )
        bound = None
        if chosen is not None:
            sub_path = substitute(chosen.sub_path, context, strict=())
            bound = BoundWorkspace(replace(chosen, sub_path=sub_path), host_dirs.get(chosen.name, ""))
        volumes.append(volume_for(decl, bound, objects, volume_name=f"ws-{decl.name}"))
    limit = timeout if timeout is not None else run.timeout
    return TaskRunPlan(
        name=name,
        task_name=task.name,
        spec=task.spec,
        params=params,
        workspaces=tuple(volumes),
        objects=objects,
        timeout=(DEFAULT_TIMEOUT if limit is None else limit) or None,
        retries=run.retries,
        namespace=run.meta.namespace or "default",
        uid=uid,
        service_account=run.service_account_name,
    )
