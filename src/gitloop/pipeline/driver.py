"""The CI engine's driver: the one place that wires its parts. It performs what the machines decide
(``pipelinerun``, ``taskrun``) with the executor and a real clock, and feeds back what happened.

One asyncio task per TaskRun (``TaskRunWorker``) runs the TaskRun machine against the executor;
at most ``max_parallel`` TaskRuns hold a slot at once (their steps run one after another). The
PipelineRun loop runs the PipelineRun machine, starts and cancels workers, and wakes up for the next
timeout. Every change is handed to ``RunHooks`` (persistence, terminal) right after ``decide``.

The driver installs no signal handler itself: the composition layer passes ``Signals`` (the OS side)
when the run belongs to a terminal. Ctrl-C (SIGINT) asks for ``CancelledRunFinally`` the first time (running TaskRuns are cancelled, the
``finally`` tasks run), ``Cancelled`` the second time (the ``finally`` tasks are cancelled too).
SIGHUP (the terminal closed) and SIGTERM interrupt the run instead, as ``Interruption.request`` does
from any thread (``gitloop serve`` after its shutdown grace period): nothing more is decided, every
TaskRun's sandbox is released (its steps stopped) and the driver returns the state as it was, not
done; the caller ends the run ``Interrupted`` (``gitloop.pipeline.records``). ``Interruption.cancel``
asks, from any thread too, for one of Tekton's cancel statuses (the API's cancel): the run is
cancelled as by Ctrl-C and ends as the machines decide.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from gitloop.errors import GitloopError
from gitloop.pipeline import pipelinerun, taskrun
from gitloop.pipeline import reasons as R
from gitloop.pipeline.actions import (
    Cancel,
    CancelRun,
    CancelTaskRun,
    KillStep,
    PipelineRunObservation,
    Prepare,
    Prepared,
    PrepareFailed,
    ProbeSidecars,
    Release,
    Released,
    RunStep,
    SidecarsReady,
    SidecarsStarted,
    StartSidecars,
    StartTaskRun,
    StepFinished,
    TaskRunChanged,
    TaskRunObservation,
)
from gitloop.pipeline.plan import PipelineRunPlan
from gitloop.pipeline.prepare import PreparedRun
from gitloop.pipeline.readiness import wait_ready
from gitloop.pipeline.state import Condition, PipelineRunState, TaskRunState
from gitloop.pipeline.status import pipeline_run_manifest, task_run_manifest
from gitloop.pipeline.taskrun import TaskRunPlan
from gitloop.ports import StepExecutor, StepOutcome
from gitloop.spec.redact import redact_strings


class RunHooks(Protocol):
    """What the driver tells the outside world (store, terminal)."""

    def log(self, task_run: TaskRunState, source: str, line: str) -> None: ...

    def task_run_changed(self, state: TaskRunState) -> None: ...

    def pipeline_run_changed(self, state: PipelineRunState) -> None: ...

    def notice(self, message: str) -> None: ...


SIGINT = "SIGINT"
INTERRUPTING = ("SIGHUP", "SIGTERM")
"""Signals that interrupt a run (Ctrl-C cancels it instead, as Tekton's users cancel a run)."""


class Signals(Protocol):
    """The process's signals, as the composition layer installs them for a run driven from a terminal."""

    def watch(self, on_signal: Callable[[str], None]) -> AbstractContextManager[None]:
        """While in the context, call ``on_signal`` with the name of each ``SIGINT``/``SIGHUP``/
        ``SIGTERM`` received (in the running event loop)."""
        ...


class Interruption:
    """Stops (``request``) or cancels (``cancel``) a driven run, asked from any thread: see the module
    documentation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cause = ""
        self._wake: Callable[[], object] | None = None
        self._cancels: list[str] = []
        self._deliver: Callable[[str], object] | None = None

    @property
    def cancelled(self) -> str:
        """The last cancel status asked for (``""`` while none was)."""
        with self._lock:
            return self._cancels[-1] if self._cancels else ""

    def cancel(self, status: str) -> None:
        """Cancel the run with ``status`` (a PipelineRun's ``spec.status``: ``Cancelled``,
        ``CancelledRunFinally``, ``StoppedRunFinally``; any cancels a TaskRun); before it is driven too."""
        with self._lock:
            self._cancels.append(status)
            deliver = self._deliver
        if deliver is not None:
            with contextlib.suppress(RuntimeError):  # its event loop is closed: the run has ended
                deliver(status)

    @contextlib.contextmanager
    def cancelling(self, deliver: Callable[[str], object]) -> Iterator[None]:
        """Call ``deliver`` (thread-safely) with each cancel status asked for, before or while in this
        context."""
        loop = asyncio.get_running_loop()

        def in_loop(status: str) -> None:
            loop.call_soon_threadsafe(deliver, status)

        with self._lock:
            self._deliver = in_loop
            asked = list(self._cancels)
        for status in asked:
            deliver(status)
        try:
            yield None
        finally:
            with self._lock:
                self._deliver = None

    @property
    def cause(self) -> str:
        """What interrupted the run (``""`` while nothing did)."""
        return self._cause

    def request(self, cause: str) -> None:
        """Interrupt the run because of ``cause`` (the first cause is kept); before it is driven too."""
        with self._lock:
            if self._cause:
                return
            self._cause = cause
            wake = self._wake
        if wake is not None:
            with contextlib.suppress(RuntimeError):  # its event loop is closed: the run has ended
                wake()

    @contextlib.contextmanager
    def watched(self, wake: Callable[[], object]) -> Iterator[None]:
        """Call ``wake`` (thread-safely) when interrupted while in this context."""
        loop = asyncio.get_running_loop()
        with self._lock:
            self._wake = functools.partial(loop.call_soon_threadsafe, wake)
            cause = self._cause
        if cause:
            wake()
        try:
            yield None
        finally:
            with self._lock:
                self._wake = None


@dataclass
class DriverSettings:
    executor: StepExecutor
    hooks: RunHooks
    max_parallel: int = 8
    clock: Callable[[], float] = time.time
    signals: Signals | None = None
    """Installed while the run is driven (``None``: signals are not the run's business)."""
    semaphore: asyncio.Semaphore | None = field(default=None, repr=False)
    interruption: Interruption = field(default_factory=Interruption)


async def _wait(
    queue: asyncio.Queue[object], deadline: float | None, clock: Callable[[], float]
) -> list[object]:
    """The next observations: at least one, or none once ``deadline`` passes."""
    items: list[object] = []
    timeout = None if deadline is None else max(0.0, deadline - clock())
    try:
        items.append(await asyncio.wait_for(queue.get(), timeout))
    except TimeoutError:
        return items
    while not queue.empty():
        items.append(queue.get_nowait())
    return items


class TaskRunWorker:
    """Runs one TaskRun through the executor; ``cancel`` may be called at any time."""

    def __init__(self, plan: TaskRunPlan, settings: DriverSettings, *, prefix: str = "") -> None:
        self.plan = plan
        self.settings = settings
        self.state = taskrun.initial_state(plan)
        self.prefix = prefix or plan.pipeline_task or plan.task_name
        self.queue: asyncio.Queue[object] = asyncio.Queue()
        self._cancelled = asyncio.Event()
        self.on_change: Callable[[TaskRunState], None] = settings.hooks.task_run_changed

    def cancel(self, message: str) -> None:
        self.queue.put_nowait(Cancel(message))
        self._cancelled.set()

    async def _slot(self) -> bool:
        semaphore = self.settings.semaphore
        if semaphore is None:
            return True
        acquire = asyncio.ensure_future(semaphore.acquire())
        cancelled = asyncio.ensure_future(self._cancelled.wait())
        await asyncio.wait({acquire, cancelled}, return_when=asyncio.FIRST_COMPLETED)
        cancelled.cancel()
        if acquire.done() and not acquire.cancelled():
            return True
        if not acquire.cancel():
            semaphore.release()
        return False

    def _output(self, container: str, line: str) -> None:
        name = container.removeprefix("step-")
        self.settings.hooks.log(self.state, f"{self.prefix}/{name}", line)

    async def _run_step(self, action: RunStep) -> None:
        try:
            outcome = await self.settings.executor.run_step(action.sandbox, action.step, self._output)
        except (GitloopError, OSError) as exc:
            now = self.settings.clock()
            outcome = StepOutcome(-1, now, now, "StartFailed", f'"{action.step.name}" could not run: {exc}')
        self.queue.put_nowait(StepFinished(action.sandbox, action.index, outcome))

    async def _probe(self, action: ProbeSidecars) -> None:
        failure = await wait_ready(self.settings.executor, action.sandbox, action.probes, action.limit)
        self.queue.put_nowait(SidecarsReady(action.sandbox, failure))

    async def _perform(self, action: object, background: set[asyncio.Task[None]]) -> list[TaskRunObservation]:
        executor = self.settings.executor
        if isinstance(action, Prepare):
            try:
                paths = await executor.prepare(action.request, result_limit=action.result_limit)
            except (GitloopError, OSError) as exc:
                return [PrepareFailed(action.request.name, str(exc))]
            return [Prepared(action.request.name, paths)]
        if isinstance(action, StartSidecars):
            failure = await executor.start_sidecars(action.sandbox, action.sidecars, self._output)
            return [SidecarsStarted(action.sandbox, failure)]
        if isinstance(action, RunStep | ProbeSidecars):
            work = self._run_step(action) if isinstance(action, RunStep) else self._probe(action)
            task = asyncio.create_task(work)
            background.add(task)
            task.add_done_callback(background.discard)
        elif isinstance(action, KillStep):
            await executor.kill_step(action.sandbox)
        elif isinstance(action, Release):
            with contextlib.suppress(GitloopError, OSError):
                await executor.release(action.sandbox)
            return [Released(action.sandbox)]
        return []

    async def run(self) -> TaskRunState:
        """Run to the end; the final state is also ``self.state``."""
        clock = self.settings.clock
        if not await self._slot():
            taskrun.decide(
                self.plan, self.state, [o for o in _drain(self.queue) if isinstance(o, Cancel)], clock()
            )
            self.on_change(self.state)
            return self.state
        background: set[asyncio.Task[None]] = set()
        observations: list[TaskRunObservation] = []
        try:
            while True:
                actions = taskrun.decide(self.plan, self.state, observations, clock())
                self.on_change(self.state)
                observations = []
                for action in actions:
                    observations.extend(await self._perform(action, background))
                if self.state.done:
                    return self.state
                if not observations:
                    deadline = taskrun.next_deadline(self.plan, self.state)
                    found = await _wait(self.queue, deadline, clock)
                    observations = [o for o in found if isinstance(o, TaskRunObservation)]
        finally:
            if self.settings.semaphore is not None:
                self.settings.semaphore.release()
            for task in background:  # a step cut off here is stopped by the release below
                task.cancel()
            if not self.state.done and self.state.sandbox:
                with contextlib.suppress(Exception):
                    await self.settings.executor.release(self.state.sandbox)


def _drain(queue: asyncio.Queue[object]) -> list[object]:
    items: list[object] = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items


def _interrupts(settings: DriverSettings, sig: str) -> bool:
    """Whether ``sig`` interrupts the run (and then ask for it)."""
    if sig not in INTERRUPTING:
        return False
    settings.hooks.notice(f"{sig}: stopping the steps; the run ends Interrupted")
    settings.interruption.request(f"gitloop got {sig}")
    return True


def _signals(settings: DriverSettings, on_signal: Callable[[str], None]) -> AbstractContextManager[None]:
    if settings.signals is None:
        return contextlib.nullcontext()
    return settings.signals.watch(on_signal)


def _prefix(plan: PipelineRunPlan, state: PipelineRunState, child: TaskRunPlan) -> str:
    """How a TaskRun's log lines are prefixed: its pipeline task, ``-<i>`` for a matrix combination."""
    task = child.pipeline_task
    if plan.task(task).matrix is None:
        return task
    return f"{task}-{state.tasks[task].children.index(child.name)}"


async def drive_pipeline_run(
    plan: PipelineRunPlan, settings: DriverSettings, *, cancel: str = ""
) -> PipelineRunState:
    """Run a PipelineRun to its end."""
    settings.semaphore = asyncio.Semaphore(settings.max_parallel)
    state = pipelinerun.initial_state(plan)
    queue: asyncio.Queue[object] = asyncio.Queue()
    workers: dict[str, TaskRunWorker] = {}
    running: set[asyncio.Task[TaskRunState]] = set()
    interrupts = 0

    def on_signal(sig: str) -> None:
        nonlocal interrupts
        if _interrupts(settings, sig):
            return
        interrupts += 1
        graceful = sig == SIGINT and interrupts == 1
        status = R.CANCELLED_RUN_FINALLY if graceful else R.CANCELLED
        settings.hooks.notice(
            "cancelling: running TaskRuns are cancelled, finally tasks run (Ctrl-C again to cancel them too)"
            if graceful
            else "cancelling everything"
        )
        queue.put_nowait(CancelRun(status))

    def child_changed(child: TaskRunState) -> None:
        queue.put_nowait(TaskRunChanged(copy.deepcopy(child)))

    observations: list[PipelineRunObservation] = [CancelRun(cancel)] if cancel else []
    interruption = settings.interruption
    with (
        _signals(settings, on_signal),
        interruption.watched(lambda: queue.put_nowait(None)),
        interruption.cancelling(lambda status: queue.put_nowait(CancelRun(status))),
    ):
        observations += [o for o in _drain(queue) if isinstance(o, CancelRun)]  # asked before
        try:
            while not interruption.cause:
                actions = pipelinerun.decide(plan, state, observations, settings.clock())
                for obs in observations:
                    if isinstance(obs, TaskRunChanged) and obs.state.name in state.children:
                        settings.hooks.task_run_changed(state.children[obs.state.name])
                observations = []
                for action in actions:
                    if isinstance(action, StartTaskRun):
                        worker = TaskRunWorker(
                            action.plan, settings, prefix=_prefix(plan, state, action.plan)
                        )
                        worker.on_change = child_changed
                        workers[action.plan.name] = worker
                        settings.hooks.task_run_changed(state.children[action.plan.name])
                        task = asyncio.create_task(worker.run())
                        running.add(task)
                        task.add_done_callback(running.discard)
                    elif isinstance(action, CancelTaskRun) and action.name in workers:
                        workers[action.name].cancel(action.message)
                settings.hooks.pipeline_run_changed(state)
                if state.done:
                    return state
                found = await _wait(queue, pipelinerun.next_deadline(plan, state), settings.clock)
                observations = [o for o in found if isinstance(o, TaskRunChanged | CancelRun)]
            return state
        finally:
            for task in list(running) if interruption.cause else ():
                task.cancel()  # each worker releases its sandbox: its steps are stopped
            for worker in workers.values():
                if not worker.state.done:
                    worker.cancel(R.TR_CANCELLED_BY_PIPELINE)
            if running:
                await asyncio.gather(*running, return_exceptions=True)


async def drive_task_run(plan: TaskRunPlan, settings: DriverSettings, *, cancel: str = "") -> TaskRunState:
    """Run a standalone TaskRun to its end."""
    settings.semaphore = None
    worker = TaskRunWorker(plan, settings, prefix=plan.task_name)
    if cancel:
        worker.cancel(R.TR_CANCELLED_BY_USER)

    def on_signal(sig: str) -> None:
        if not _interrupts(settings, sig):
            settings.hooks.notice("cancelling the TaskRun")
            worker.cancel(R.TR_CANCELLED_BY_USER)

    running = asyncio.ensure_future(worker.run())
    with (
        _signals(settings, on_signal),
        settings.interruption.watched(running.cancel),
        settings.interruption.cancelling(lambda _status: worker.cancel(R.TR_CANCELLED_BY_USER)),
    ):
        try:
            return await running
        except asyncio.CancelledError:
            if not settings.interruption.cause or not running.cancelled():
                raise
            return worker.state


async def drive(prepared: PreparedRun, settings: DriverSettings) -> tuple[dict[str, Any], Condition]:
    """Run a prepared run to its end (or its interruption), then close the executor (what is still
    open released, its watcher stopped); the run's last Tekton-shaped manifest (redacted) and condition."""
    try:
        if prepared.pipeline is not None:
            plan = prepared.pipeline
            state = await drive_pipeline_run(plan, settings, cancel=prepared.cancel)
            return redact_strings(pipeline_run_manifest(state, params=plan.params)), state.condition
        assert prepared.task is not None, "a prepared run has a plan"
        task = await drive_task_run(prepared.task, settings, cancel=prepared.cancel)
        return redact_strings(task_run_manifest(task, namespace=prepared.task.namespace)), task.condition
    finally:
        await settings.executor.close()
