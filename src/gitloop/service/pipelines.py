"""Running Tekton PipelineRuns and TaskRuns on this machine, and reading back the runs kept in the store.

``prepare_pipeline_run``/``prepare_task_run`` load the files, pick or build the run, resolve its
Tasks and check everything (a ``SpecError``/``UsageError`` here means nothing ran). ``execute`` runs
the prepared run with the chosen executor, persisting every change to the store (through
``StoreWriter``) and handing log lines and changes to a ``RunView`` (the terminal).

Directories: a run works in ``<state dir>/runs/<run>/`` (sandboxes, ``volumeClaimTemplate``
workspaces), removed at the end; a ``persistentVolumeClaim`` workspace is the directory
``<state dir>/volumes/<claimName>``, kept across runs like a claim; ``-w name=DIR`` binds DIR itself.
Store records: kind ``PipelineRun`` (``manifest``: the Tekton-shaped object with ``status``;
``state``: the resumable engine state without its TaskRuns) and kind ``TaskRun`` (one per TaskRun,
labelled ``tekton.dev/pipelineRun``); logs are kept per run, by source ``task/step``. Records of a run
not finished yet carry the label ``gitloop.dev/active: "true"``, and every record the labels naming
the process running it (``gitloop.dev/runner``) and the request's own ``labels``. A run whose runner
stopped before its end is ended ``Interrupted`` (``interrupted``): by the runner itself on SIGHUP,
SIGTERM or a server's shutdown, else by ``list_runs``/``get_run`` once they find the runner gone.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from gitloop.errors import UsageError
from gitloop.localinfra.paths import state_dir
from gitloop.pipeline.driver import DriverSettings, Interruption, drive_pipeline_run, drive_task_run
from gitloop.pipeline.log_cap import DEFAULT_LOG_LIMIT
from gitloop.pipeline.plan import (
    PipelineRunPlan,
    RunValidationError,
    build_plan,
    build_task_run_plan,
)
from gitloop.pipeline.records import PIPELINE_RUN, TASK_RUN, RunRecorder, RunView, failed_to_prepare
from gitloop.pipeline.state import Condition
from gitloop.pipeline.status import pipeline_run_manifest, task_run_manifest
from gitloop.pipeline.store_writer import StoreWriter
from gitloop.pipeline.taskrun import TaskRunPlan
from gitloop.pipeline.volumes import HOST_PATH
from gitloop.ports import StepExecutor, Store
from gitloop.service.interrupted import interrupt_orphans, interrupt_run, runner_labels
from gitloop.service.pipeline_inputs import (
    KeptSource,
    load_inputs,
    pipeline_run_for,
    resolve_pipeline_tasks,
    run_name,
    task_run_for,
)
from gitloop.service.run_signals import ProcessSignals
from gitloop.spec.redact import redact_strings
from gitloop.spec.tekton import WorkspaceBinding

_T = TypeVar("_T")


def default_parallelism() -> int:
    """TaskRuns running at once by default: ``max(8, 2 * CPUs)``. Local steps mostly wait on I/O or
    on child processes, and Tekton on a cluster starts every ready TaskRun at once."""
    return max(8, 2 * (os.cpu_count() or 1))


@dataclass
class RunRequest:
    """What ``gitloop pipeline run`` / ``gitloop task run`` were asked."""

    files: Sequence[Path]
    name: str | None = None
    """``--pipeline`` or ``--task``."""
    params: Sequence[str] = ()
    workspaces: Sequence[str] = ()
    executor: str = "local"
    timeout: float | None = None
    catalog_dirs: Sequence[Path] = ()
    database_url: str | None = None
    max_parallel: int | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    """Added to the labels of the run's store records."""
    log_limit: int = DEFAULT_LOG_LIMIT
    """Bytes of log text the store keeps per step (0: no limit), see ``log_cap``."""


@dataclass
class PreparedRun:
    """A checked run, ready to execute."""

    kind: str
    name: str
    run_dir: Path
    request: RunRequest
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

    def request_doc(self) -> dict[str, object]:
        """What was asked, and the YAML it was asked of, kept with the run to show what ran: flags
        and the ``-f`` files' objects (up to ``MAX_KEPT_SOURCE`` bytes) with every Secret's values
        redacted (``gitloop.spec.redact``). Nothing reads them back to run: a queued run is started
        again from its own resource and the server's files, and a run that was running when its
        process died ends ``Interrupted``; running it again needs the real Secrets again."""
        sources: list[dict[str, str]] = []
        total = 0
        for source in self.sources:
            total += len(source.text)
            sources.append({"path": source.path, "text": source.text if total <= MAX_KEPT_SOURCE else ""})
        r = self.request
        return {
            "name": r.name or "",
            "params": list(r.params),
            "workspaces": list(r.workspaces),
            "executor": r.executor,
            "timeout": r.timeout,
            "catalogDirs": [str(d) for d in r.catalog_dirs],
            "sources": sources,
        }


MAX_KEPT_SOURCE = 1 << 20
"""Input YAML kept with a run, in characters; beyond it only the paths are kept."""


@dataclass
class RunResult:
    """How a run ended: its Tekton-shaped manifest and whether it succeeded."""

    manifest: dict[str, Any]
    condition: Condition

    @property
    def succeeded(self) -> bool:
        return self.condition.succeeded


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


def start_writer(request: RunRequest, view: RunView | None = None) -> StoreWriter:
    """The store writer of a run, started early so opening the store overlaps loading the files."""
    report = (lambda exc: view.notice(f"store: {exc}")) if view is not None else None
    return StoreWriter(store_opener(request.database_url), on_error=report, log_limit=request.log_limit)


def _record_failure(
    request: RunRequest, kind: str, name: str, error: RunValidationError, writer: StoreWriter | None
) -> None:
    """Keep a run that failed validation in the store, as Tekton keeps the failed object."""
    own = writer is None
    writer = writer or start_writer(request)
    failed_to_prepare(writer, kind, name, error.reason, error.detail, time.time())
    if own:
        writer.close()


def prepare_pipeline_run(request: RunRequest, writer: StoreWriter | None = None) -> PreparedRun:
    """Load, resolve and check a PipelineRun; raises before anything runs."""
    inputs = load_inputs(request.files)
    run, spec, pipeline_name, source = pipeline_run_for(
        inputs, request.name, request.params, request.workspaces, request.catalog_dirs
    )
    tasks = resolve_pipeline_tasks(run, spec, pipeline_name, source, inputs, request.catalog_dirs)
    name = run_name(run.meta, f"{pipeline_name}-run-")
    root = state_dir()
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
            timeout=request.timeout,
            pipeline_source=source,
        )
    except RunValidationError as exc:
        _record_failure(request, PIPELINE_RUN, name, exc, writer)
        raise
    cancel = run.status if run.status in ("Cancelled", "CancelledRunFinally", "StoppedRunFinally") else ""
    return PreparedRun(
        PIPELINE_RUN,
        name,
        run_dir,
        request,
        pipeline=plan,
        cancel=cancel,
        cleanup=[run_dir, *cleanup],
        labels=dict(run.meta.labels),
        annotations=dict(run.meta.annotations),
        sources=inputs.sources,
        mask=inputs.secret_mask(),
    )


def prepare_task_run(request: RunRequest, writer: StoreWriter | None = None) -> PreparedRun:
    """Load, resolve and check a TaskRun; raises before anything runs."""
    inputs = load_inputs(request.files)
    run, task = task_run_for(inputs, request.name, request.params, request.workspaces, request.catalog_dirs)
    name = run_name(run.meta, f"{task.name}-run-")
    root = state_dir()
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
            timeout=request.timeout,
        )
    except RunValidationError as exc:
        _record_failure(request, TASK_RUN, name, exc, writer)
        raise
    cancel = "TaskRunCancelled" if run.status == "TaskRunCancelled" else ""
    return PreparedRun(
        TASK_RUN,
        name,
        run_dir,
        request,
        task=plan,
        cancel=cancel,
        cleanup=[run_dir],
        sources=inputs.sources,
        mask=inputs.secret_mask(),
    )


def store_opener(database_url: str | None) -> Callable[[], Store]:
    """Opens the store: ``database_url``, else the SQLite file ``<state dir>/gitloop.db``."""

    def open_it() -> Store:
        from gitloop.store import open_store

        if database_url:
            return open_store(database_url)
        root = state_dir()
        root.mkdir(parents=True, exist_ok=True)
        return open_store(str(root / "gitloop.db"))

    return open_it


def step_tools() -> dict[str, list[str]]:
    """Commands put first on the ``PATH`` of local steps: ``gitloop`` is this very gitloop (this
    interpreter), so the built-in ``gitloop-image-update`` Task works whether or not gitloop's
    directory is on the caller's ``PATH``."""
    return {"gitloop": [sys.executable, "-m", "gitloop"]}


def make_executor(name: str, run_dir: Path) -> StepExecutor:
    """The executor called ``name`` (``local`` or ``podman``), keeping its sandboxes in ``run_dir``."""
    if name == "local":
        from gitloop.executors.local import LocalExecutor

        return LocalExecutor(run_dir / "sandboxes", tools=step_tools())
    if name == "podman":
        from gitloop.executors.podman import PodmanExecutor, podman_available

        problem = podman_available()
        if problem:
            raise UsageError(f"the podman executor is not available: {problem}")
        return PodmanExecutor(run_dir / "sandboxes")
    raise UsageError(f"unknown executor {name!r}: use local or podman")


def _recorder(prepared: PreparedRun, writer: StoreWriter, view: RunView) -> RunRecorder:
    plan = prepared.pipeline or prepared.task
    assert plan is not None, "a prepared run has a plan"
    return RunRecorder(
        writer,
        view,
        kind=prepared.kind,
        name=prepared.name,
        namespace=plan.namespace,
        request=prepared.request_doc(),
        executor=prepared.request.executor,
        params=prepared.pipeline.params if prepared.pipeline is not None else None,
        labels=prepared.labels,
        annotations=prepared.annotations,
        extra={**runner_labels(), **prepared.request.labels},
        mask=prepared.mask,
    )


def execute(
    prepared: PreparedRun,
    view: RunView,
    *,
    writer: StoreWriter | None = None,
    handle_signals: bool = True,
    interruption: Interruption | None = None,
) -> RunResult:
    """Run a prepared run to its end; closes ``writer``. Ctrl-C cancels it; SIGHUP, SIGTERM (with
    ``handle_signals``) or ``interruption`` stop its steps and end it ``Interrupted`` (``pipeline.driver``)."""
    request = prepared.request
    writer = writer or start_writer(request, view)
    try:
        executor = make_executor(request.executor, prepared.run_dir)
    except BaseException:
        writer.close()
        raise
    settings = DriverSettings(
        executor,
        _recorder(prepared, writer, view),
        max_parallel=request.max_parallel or default_parallelism(),
        signals=ProcessSignals() if handle_signals else None,
        interruption=interruption or Interruption(),
    )
    try:
        if prepared.pipeline is not None:
            pr_state = asyncio.run(
                _driven(drive_pipeline_run(prepared.pipeline, settings, cancel=prepared.cancel), executor)
            )
            manifest = pipeline_run_manifest(pr_state, params=prepared.pipeline.params)
            result = RunResult(redact_strings(manifest), pr_state.condition)
        else:
            assert prepared.task is not None
            tr_state = asyncio.run(
                _driven(drive_task_run(prepared.task, settings, cancel=prepared.cancel), executor)
            )
            manifest = task_run_manifest(tr_state, namespace=prepared.task.namespace)
            result = RunResult(redact_strings(manifest), tr_state.condition)
        writer.close()
        cause = settings.interruption.cause
        if cause:  # the records say so first; the manifest shown is the stored one
            opener = store_opener(request.database_url)
            shown, condition = interrupt_run(
                opener, prepared.kind, prepared.name, cause, result.manifest, view.notice
            )
            return RunResult(shown, condition)
        return result
    finally:
        writer.close()
        for path in prepared.cleanup:
            shutil.rmtree(path, ignore_errors=True)


async def _driven(run: Awaitable[_T], executor: StepExecutor) -> _T:
    """``run``, then the executor closed (what is still open released, its watcher stopped)."""
    try:
        return await run
    finally:
        await executor.close()


@dataclass(frozen=True)
class StoredRun:
    """A run kept in the store."""

    name: str
    manifest: dict[str, Any]
    created: float


def list_runs(store: Store, *, kind: str = PIPELINE_RUN, limit: int | None = None) -> list[StoredRun]:
    """The runs of ``kind``, newest first; runs whose runner died are ended first (``interrupted``)."""
    interrupt_orphans(store)
    return [_stored(o.name, o.doc, o.created) for o in store.query(kind, limit=limit)]


def _stored(name: str, doc: dict[str, object], created: float) -> StoredRun:
    manifest = doc.get("manifest")
    return StoredRun(name, manifest if isinstance(manifest, dict) else {}, created)


def get_run(store: Store, name: str) -> tuple[StoredRun, list[StoredRun]]:
    """A PipelineRun (or standalone TaskRun) and its TaskRuns; ``UsageError`` if unknown."""
    interrupt_orphans(store)
    found = store.get(PIPELINE_RUN, name)
    if found is not None:
        children = store.query(TASK_RUN, labels={"tekton.dev/pipelineRun": name})
        ordered = sorted(children, key=lambda c: c.created)
        return _stored(found.name, found.doc, found.created), [
            _stored(c.name, c.doc, c.created) for c in ordered
        ]
    task = store.get(TASK_RUN, name)
    if task is not None:
        return _stored(task.name, task.doc, task.created), []
    raise UsageError(f"no run named {name!r} in the store")
