"""Whole files of runs: every PipelineRun and TaskRun of the ``-f`` files, as ``kubectl create -f``
hands them all to Tekton, and the objects that travel with them.

``read_files`` reads the files once (preparing the runs reuses what it read) for what a run of them
must know first: the runs they hold (in file order), the one-line notes a user gets (ServiceAccounts and RBAC objects, not applicable
locally; a v1 PipelineRun's v1beta1 ``serviceAccountName``), and their ``PersistentVolumeClaim``\\ s,
which ``provision_claims`` makes into named directories under ``<state dir>/volumes`` that
``persistentVolumeClaim.claimName`` binds and later runs find again.

``run_all`` prepares every run first (one invalid run and nothing runs: exit 2, as for one run), then
runs them at once, at most ``max_parallel`` together, each in its own thread with its own event loop,
store writer and ``Interruption``; this process's Ctrl-C, SIGHUP and SIGTERM reach every run as they
reach one run (``pipeline.driver``). Run names must differ (Tekton's API server refuses a second
object of one name); ``generateName`` gets Kubernetes' five-character suffix.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType

from gitloop.errors import UsageError
from gitloop.localinfra.paths import state_dir
from gitloop.pipeline.driver import INTERRUPTING, SIGINT, Interruption
from gitloop.pipeline.inputs import Inputs, load_inputs
from gitloop.pipeline.records import PIPELINE_RUN, TASK_RUN, RunView
from gitloop.pipeline.volumes import claim_path
from gitloop.service.pipelines import (
    PreparedRun,
    RunRequest,
    RunResult,
    default_parallelism,
    execute,
    prepare_pipeline_run,
    prepare_task_run,
)
from gitloop.spec.tekton import PipelineRun, TaskRun
from gitloop.spec.tekton.cluster_objects import PersistentVolumeClaim


@dataclass(frozen=True)
class FileRun:
    """One run of the files: its kind, its position among the files' runs of that kind, its name as
    written (``generateName`` shown with a ``*``) and where it was read."""

    kind: str
    pick: int
    name: str
    source: str = ""


@dataclass
class FileSet:
    """What the files hold that a run of them must know before preparing any run."""

    inputs: Inputs
    runs: list[FileRun] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    claims: list[PersistentVolumeClaim] = field(default_factory=list)


def read_files(request: RunRequest) -> FileSet:
    """The runs, notes and claims of the request's files (and in-memory resources)."""
    inputs = load_inputs(request.files, resources=request.resources)
    found = FileSet(inputs, claims=list(inputs.claims.values()))
    runs: list[tuple[str, Sequence[PipelineRun | TaskRun]]] = [
        (PIPELINE_RUN, inputs.pipeline_runs),
        (TASK_RUN, inputs.task_runs),
    ]
    for kind, of_kind in runs:
        for i, run in enumerate(of_kind):
            name = run.name or f"{run.meta.generate_name}*"
            found.runs.append(FileRun(kind, i, name, str(run.source) if run.source else ""))
    found.notes += [obj.note() for obj in inputs.cluster_only]
    found.notes += [warning for run in inputs.pipeline_runs for warning in run.warnings]
    return found


def provision_claims(claims: Sequence[PersistentVolumeClaim], root: Path | None = None) -> list[str]:
    """Make each claim's directory (kept between runs, like a bound claim); a note for each."""
    notes: list[str] = []
    for claim in claims:
        path = claim_path(root or state_dir(), claim.name)
        created = not path.is_dir()
        path.mkdir(parents=True, exist_ok=True)
        notes.append(
            f"PersistentVolumeClaim {claim.name!r}: the local directory {path} "
            f"({'created' if created else 'kept from earlier runs'}; {'/'.join(claim.access_modes)}, "
            "size not enforced)"
        )
    return notes


def prepare_all(request: RunRequest, runs: Sequence[FileRun]) -> list[PreparedRun]:
    """Every run of the files checked and named, before any runs; names must differ."""
    opener, owned = request.opener()
    store = opener()  # the tables made (or migrated) once here, not by the runs' writers at once
    if owned:
        store.close()
    prepared: list[PreparedRun] = []
    seen: dict[str, FileRun] = {}
    for run in runs:
        asked = replace(request, name=None, pick=run.pick)
        one = prepare_pipeline_run(asked) if run.kind == PIPELINE_RUN else prepare_task_run(asked)
        twin = seen.get(one.name)
        if twin is not None:
            raise UsageError(
                f"{run.kind} {one.name!r} ({run.source}) has the name of {twin.kind} {twin.name!r} "
                f"({twin.source}): runs need distinct names (or generateName)"
            )
        seen[one.name] = run
        prepared.append(one)
    return prepared


class _Stop:
    """This process's Ctrl-C, SIGHUP and SIGTERM, passed on to every run as the driver takes them from
    one run's terminal: the first Ctrl-C cancels with the finally tasks run, the second cancels all."""

    def __init__(self, interruptions: Sequence[Interruption], notice: Callable[[str], None]) -> None:
        self._interruptions = interruptions
        self._notice = notice
        self._interrupts = 0

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if name in INTERRUPTING:
            self._notice(f"{name}: stopping the steps of every run; they end Interrupted")
            for interruption in self._interruptions:
                interruption.request(f"gitloop got {name}")
            return
        self._interrupts += 1
        status = "CancelledRunFinally" if self._interrupts == 1 else "Cancelled"
        self._notice(f"cancelling every run ({status})")
        for interruption in self._interruptions:
            interruption.cancel(status)

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for name in (SIGINT, *INTERRUPTING):
                sig = signal.Signals[name]
                previous[sig] = signal.signal(sig, self)
        try:
            yield None
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def run_all(
    prepared: Sequence[PreparedRun],
    view_of: Callable[[PreparedRun], RunView],
    *,
    max_parallel: int | None = None,
    notice: Callable[[str], None] = lambda _m: None,
) -> list[RunResult]:
    """Run every prepared run, at most ``max_parallel`` at once (default: ``default_parallelism``);
    their results in the order given."""
    interruptions = [Interruption() for _ in prepared]
    stop = _Stop(interruptions, notice)
    limit = max_parallel or default_parallelism()
    with (
        stop.installed(),
        concurrent.futures.ThreadPoolExecutor(max_workers=limit, thread_name_prefix="run") as pool,
    ):
        futures = [
            pool.submit(execute, run, view_of(run), handle_signals=False, interruption=interruption)
            for run, interruption in zip(prepared, interruptions, strict=True)
        ]
        pending = set(futures)
        while pending:  # short waits, so this thread takes its signals while the runs run
            _, pending = concurrent.futures.wait(pending, timeout=0.2)
        return [future.result() for future in futures]
