"""One pipeline task at the moment it may start: its variables, whether it is skipped, its TaskRuns. Pure.

The pipeline-level pass substitutes ``$(params.*)``, ``$(context.pipelineRun.*)``,
``$(context.pipeline.name)``, ``$(context.pipelineTask.retries)``, ``$(workspaces.<w>.bound)`` and the
results of finished tasks (``$(tasks.<t>.results.<r>)``, aggregated into arrays for matrixed tasks,
and ``$(tasks.<t>.matrix.length)``) into the pipeline task's params, matrix, ``when`` and embedded
steps; finally tasks also see ``$(tasks.<t>.status)``, ``$(tasks.<t>.reason)`` and ``$(tasks.status)``.
The task-level pass (``taskrun``) substitutes the rest when each step starts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gitloop.errors import SpecError
from gitloop.pipeline import reasons as R
from gitloop.pipeline.containers import substitute_container
from gitloop.pipeline.matrix import Combination, combinations
from gitloop.pipeline.plan import PipelineRunPlan, ResolvedTask
from gitloop.pipeline.results import aggregate
from gitloop.pipeline.state import PipelineRunState, PipelineTaskState
from gitloop.pipeline.substitution import (
    PIPELINE_STRICT,
    Context,
    Value,
    params_context,
    substitute,
    substitute_param_value,
    substitute_value,
)
from gitloop.pipeline.taskrun import TaskRunPlan
from gitloop.pipeline.volumes import WorkspaceVolume, volume_for
from gitloop.pipeline.when import WhenResult, evaluate, resolve
from gitloop.spec.tekton import Param, PipelineTask, Reference, TaskSpec, bind_params, find_references

_REF_STRICT = frozenset({"context.pipelineRun.", "context.pipeline.", "context.pipelineTask."})
"""What the pipeline-level pass must resolve in a referenced Task (its ``params`` are its own)."""


class TaskResolutionError(SpecError):
    """A pipeline task that cannot be turned into TaskRuns; ``reason`` is the PipelineRun's reason."""

    def __init__(self, message: str, *, reason: str) -> None:
        self.reason = reason
        super().__init__(message)


def child_name(run: str, task: str, index: int | None = None) -> str:
    """``<run>-<task>`` (``-<index>`` for a matrix combination), shortened with a hash past 63 characters."""
    suffix = f"-{task}" + (f"-{index}" if index is not None else "")
    name = run + suffix
    if len(name) <= 63:
        return name
    digest = hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()
    return f"{name[: 63 - len(digest) - len(suffix)]}{digest}{suffix}"[:63]


def task_results(state: PipelineRunState, task: PipelineTaskState) -> dict[str, Any]:
    """The results a pipeline task produced (aggregated over a matrix), once its TaskRuns are done."""
    children = [state.children[name] for name in task.children if name in state.children]
    if not children or not all(c.done for c in children):
        return {}
    if not task.matrixed:
        return dict(children[0].results)
    return dict(aggregate([c.results for c in children]))


def _status_of(state: PipelineRunState, task: PipelineTaskState) -> tuple[str, str]:
    if task.status == "Succeeded":
        return R.STATUS_SUCCEEDED, R.TR_SUCCEEDED
    if task.status == "Failed":
        reasons = [state.children[c].condition.reason for c in task.children if c in state.children]
        return R.STATUS_FAILED, next((r for r in reasons if r != R.TR_SUCCEEDED), R.TR_FAILED)
    return R.STATUS_NONE, ""


def aggregate_status(state: PipelineRunState, plan: PipelineRunPlan) -> str:
    """``$(tasks.status)``: Succeeded, Failed, Completed, or None while a task has not settled."""
    tasks = [state.tasks[t.name] for t in plan.spec.tasks]
    if any(t.status in ("Pending", "Running", "NotRun") for t in tasks):
        return R.STATUS_NONE
    if any(t.status == "Failed" for t in tasks):
        return R.STATUS_FAILED
    if any(t.status == "Skipped" for t in tasks):
        return R.STATUS_COMPLETED
    return R.STATUS_SUCCEEDED


def pipeline_context(plan: PipelineRunPlan, state: PipelineRunState, task: PipelineTask) -> dict[str, Value]:
    """The pipeline-level variables for ``task``."""
    context: dict[str, Value] = params_context(plan.params)
    context.update(
        {
            "context.pipelineRun.name": plan.name,
            "context.pipelineRun.namespace": plan.namespace,
            "context.pipelineRun.uid": plan.uid,
            "context.pipeline.name": plan.pipeline_name,
            "context.pipelineTask.retries": str(task.retries),
        }
    )
    for workspace in plan.spec.workspaces:
        context[f"workspaces.{workspace.name}.bound"] = (
            "true" if workspace.name in plan.workspaces else "false"
        )
    final = plan.is_final(task.name)
    for other in plan.spec.tasks:
        other_state = state.tasks[other.name]
        results = task_results(state, other_state)
        for key, value in results.items():
            context[f"tasks.{other.name}.results.{key}"] = value
        if other.matrix is not None and other_state.children:
            context[f"tasks.{other.name}.matrix.length"] = str(len(other_state.children))
            for key, value in results.items():
                context[f"tasks.{other.name}.matrix.{key}.length"] = str(len(value))
        if final:
            status, reason = _status_of(state, other_state)
            context[f"tasks.{other.name}.status"] = status
            context[f"tasks.{other.name}.reason"] = reason
    if final:
        context["tasks.status"] = aggregate_status(state, plan)
    return context


def missing_results(task: PipelineTask, context: Context) -> list[Reference]:
    """The result references of ``task`` that no finished task has produced."""
    return [
        ref
        for ref in task.references()
        if ref.result_ref is not None and ref.namespace == "tasks" and ref.name not in context
    ]


@dataclass(frozen=True)
class Verdict:
    """Whether a ready task runs: ``skip`` is a ``skippedTasks`` reason, or ``""`` to run it."""

    skip: str = ""
    when: tuple[dict[str, Any], ...] = ()


def _when_json(result: WhenResult) -> tuple[dict[str, Any], ...]:
    found: list[dict[str, Any]] = []
    for expression in result.resolved:
        if expression.cel:
            found.append({"cel": expression.cel})
        else:
            found.append(
                {
                    "input": expression.input,
                    "operator": expression.operator,
                    "values": list(expression.values),
                }
            )
    return tuple(found)


def judge(plan: PipelineRunPlan, state: PipelineRunState, task: PipelineTask, context: Context) -> Verdict:
    """Tekton's skipping rules for a task whose parents have settled (``stopping`` and cancellation are
    the caller's): ``when`` false; a parent skipped for any reason but its own ``when``; results it
    needs that are missing, when the producer was skipped by ``when`` or this task is a finally task or
    continues on error (otherwise the run fails: ``TaskResolutionError``); an empty matrix array."""
    missing = missing_results(task, context)
    missing_names = {ref.name for ref in missing}
    when_needs_missing = any(
        ref.name in missing_names for w in task.when for text in w.strings() for ref in find_references(text)
    )
    if task.when and not when_needs_missing:
        result = _evaluate_when(task, context)
        if not result.allowed:
            return Verdict(R.SKIP_WHEN, _when_json(result))
    final = plan.is_final(task.name)
    if not final:
        for parent in sorted(plan.parents[task.name]):
            parent_state = state.tasks[parent]
            if parent_state.status == "Skipped" and parent_state.skip_reason != R.SKIP_WHEN:
                return Verdict(R.SKIP_PARENT)
    if missing:
        producers = {ref.result_ref[0] for ref in missing if ref.result_ref}
        when_skipped = any(state.tasks[p].skip_reason == R.SKIP_WHEN for p in producers if p in state.tasks)
        if final or task.on_error == "continue" or when_skipped:
            return Verdict(R.SKIP_MISSING_RESULTS)
        raise TaskResolutionError(
            f"Invalid task result reference from pipeline task {task.name!r}: "
            + "; ".join(f"{ref.expression} was not produced" for ref in missing),
            reason=R.PR_INVALID_RESULT_REFERENCE,
        )
    if task.matrix is not None:
        for param in task.matrix.params:
            value = substitute_param_value(param.value, context, strict=PIPELINE_STRICT)
            if isinstance(value, tuple) and not value:
                return Verdict(R.SKIP_EMPTY_MATRIX)
    return Verdict()


def _evaluate_when(task: PipelineTask, context: Context) -> WhenResult:
    try:
        return evaluate(task.when, context, strict=PIPELINE_STRICT, field="when")
    except SpecError as exc:
        raise TaskResolutionError(
            f"pipeline task {task.name!r}: {exc}", reason=R.PR_INVALID_PARAM_VALUE
        ) from exc
    except Exception as exc:  # a CEL evaluation error
        raise TaskResolutionError(
            f"pipeline task {task.name!r}: {exc}", reason=R.PR_CEL_EVALUATION_FAILED
        ) from exc


def _substitute_spec(
    resolved: ResolvedTask, context: Context, task: PipelineTask, params: Sequence[Param]
) -> TaskSpec:
    """The Task with the pipeline-level variables substituted into its containers.

    An embedded spec sees the Pipeline's params (run values over defaults) even where it declares a
    param of that name with a default: the runtime value wins (Tekton's TEP-0107 propagation); a value
    the pipeline task passes for a Pipeline param wins over the Pipeline's (inner scope first). A
    param the Pipeline does not have, or that the matrix fans out, is left for the task-level pass."""
    spec = resolved.spec
    # $(workspaces.<w>.*) in a Task's steps names the Task's own workspace <w>: the pipeline-level
    # values (the Pipeline's workspace of that name) apply only to workspaces an embedded spec
    # does not declare itself (propagated workspaces).
    own_workspaces = {w.name for w in spec.workspaces}
    if resolved.embedded:
        fanned = {p.name for p in task.matrix.params} if task.matrix is not None else set()
        ctx: dict[str, Value] = {
            k: v
            for k, v in context.items()
            if not (k.startswith("params.") and k[7:] in fanned)
            and not (k.startswith("workspaces.") and k.split(".")[1] in own_workspaces)
        }
        ctx.update({f"params.{p.name}": p.value for p in params if f"params.{p.name}" in ctx})
        strict: Collection[str] = PIPELINE_STRICT - {"params."}
    else:
        ctx = {k: v for k, v in context.items() if k.startswith("context.")}
        strict = _REF_STRICT
    steps = tuple(
        replace(
            substitute_container(s, ctx, strict, f"steps[{i}]"),
            when=tuple(resolve(w, ctx, strict=strict) for w in s.when),
        )
        for i, s in enumerate(spec.steps)
    )
    sidecars = tuple(
        substitute_container(s, ctx, strict, f"sidecars[{i}]") for i, s in enumerate(spec.sidecars)
    )
    template = spec.step_template
    if template is not None:
        template = substitute_container(template, ctx, strict, "stepTemplate")
    volumes = tuple(substitute_value(dict(v), ctx, strict=strict) for v in spec.volumes)
    return replace(spec, steps=steps, sidecars=sidecars, step_template=template, volumes=volumes)


def _matrix(task: PipelineTask, context: Context) -> list[Combination]:
    if task.matrix is None:
        return [Combination(())]
    params: list[tuple[str, tuple[str, ...]]] = []
    for i, param in enumerate(task.matrix.params):
        value = substitute_param_value(
            param.value, context, strict=PIPELINE_STRICT, field=f"matrix.params[{i}]"
        )
        if not isinstance(value, tuple):
            raise TaskResolutionError(
                f"pipeline task {task.name!r}: matrix param {param.name!r} is not an array after substitution",
                reason="InvalidMatrixParameterTypes",
            )
        params.append((param.name, value))
    include: list[tuple[str, tuple[tuple[str, str], ...]]] = []
    for entry in task.matrix.include:
        values = tuple(
            (p.name, substitute(str(p.value), context, strict=PIPELINE_STRICT)) for p in entry.params
        )
        include.append((entry.name, values))
    return combinations(params, include)


def task_run_plans(
    plan: PipelineRunPlan, state: PipelineRunState, task: PipelineTask, context: Context
) -> list[TaskRunPlan]:
    """The TaskRuns of ``task`` (one per matrix combination), fully resolved at the pipeline level."""
    resolved = plan.tasks[task.name]
    try:
        params = [
            Param(
                p.name, substitute_param_value(p.value, context, strict=PIPELINE_STRICT, field=f"params[{i}]")
            )
            for i, p in enumerate(task.params)
        ]
        spec = _substitute_spec(resolved, context, task, params)
        combos = _matrix(task, context)
        display = substitute(task.display_name, context, strict=())
    except SpecError as exc:
        if isinstance(exc, TaskResolutionError):
            raise
        raise TaskResolutionError(
            f"pipeline task {task.name!r}: {exc}", reason=R.PR_INVALID_PARAM_VALUE
        ) from exc
    timeout = plan.task_timeouts.get(task.name, task.timeout)
    plans: list[TaskRunPlan] = []
    for index, combo in enumerate(combos):
        all_params = [*params, *combo.params]

        def fail(path: str, message: str) -> SpecError:
            return TaskResolutionError(
                f"{R.USER_ERROR}pipeline task {task.name!r}: {message}", reason=R.PR_PARAMETER_TYPE_MISMATCH
            )

        bound = bind_params(spec.params, all_params, fail)
        name = child_name(plan.name, task.name, index if task.matrix is not None else None)
        combo_context = {**context, **params_context({p.name: p.value for p in combo.params})}
        label = substitute(combo.name, combo_context, strict=()) if combo.name else ""
        if not label and display and task.matrix is not None:
            label = substitute(task.display_name, combo_context, strict=())
        plans.append(
            TaskRunPlan(
                name=name,
                task_name=resolved.name,
                spec=spec,
                params=bound,
                workspaces=_workspaces(plan, task, spec, context),
                objects=plan.objects,
                timeout=timeout or None,
                retries=task.retries,
                namespace=plan.namespace,
                uid=hashlib.sha1(f"{plan.uid}/{name}".encode(), usedforsecurity=False).hexdigest()[:32],
                pipeline_task=task.name,
                display_name=label or display,
                service_account=plan.service_accounts.get(task.name, ""),
                result_limit=plan.result_limit,
            )
        )
    return plans


def _workspaces(
    plan: PipelineRunPlan, task: PipelineTask, spec: TaskSpec, context: Context
) -> tuple[WorkspaceVolume, ...]:
    bindings = {b.name: b for b in task.workspaces}
    volumes: list[WorkspaceVolume] = []
    for decl in spec.workspaces:
        binding = bindings.get(decl.name)
        bound = plan.workspaces.get(binding.pipeline_workspace) if binding else None
        sub_path = substitute(binding.sub_path, context, strict=PIPELINE_STRICT) if binding else ""
        volumes.append(
            volume_for(decl, bound, plan.objects, sub_path=sub_path, volume_name=f"ws-{decl.name}")
        )
    return tuple(volumes)


def pipeline_results(plan: PipelineRunPlan, state: PipelineRunState) -> list[dict[str, Any]]:
    """The Pipeline's results whose every referenced task succeeded and produced what they name."""
    context: dict[str, Value] = {}
    for task in (*plan.spec.tasks, *plan.spec.finally_tasks):
        task_state = state.tasks[task.name]
        if task_state.status != "Succeeded":
            continue
        namespace = "finally" if plan.is_final(task.name) else "tasks"
        for key, value in task_results(state, task_state).items():
            context[f"{namespace}.{task.name}.results.{key}"] = value
    found: list[dict[str, Any]] = []
    for result in plan.spec.results:
        try:
            value = substitute_param_value(result.value, context, strict=frozenset({"tasks.", "finally."}))
        except SpecError:
            continue
        found.append({"name": result.name, "value": list(value) if isinstance(value, tuple) else value})
    return found
