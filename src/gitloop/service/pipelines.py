"""Running Tekton PipelineRuns and TaskRuns on this machine, and reading back the runs kept in the
store: the wiring of the CI engine (``gitloop.pipeline``) to the store, the executors, the git
resolver's mirrors, the state directory and this process's signals.

``prepare_pipeline_run``/``prepare_task_run`` check a run before anything runs (``pipeline.prepare``;
one that fails validation is recorded Failed). ``execute`` drives it (``pipeline.driver``) with the
chosen executor, every change recorded through a ``StoreWriter`` (``pipeline.records``, which says
what the records hold) and shown in a ``RunView`` (the terminal). Runs work under ``<state dir>``
(``pipeline.prepare`` says where). A run whose runner stopped before its end is ended ``Interrupted``
(``interrupted``): by the runner itself on SIGHUP, SIGTERM or a server's shutdown, else by
``list_runs``/``get_run`` once they find the runner gone.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitloop.errors import UsageError
from gitloop.localinfra.paths import cache_dir, state_dir
from gitloop.pipeline import prepare
from gitloop.pipeline.driver import DriverSettings, Interruption, drive
from gitloop.pipeline.inputs import Inputs
from gitloop.pipeline.log_cap import DEFAULT_LOG_LIMIT
from gitloop.pipeline.plan import RunValidationError
from gitloop.pipeline.records import (
    PIPELINE_RUN,
    RunRecorder,
    RunView,
    StoredRun,
    failed_to_prepare,
    read_run,
    read_runs,
    request_doc,
)
from gitloop.pipeline.resolution import GitFiles
from gitloop.pipeline.state import Condition
from gitloop.pipeline.store_writer import StoreWriter
from gitloop.ports import StepExecutor, Store
from gitloop.service.interrupted import interrupt_orphans, interrupt_run, runner_labels
from gitloop.service.run_signals import ProcessSignals


def default_parallelism() -> int:
    """TaskRuns running at once by default: ``max(8, 2 * CPUs)``. Local steps mostly wait on I/O or
    on child processes, and Tekton on a cluster starts every ready TaskRun at once."""
    return max(8, 2 * (os.cpu_count() or 1))


@dataclass
class RunRequest:
    """What ``gitloop pipeline run`` / ``gitloop task run`` (or a server's launcher) were asked."""

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
    """Bytes of log text the store keeps per step (0: no limit), see ``pipeline.log_cap``."""
    pick: int | None = None
    """Which of the files' PipelineRuns (or TaskRuns) to run, by position (``service.runfiles``)."""
    inputs: Inputs | None = field(default=None, repr=False)
    """The files already loaded (``service.runfiles.read_files``), so preparing does not read them again."""
    resources: Sequence[Mapping[str, Any]] = ()
    """Runs (or other objects) in memory, read before ``files``: a server's rendered PipelineRun."""
    store: Store | None = field(default=None, repr=False)
    """The store to record in, lent by its owner (a server's) and left open; else one is opened
    from ``database_url`` for the run."""
    sandbox: str = ""
    """How local steps are sandboxed (``executors.namespace.MODES``); ``""``: ``$GITLOOP_SANDBOX``, else auto."""

    def opener(self) -> tuple[Callable[[], Store], bool]:
        """How the run's store is had, and whether the run closes it."""
        lent = self.store
        if lent is not None:
            return (lambda: lent), False
        return store_opener(self.database_url), True

    def ask(self) -> prepare.Ask:
        return prepare.Ask(
            self.files,
            self.name,
            self.params,
            self.workspaces,
            self.catalog_dirs,
            self.timeout,
            self.resources,
            pick=self.pick,
            inputs=self.inputs,
        )


@dataclass
class PreparedRun:
    """A checked run and what was asked of it, ready to execute."""

    request: RunRequest
    run: prepare.PreparedRun

    @property
    def kind(self) -> str:
        return self.run.kind

    @property
    def name(self) -> str:
        return self.run.name


@dataclass
class RunResult:
    """How a run ended: its Tekton-shaped manifest and whether it succeeded."""

    manifest: dict[str, Any]
    condition: Condition

    @property
    def succeeded(self) -> bool:
        return self.condition.succeeded


def start_writer(request: RunRequest, view: RunView | None = None) -> StoreWriter:
    """The store writer of a run, started early so opening the store overlaps loading the files."""
    report = (lambda exc: view.notice(f"store: {exc}")) if view is not None else None
    opener, owned = request.opener()
    return StoreWriter(opener, on_error=report, log_limit=request.log_limit, close_store=owned)


def _on_invalid(request: RunRequest, writer: StoreWriter | None) -> prepare.OnInvalid:
    def record(kind: str, name: str, error: RunValidationError) -> None:
        own = writer or start_writer(request)
        failed_to_prepare(own, kind, name, error.reason, error.detail, time.time())
        if writer is None:
            own.close()

    return record


def git_files() -> GitFiles:
    """The git resolver's files: mirrors under ``<cache dir>/git``, shared with other readers."""
    from gitloop.service.resolvers import MirrorFiles

    return MirrorFiles.cached(cache_dir() / "git")


def prepare_pipeline_run(request: RunRequest, writer: StoreWriter | None = None) -> PreparedRun:
    """Load, resolve and check a PipelineRun; raises before anything runs."""
    run = prepare.prepare_pipeline_run(
        request.ask(), root=state_dir(), git_files=git_files, on_invalid=_on_invalid(request, writer)
    )
    return PreparedRun(request, run)


def prepare_task_run(request: RunRequest, writer: StoreWriter | None = None) -> PreparedRun:
    """Load, resolve and check a TaskRun; raises before anything runs."""
    run = prepare.prepare_task_run(
        request.ask(), root=state_dir(), git_files=git_files, on_invalid=_on_invalid(request, writer)
    )
    return PreparedRun(request, run)


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


SANDBOX_ENV = "GITLOOP_SANDBOX"
SANDBOX_ANNOTATION = "gitloop.dev/sandbox"
"""On the records of a run of local steps: the sandbox mode they ran in (``namespace`` or ``paths``)."""


def make_executor(name: str, run_dir: Path, sandbox: str = "") -> StepExecutor:
    """The executor called ``name`` (``local`` or ``podman``), keeping its sandboxes in ``run_dir``;
    ``sandbox`` (else ``$GITLOOP_SANDBOX``, else ``auto``) is the local executor's sandbox mode."""
    if name == "local":
        from gitloop.executors.local import LocalExecutor

        mode = sandbox or os.environ.get(SANDBOX_ENV) or "auto"
        return LocalExecutor(run_dir / "sandboxes", tools=step_tools(), sandbox=mode)
    if name == "podman":
        from gitloop.executors.podman import PodmanExecutor, podman_available

        problem = podman_available()
        if problem:
            raise UsageError(f"the podman executor is not available: {problem}")
        return PodmanExecutor(run_dir / "sandboxes")
    raise UsageError(f"unknown executor {name!r}: use local or podman")


def _recorder(
    prepared: PreparedRun, writer: StoreWriter, view: RunView, annotations: Mapping[str, str]
) -> RunRecorder:
    run, request = prepared.run, prepared.request
    asked = request_doc(
        name=request.name,
        params=request.params,
        workspaces=request.workspaces,
        executor=request.executor,
        timeout=request.timeout,
        catalog_dirs=request.catalog_dirs,
        sources=run.sources,
    )
    return RunRecorder(
        writer,
        view,
        kind=run.kind,
        name=run.name,
        namespace=run.namespace,
        request=asked,
        executor=request.executor,
        params=run.pipeline.params if run.pipeline is not None else None,
        labels=run.labels,
        annotations={**run.annotations, **annotations},
        extra={**runner_labels(), **request.labels},
        mask=run.mask,
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
    request, run = prepared.request, prepared.run
    writer = writer or start_writer(request, view)
    try:
        executor = make_executor(request.executor, run.run_dir, request.sandbox)
    except BaseException:
        writer.close()
        raise
    from gitloop.executors.local import LocalExecutor

    local = executor if isinstance(executor, LocalExecutor) else None
    if local is not None:
        view.notice(local.mode_line())
    settings = DriverSettings(
        executor,
        _recorder(prepared, writer, view, {SANDBOX_ANNOTATION: local.mode} if local else {}),
        max_parallel=request.max_parallel or default_parallelism(),
        signals=ProcessSignals() if handle_signals else None,
        interruption=interruption or Interruption(),
    )
    try:
        manifest, condition = asyncio.run(drive(run, settings))
        if local is not None and local.images_notice():
            view.notice(local.images_notice())
        writer.close()
        cause = settings.interruption.cause
        if cause:  # the records say so first; the manifest shown is the stored one
            opener, owned = request.opener()
            shown, ended = interrupt_run(
                opener, run.kind, run.name, cause, manifest, view.notice, close=owned
            )
            return RunResult(shown, ended)
        return RunResult(manifest, condition)
    finally:
        writer.close()
        for path in run.cleanup:
            shutil.rmtree(path, ignore_errors=True)


def list_runs(store: Store, *, kind: str = PIPELINE_RUN, limit: int | None = None) -> list[StoredRun]:
    """The runs of ``kind``, newest first; runs whose runner died are ended first (``interrupted``)."""
    interrupt_orphans(store)
    return read_runs(store, kind=kind, limit=limit)


def get_run(store: Store, name: str) -> tuple[StoredRun, list[StoredRun]]:
    """A PipelineRun (or standalone TaskRun) and its TaskRuns; ``UsageError`` if unknown."""
    interrupt_orphans(store)
    return read_run(store, name)
