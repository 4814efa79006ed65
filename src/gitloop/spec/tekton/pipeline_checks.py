"""How the parts of a Pipeline refer to one another, checked as Tekton's webhook checks them.

Task names are DNS labels and unique; ``runAfter`` and result references name existing tasks (a task
in ``tasks`` never a ``finally`` task, a ``finally`` task only tasks in ``tasks``); ``finally`` tasks
have no ``runAfter``; execution status (``$(tasks.x.status)``) is read only in ``finally``; params are
declared and used with their types; workspaces are declared; the tasks form no cycle.
``parse_pipeline`` reads a ``Pipeline`` document and runs every check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from math import prod

from gitloop.errors import SpecError
from gitloop.spec.fields import Node
from gitloop.spec.tekton.graph import describe_cycle, find_cycle
from gitloop.spec.tekton.meta import Source, parse_meta
from gitloop.spec.tekton.names import dns1123_label_problem
from gitloop.spec.tekton.params import Param, ParamSpec, references_in
from gitloop.spec.tekton.pipeline import Pipeline, PipelineSpec, PipelineTask, parse_pipeline_spec
from gitloop.spec.tekton.task import check_task_references
from gitloop.spec.tekton.usage import PIPELINE_CONTEXT, Position, Scope, check_text
from gitloop.spec.tekton.variables import (
    PIPELINE_PREFIXES,
    exact_reference,
    find_references,
    tekton_expressions,
)

Fail = Callable[[str, str], SpecError]
MAX_MATRIX_COMBINATIONS = 256
"""Tekton's default ``max-matrix-combinations-count``."""


def check_pipeline_spec(
    spec: PipelineSpec, fail: Fail, path: str = "spec", propagated: Mapping[str, ParamSpec] | None = None
) -> None:
    """Raise the first inconsistency of ``spec``; ``propagated`` params (from a PipelineRun) count as declared."""
    sections = (("tasks", spec.tasks), ("finally", spec.finally_tasks))
    if spec.finally_tasks and not spec.tasks:
        raise fail(
            f"{path}.finally", f"spec.tasks is empty but spec.finally has {len(spec.finally_tasks)} tasks"
        )
    seen: set[str] = set()
    for section, tasks in sections:
        for i, task in enumerate(tasks):
            if problem := dns1123_label_problem(task.name):
                raise fail(f"{path}.{section}[{i}].name", f"pipeline task name {problem}")
            if task.name in seen:
                raise fail(
                    f"{path}.{section}[{i}].name", f"pipeline task name {task.name!r} appears more than once"
                )
            seen.add(task.name)
    params = {**(propagated or {}), **{p.name: p for p in spec.params}}
    workspaces = {w.name for w in spec.workspaces}
    for section, tasks in sections:
        for i, task in enumerate(tasks):
            at = f"{path}.{section}[{i}]"
            _check_run_after(spec, task, section, fail, at)
            _check_task_references(spec, task, section, fail, at)
            _check_param_usage(task, params, fail, at)
            _check_matrix(task, fail, at)
            for j, binding in enumerate(task.workspaces):
                if binding.pipeline_workspace not in workspaces:
                    raise fail(
                        f"{at}.workspaces[{j}]",
                        f"pipeline task {task.name!r} expects workspace with name "
                        f"{binding.pipeline_workspace!r} but none exists in pipeline spec",
                    )
            if task.task_spec is not None:
                check_task_references(task.task_spec, fail, f"{at}.taskSpec", propagated=params)
    _check_results(spec, fail, path)
    dependencies = {t.name: t.dependencies() for t in spec.tasks}
    cycle = find_cycle(dependencies, [t.name for t in spec.tasks])
    if cycle is not None:
        first = next(i for i, t in enumerate(spec.tasks) if t.name == cycle[0])
        raise fail(f"{path}.tasks[{first}]", f"cycle detected in task order: {describe_cycle(cycle)}")


def _check_run_after(spec: PipelineSpec, task: PipelineTask, section: str, fail: Fail, at: str) -> None:
    if task.run_after and section == "finally":
        raise fail(
            f"{at}.runAfter", f"no runAfter allowed under spec.finally, final task {task.name} has runAfter"
        )
    names = {t.name for t in spec.tasks}
    for j, before in enumerate(task.run_after):
        if before not in names:
            extra = " (finally tasks run after all tasks)" if spec.task(before) is not None else ""
            raise fail(
                f"{at}.runAfter[{j}]",
                f"task {task.name} depends on {before} but {before} wasn't present in Pipeline{extra}",
            )


def _check_task_references(spec: PipelineSpec, task: PipelineTask, section: str, fail: Fail, at: str) -> None:
    dag = {t.name: t for t in spec.tasks}
    final = {t.name for t in spec.finally_tasks}
    for field, text in task.param_strings():
        where = f"{at}.{field}"
        for expression in tekton_expressions(text):
            if expression.split(".", 1)[0] not in PIPELINE_PREFIXES:
                raise fail(
                    where,
                    f"invalid variable reference $({expression}), must start with a valid prefix: params, tasks, "
                    "finally, context, workspaces, or results; if you meant a shell variable, use ${VAR} instead",
                )
        for ref in find_references(text):
            status = ref.status_ref
            if status is not None:
                if section == "tasks":
                    raise fail(
                        where,
                        "pipeline tasks can not refer to execution status of any other pipeline task "
                        f"or aggregate status of tasks ({ref.expression})",
                    )
                if status and status not in dag:
                    raise fail(where, f"pipeline task {status} is not defined in the pipeline")
                continue
            _check_result_ref(ref.result_ref, ref.star, ref.expression, dag, final, section, fail, where)
    for text in task.spec_strings():
        for ref in find_references(text):
            _check_result_ref(
                ref.result_ref, ref.star, ref.expression, dag, final, section, fail, f"{at}.taskSpec"
            )


def _check_result_ref(
    result_ref: tuple[str, str] | None,
    star: bool,
    expression: str,
    dag: Mapping[str, PipelineTask],
    final: set[str],
    section: str,
    fail: Fail,
    where: str,
) -> None:
    if result_ref is None:
        return
    producer, result = result_ref
    if producer in final:
        message = (
            f"invalid task result reference {expression}, final task has task result reference from a final task {producer}"
            if section == "finally"
            else f"invalid task result reference {expression}: {producer} is a finally task, which runs after all tasks"
        )
        raise fail(where, message)
    if producer not in dag:
        raise fail(
            where,
            f"invalid task result reference {expression}: task {producer} is not defined in the pipeline",
        )
    target = dag[producer]
    if target.task_spec is not None and target.task_spec.result(result) is None:
        raise fail(
            where,
            f"invalid task result reference {expression}: task {producer} declares no result {result!r}",
        )
    if target.matrix is not None and not star:
        raise fail(
            where,
            f"A matrixed pipelineTask can only be consumed in aggregate using [*] notation, "
            f"but is currently set to {expression}",
        )


def _check_param_usage(task: PipelineTask, params: Mapping[str, ParamSpec], fail: Fail, at: str) -> None:
    scope = Scope(params=params, context=PIPELINE_CONTEXT)

    def check(text: str, position: Position, where: str) -> None:
        check_text(text, scope, position, lambda message: fail(where, message))

    groups: list[tuple[str, tuple[Param, ...], Position]] = [("params", task.params, "value")]
    if task.task_ref is not None:
        groups.append(("taskRef.params", task.task_ref.params, "value"))
    if task.matrix is not None:
        groups.append(("matrix.params", task.matrix.params, "element"))
        for i, include in enumerate(task.matrix.include):
            groups.append((f"matrix.include[{i}].params", include.params, "value"))
    for prefix, group, position in groups:
        for i, param in enumerate(group):
            where = f"{at}.{prefix}[{i}].value"
            if isinstance(param.value, str):
                check(param.value, position, where)
            elif isinstance(param.value, tuple):
                for j, item in enumerate(param.value):
                    check(item, "element", f"{where}[{j}]")
            else:
                for key, item in param.value.items():
                    check(item, "string", f"{where}.{key}")
    for i, when in enumerate(task.when):
        check(when.input, "string", f"{at}.when[{i}].input")
        for j, value in enumerate(when.values):
            check(value, "element", f"{at}.when[{i}].values[{j}]")


def _check_matrix(task: PipelineTask, fail: Fail, at: str) -> None:
    if task.matrix is None:
        return
    matrix = task.matrix
    if not matrix.params and not matrix.include:
        raise fail(f"{at}.matrix", "expected at least one, got none: params, include")
    names = {p.name for p in task.params}
    lengths: list[int] = []
    seen: set[str] = set()
    for i, param in enumerate(matrix.params):
        where = f"{at}.matrix.params[{i}]"
        if param.name in names:
            raise fail(where, f"parameter {param.name!r} cannot be used in both params and matrix")
        if param.name in seen:
            raise fail(where, f"parameter {param.name!r} appears more than once in the matrix")
        seen.add(param.name)
        if isinstance(param.value, tuple):
            lengths.append(len(param.value))
        elif not (isinstance(param.value, str) and (ref := exact_reference(param.value)) and ref.whole):
            raise fail(
                f"{where}.value",
                f"matrix parameter {param.name!r} must be an array (or a whole array reference)",
            )
        else:
            lengths.append(1)
    for i, include in enumerate(matrix.include):
        for j, param in enumerate(include.params):
            if not isinstance(param.value, str):
                raise fail(
                    f"{at}.matrix.include[{i}].params[{j}].value",
                    f"matrix.include parameter {param.name!r} must be a string",
                )
    combinations = prod(lengths) if lengths else 0
    if combinations + len(matrix.include) > MAX_MATRIX_COMBINATIONS:
        raise fail(
            f"{at}.matrix",
            f"expected 0 <= matrix combinations <= {MAX_MATRIX_COMBINATIONS}, got "
            f"{combinations + len(matrix.include)}",
        )


def _check_results(spec: PipelineSpec, fail: Fail, path: str) -> None:
    dag = {t.name for t in spec.tasks}
    final = {t.name for t in spec.finally_tasks}
    for i, result in enumerate(spec.results):
        where = f"{path}.results[{i}].value"
        texts = references_in(result.value)
        expressions = [e for text in texts for e in tekton_expressions(text)]
        if not expressions:
            raise fail(
                where, "expected pipeline results to be task result expressions but no expressions were found"
            )
        refs = [ref for text in texts for ref in find_references(text)]
        result_refs = [ref for ref in refs if ref.result_ref is not None]
        if len(result_refs) != len(expressions):
            raise fail(where, f"expected all of the expressions {expressions} to be result expressions")
        for ref in result_refs:
            producer = ref.result_ref[0] if ref.result_ref else ""
            if producer not in (dag if ref.namespace == "tasks" else final):
                raise fail(where, f"referencing a nonexistent task: {ref.expression}")


def parse_pipeline(body: Node, api_version: str, source: Source | None = None) -> Pipeline:
    """A ``Pipeline`` document, with every check of ``pipeline_checks``."""
    body.only(("apiVersion", "kind", "metadata", "spec"))
    meta = parse_meta(body)
    spec_node = body.child("spec")
    if spec_node is None:
        raise body.error("required field is missing", "spec")
    spec = parse_pipeline_spec(spec_node, beta=api_version.endswith("v1beta1"))
    check_pipeline_spec(spec, body.origin.error, "spec")
    return Pipeline(api_version, meta, spec, source)
