"""From what was asked to a checked run, ready for the driver: the CI engine's side of ``gitloop
pipeline run``/``task run`` and of a run a server launches.

``prepare_pipeline_run``/``prepare_task_run`` load the files (``inputs``), pick or build the run,
resolve its Tasks and build its plan; a ``SpecError``/``UsageError`` here means nothing ran, and a
run that fails validation is handed to ``on_invalid`` first (to keep it, as Tekton keeps the failed
object). A run may also be given as a resource already in memory (``resources``: the PipelineRun a
server's TriggerTemplate rendered), read as if it were one more file.

Directories: a run works in ``<root>/runs/<run>/`` (sandboxes, ``volumeClaimTemplate`` workspaces),
removed at its end; a ``persistentVolumeClaim`` workspace is the directory
``<root>/volumes/<claimName>``, kept across runs like a claim; ``-w name=DIR`` binds DIR itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gitloop.errors import UsageError
from gitloop.pipeline.inputs import (
    GitFilesFactory,
    Inputs,
    KeptSource,
    load_inputs,
    pipeline_run_for,
    resolve_pipeline_tasks,
    run_name,
    task_run_for,
)
from gitloop.pipeline.plan import PipelineRunPlan, RunValidationError, build_plan, build_task_run_plan
from gitloop.pipeline.propagation import propagate_pipeline_workspaces, propagate_task_workspaces
from gitloop.pipeline.records import PIPELINE_RUN, TASK_RUN
from gitloop.pipeline.taskrun import TaskRunPlan
from gitloop.pipeline.volumes import HOST_PATH
from gitloop.spec.tekton import WorkspaceBinding

OnInvalid = Callable[[str, str, RunValidationError], None]
"""Called with the kind and name of a run that failed validation, before the error is raised."""


@dataclass(frozen=True)
class Ask:
    """What a run was asked: the files (and resources in memory), the run to pick, flags."""

    files: Sequence[Path] = ()
    name: str | None = None
    """``--pipeline`` or ``--task``."""
    params: Sequence[str] = ()
    workspaces: Sequence[str] = ()
    catalog_dirs: Sequence[Path] = ()
    timeout: float | None = None
    resources: Sequence[Mapping[str, Any]] = ()
    """Objects already in memory, read before the files (a server's rendered PipelineRun)."""
    pick: int | None = None
    """Which of the files' PipelineRuns (or TaskRuns) to run, by position, when they hold several."""
    inputs: Inputs | None = None
    """The files already loaded (``load_inputs`` of ``files`` and ``resources``): not read again."""


@dataclass
class PreparedRun:
    """A checked run, ready to drive."""

    kind: str
    name: str
    run_dir: Path
    pipeline: PipelineRunPlan | None = None
    task: TaskRunPlan | None = None
    cancel: str = ""
    cleanup: list[Path] = field(default_factory=list)
    labels: Mapping[str, str] = field(default_factory=dict)
    """The run's own ``metadata.labels`` (kept on its manifest and its store record)."""
    annotations: Mapping[str, str] = field(default_factory=dict)
    sources: Sequence[KeptSource] = ()
    """The input files as they may be stored: Secrets redacted."""
    mask: Callable[[str], str] = str
    """Blanks the values of the input's Secrets out of step output."""

    @property
    def namespace(self) -> str:
        plan = self.pipeline or self.task
        assert plan is not None, "a prepared run has a plan"
        return plan.namespace


def _host_dirs(
    bindings: Sequence[WorkspaceBinding], run_dir: Path, root: Path
) -> tuple[dict[str, str], list[Path]]:
    dirs: dict[str, str] = {}
    cleanup: list[Path] = []
    for binding in bindings:
        if binding.kind == HOST_PATH:
            dirs[binding.name] = str(binding.source["path"])
        elif binding.kind == "persistentVolumeClaim":
            dirs[binding.name] = str(_below(root / "volumes", binding.claim_name, binding.name))
        elif binding.kind == "volumeClaimTemplate":
            path = _below(run_dir / "workspaces", binding.name, binding.name)
            dirs[binding.name] = str(path)
            cleanup.append(path)
    return dirs, cleanup


def _below(parent: Path, name: str, workspace: str) -> Path:
    """``parent/name``, refused unless it is a directory right below ``parent`` (the specs check the
    names already; this keeps a name from anywhere else from leaving the state directory)."""
    path = parent / name
    if not name or "/" in name or name in (".", "..") or path.resolve().parent != parent.resolve():
        raise UsageError(f"workspace {workspace!r}: {name!r} cannot name a directory under {parent}")
    return path


def _inputs(ask: Ask) -> Inputs:
    if ask.inputs is not None:
        return ask.inputs
    return load_inputs(ask.files, resources=ask.resources)


def prepare_pipeline_run(
    ask: Ask, *, root: Path, git_files: GitFilesFactory | None = None, on_invalid: OnInvalid | None = None
) -> PreparedRun:
    """Load, resolve and check a PipelineRun; raises before anything runs."""
    inputs = _inputs(ask)
    run, spec, pipeline_name, source = pipeline_run_for(
        inputs, ask.name, ask.params, ask.workspaces, ask.catalog_dirs, git_files, ask.pick
    )
    spec = propagate_pipeline_workspaces(run, spec)
    tasks = resolve_pipeline_tasks(run, spec, pipeline_name, source, inputs, ask.catalog_dirs, git_files)
    name = run_name(run.meta, f"{pipeline_name}-run-")
    run_dir = root / "runs" / name
    host_dirs, cleanup = _host_dirs(run.workspaces, run_dir, root)
    try:
        plan = build_plan(
            replace(run, meta=replace(run.meta, name=name)),
            spec,
            pipeline_name,
            tasks,
            objects=inputs.objects,
            host_dirs=host_dirs,
            uid=str(uuid.uuid4()),
            name=name,
            timeout=ask.timeout,
            pipeline_source=source,
        )
    except RunValidationError as exc:
        if on_invalid is not None:
            on_invalid(PIPELINE_RUN, name, exc)
        raise
    cancel = run.status if run.status in ("Cancelled", "CancelledRunFinally", "StoppedRunFinally") else ""
    return PreparedRun(
        PIPELINE_RUN,
        name,
        run_dir,
        pipeline=plan,
        cancel=cancel,
        cleanup=[run_dir, *cleanup],
        labels=dict(run.meta.labels),
        annotations=dict(run.meta.annotations),
        sources=inputs.sources,
        mask=inputs.secret_mask(),
    )


def prepare_task_run(
    ask: Ask, *, root: Path, git_files: GitFilesFactory | None = None, on_invalid: OnInvalid | None = None
) -> PreparedRun:
    """Load, resolve and check a TaskRun; raises before anything runs."""
    inputs = _inputs(ask)
    run, task = task_run_for(
        inputs, ask.name, ask.params, ask.workspaces, ask.catalog_dirs, git_files, ask.pick
    )
    task = propagate_task_workspaces(run, task)
    name = run_name(run.meta, f"{task.name}-run-")
    run_dir = root / "runs" / name
    host_dirs, _ = _host_dirs(run.workspaces, run_dir, root)
    try:
        plan = build_task_run_plan(
            run,
            task,
            objects=inputs.objects,
            host_dirs=host_dirs,
            uid=str(uuid.uuid4()),
            name=name,
            timeout=ask.timeout,
        )
    except RunValidationError as exc:
        if on_invalid is not None:
            on_invalid(TASK_RUN, name, exc)
        raise
    cancel = "TaskRunCancelled" if run.status == "TaskRunCancelled" else ""
    return PreparedRun(
        TASK_RUN,
        name,
        run_dir,
        task=plan,
        cancel=cancel,
        cleanup=[run_dir],
        sources=inputs.sources,
        mask=inputs.secret_mask(),
    )
