"""Implicit workspace propagation into embedded specs, as Tekton does it before a run. Pure.

Tekton's workspaces.md ("Propagated Workspaces"): a run's workspaces reach embedded specs without being
declared there. ``propagate_pipeline_workspaces``: a PipelineRun's bindings become declarations of its
embedded ``pipelineSpec`` (when it does not declare them), and each pipeline task with an embedded
``taskSpec`` whose containers use ``$(workspaces.<w>...)`` of a Pipeline workspace it neither declares
nor binds gets the declaration and the binding ``{name: w, workspace: w}``. ``propagate_task_workspaces``:
a TaskRun's bindings become declarations of its embedded ``taskSpec``. Nothing is propagated to a
referenced Task or Pipeline (``taskRef``/``pipelineRef``): those must declare what they use, and a
binding they do not declare stays an error.

Params need no rewriting: an embedded spec is checked and substituted with the params of its parents
(``spec.tekton.runs``, ``pipeline.scheduling``), the innermost declaration or value winning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from gitloop.pipeline.plan import ResolvedTask
from gitloop.pipeline.substitution import references
from gitloop.spec.tekton import (
    PipelineRun,
    PipelineSpec,
    PipelineTask,
    PipelineWorkspaceDeclaration,
    TaskRun,
    TaskSpec,
    WorkspaceBinding,
    WorkspaceDeclaration,
    WorkspacePipelineTaskBinding,
)


def used_workspaces(spec: TaskSpec) -> list[str]:
    """The workspaces ``$(workspaces.<w>...)`` names in a Task spec's steps, template and sidecars, in order."""
    found: list[str] = []
    for ref in references((spec.steps, spec.step_template, spec.sidecars)):
        parts = ref.name.split(".")
        if ref.namespace == "workspaces" and len(parts) > 1 and parts[1] not in found:
            found.append(parts[1])
    return found


def _declare(spec: TaskSpec, names: Sequence[str]) -> TaskSpec:
    declared = {w.name for w in spec.workspaces}
    extra = tuple(WorkspaceDeclaration(n) for n in names if n not in declared)
    return replace(spec, workspaces=spec.workspaces + extra) if extra else spec


def _propagate_task(task: PipelineTask, pipeline: dict[str, PipelineWorkspaceDeclaration]) -> PipelineTask:
    if task.task_spec is None:
        return task
    declared = {w.name for w in task.task_spec.workspaces}
    bound = {b.name for b in task.workspaces}
    names = [n for n in used_workspaces(task.task_spec) if n in pipeline and n not in declared | bound]
    if not names:
        return task
    spec = task.task_spec
    extra = tuple(WorkspaceDeclaration(n, optional=pipeline[n].optional) for n in names)
    return replace(
        task,
        task_spec=replace(spec, workspaces=spec.workspaces + extra),
        workspaces=task.workspaces + tuple(WorkspacePipelineTaskBinding(n, n) for n in names),
    )


def propagate_pipeline_workspaces(run: PipelineRun, spec: PipelineSpec) -> PipelineSpec:
    """``spec`` (the run's Pipeline) with the run's workspaces propagated into its embedded specs."""
    declarations = list(spec.workspaces)
    if run.pipeline_spec is not None:
        known = {w.name for w in declarations}
        declarations += [PipelineWorkspaceDeclaration(b.name) for b in run.workspaces if b.name not in known]
    pipeline = {w.name: w for w in declarations}
    return replace(
        spec,
        workspaces=tuple(declarations),
        tasks=tuple(_propagate_task(t, pipeline) for t in spec.tasks),
        finally_tasks=tuple(_propagate_task(t, pipeline) for t in spec.finally_tasks),
    )


def propagate_task_workspaces(run: TaskRun, task: ResolvedTask) -> ResolvedTask:
    """The TaskRun's Task with the run's workspaces declared, when its ``taskSpec`` is embedded."""
    if not task.embedded or run.task_spec is None:
        return task
    bindings: Sequence[WorkspaceBinding] = run.workspaces
    return replace(task, spec=_declare(task.spec, [b.name for b in bindings]))
