"""A deterministic stand-in for the driver and executor: the machines run against scripted steps on a
virtual clock. Pure; used by the engine's tests and by the engine-overhead benchmark.

A ``Behaviour`` says what each step does when it starts (``StepScript``: exit code, duration, the
results it writes, or that it could not start); it sees the fully substituted ``ContainerRequest``,
so tests can check substitution too. Steps that run past a timeout or a cancellation are killed
(exit code 137) like real processes. Paths are a container's: ``/workspace/<w>``,
``/tekton/results``, ``/tekton/steps``, ``/tekton/home``.
"""

from __future__ import annotations

import copy
import heapq
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitloop.pipeline import pipelinerun, taskrun
from gitloop.pipeline.actions import (
    Cancel,
    CancelRun,
    CancelTaskRun,
    KillStep,
    PipelineRunObservation,
    Prepare,
    Prepared,
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
from gitloop.pipeline.state import PipelineRunState, TaskRunState
from gitloop.pipeline.taskrun import TaskRunPlan
from gitloop.ports import ContainerRequest, SandboxPaths, StepOutcome


@dataclass(frozen=True)
class StepScript:
    """What one step does: run ``duration`` seconds and exit, writing results; or fail to start."""

    exit_code: int = 0
    duration: float = 0.0
    results: Mapping[str, str] = field(default_factory=dict)
    step_results: Mapping[str, str] = field(default_factory=dict)
    start_failure: str = ""
    """``StartFailed`` or ``ImagePullFailed``: the step never ran."""
    message: str = ""


@dataclass(frozen=True)
class StepCall:
    """A step about to run."""

    task_run: str
    pipeline_task: str
    step: str
    attempt: int
    request: ContainerRequest
    params: Mapping[str, Any]
    time: float


Behaviour = Callable[[StepCall], StepScript]


def always(script: StepScript) -> Behaviour:
    return lambda _call: script


@dataclass
class _Child:
    plan: TaskRunPlan
    state: TaskRunState
    results: dict[str, str] = field(default_factory=dict)
    running: tuple[int, int] | None = None
    """(event id, step index) of the running step."""


class Simulation:
    """Runs PipelineRuns and TaskRuns on a virtual clock starting at ``start``."""

    def __init__(
        self, behaviour: Behaviour, *, start: float = 1_000_000.0, max_parallel: int | None = None
    ) -> None:
        self.behaviour = behaviour
        self.now = start
        self.max_parallel = max_parallel
        self.calls: list[StepCall] = []
        self._events: list[tuple[float, int, str, Any]] = []
        self._ids = itertools.count()
        self._children: dict[str, _Child] = {}
        self._queued: list[str] = []
        self._pipeline_obs: list[PipelineRunObservation] = []
        self._cancelled: set[int] = set()

    def _at(self, time: float, kind: str, payload: Any) -> int:
        event = next(self._ids)
        heapq.heappush(self._events, (time, event, kind, payload))
        return event

    def _paths(self, plan: TaskRunPlan) -> SandboxPaths:
        names = {ws.declaration.name: ws.declaration.path for ws in plan.workspaces if ws.volume is not None}
        return SandboxPaths("/tekton/results", "/tekton/steps", "/tekton/home", "/tekton/creds", names)

    def _run_step(self, child: _Child, action: RunStep) -> list[TaskRunObservation]:
        call = StepCall(
            child.plan.name,
            child.plan.pipeline_task,
            child.state.steps[action.index].name,
            child.state.attempt,
            action.step,
            child.state.params,
            self.now,
        )
        self.calls.append(call)
        script = self.behaviour(call)
        if script.start_failure:
            outcome = StepOutcome(-1, self.now, self.now, script.start_failure, script.message)
            return [StepFinished(action.sandbox, action.index, outcome)]
        event = self._at(self.now + script.duration, "step", (child.plan.name, action, script))
        child.running = (event, action.index)
        return []

    def _finish_step(self, child: _Child, action: RunStep, script: StepScript, killed: bool) -> StepFinished:
        child.running = None
        if not killed:
            child.results.update(script.results)
        outcome = StepOutcome(
            137 if killed else script.exit_code,
            child.state.steps[action.index].started or self.now,
            self.now,
            "Killed" if killed else "",
            results=dict(child.results),
            step_results={} if killed else dict(script.step_results),
        )
        return StepFinished(action.sandbox, action.index, outcome)

    def _perform(self, child: _Child, action: object) -> list[TaskRunObservation]:
        if isinstance(action, Prepare):
            child.results = {}
            return [Prepared(action.request.name, self._paths(child.plan))]
        if isinstance(action, StartSidecars):
            return [SidecarsStarted(action.sandbox)]
        if isinstance(action, ProbeSidecars):  # simulated sidecars are ready at once
            return [SidecarsReady(action.sandbox)]
        if isinstance(action, RunStep):
            return self._run_step(child, action)
        if isinstance(action, KillStep) and child.running is not None:
            event, _ = child.running
            self._cancelled.add(event)
            pending = next(e for e in self._events if e[1] == event)
            _, step_action, script = pending[3]
            return [self._finish_step(child, step_action, script, killed=True)]
        if isinstance(action, Release):
            return [Released(action.sandbox)]
        return []

    def _drive(self, name: str, observations: list[TaskRunObservation]) -> None:
        child = self._children[name]
        while True:
            actions = taskrun.decide(child.plan, child.state, observations, self.now)
            observations = []
            for action in actions:
                observations.extend(self._perform(child, action))
            if not observations:
                break
        self._pipeline_obs.append(TaskRunChanged(copy.deepcopy(child.state)))
        deadline = taskrun.next_deadline(child.plan, child.state)
        if deadline is not None:
            self._at(deadline, "tick", name)
        if child.state.done and self.max_parallel is not None:
            self._start_queued()

    def _slots_free(self) -> bool:
        if self.max_parallel is None:
            return True
        busy = sum(1 for c in self._children.values() if c.state.phase not in ("Pending", "Done"))
        return busy < self.max_parallel

    def _start_queued(self) -> None:
        while self._queued and self._slots_free():
            self._drive(self._queued.pop(0), [])

    def _start(self, plan: TaskRunPlan) -> None:
        self._children[plan.name] = _Child(plan, taskrun.initial_state(plan))
        self._queued.append(plan.name)
        self._start_queued()

    def _cancel(self, name: str, message: str) -> None:
        if name in self._queued:
            self._queued.remove(name)
        self._drive(name, [Cancel(message)])

    def _dispatch(self, kind: str, payload: Any) -> None:
        if kind == "step":
            name, action, script = payload
            child = self._children[name]
            self._drive(name, [self._finish_step(child, action, script, killed=False)])
        elif kind == "tick":
            if not self._children[payload].state.done:
                self._drive(payload, [])
        elif kind == "cancel-run":
            self._pipeline_obs.append(CancelRun(payload))
        elif kind == "cancel-task":
            self._drive(payload, [Cancel("TaskRun cancelled by the user.")])

    def _next_events(self) -> bool:
        """Advance the clock to the next event and handle every event due then."""
        while self._events and self._events[0][1] in self._cancelled:
            heapq.heappop(self._events)
        if not self._events:
            return False
        self.now = max(self.now, self._events[0][0])
        while self._events and self._events[0][0] <= self.now:
            _, event, kind, payload = heapq.heappop(self._events)
            if event not in self._cancelled:
                self._dispatch(kind, payload)
        return True

    def run_pipeline(
        self, plan: PipelineRunPlan, *, cancel: Mapping[float, str] | None = None, until: float = 1e7
    ) -> PipelineRunState:
        """Run a PipelineRun to its end; ``cancel`` maps seconds after the start to a cancel request."""
        state = pipelinerun.initial_state(plan)
        start = self.now
        for delay, status in (cancel or {}).items():
            self._at(start + delay, "cancel-run", status)
        while True:
            observations, self._pipeline_obs = self._pipeline_obs, []
            actions = pipelinerun.decide(plan, state, observations, self.now)
            for action in actions:
                if isinstance(action, StartTaskRun):
                    self._start(action.plan)
                elif isinstance(action, CancelTaskRun):
                    self._cancel(action.name, action.message)
            if self._pipeline_obs:
                continue
            if state.done:
                return state
            deadline = pipelinerun.next_deadline(plan, state)
            if deadline is not None:
                self._at(deadline, "tick-run", None)
            if not self._next_events() or self.now - start > until:
                raise AssertionError(f"the PipelineRun is stuck at {self.now - start}s: {state.condition}")

    def run_task(self, plan: TaskRunPlan, *, cancel_at: float | None = None) -> TaskRunState:
        """Run a standalone TaskRun to its end."""
        self._children[plan.name] = _Child(plan, taskrun.initial_state(plan))
        if cancel_at is not None:
            self._at(self.now + cancel_at, "cancel-task", plan.name)
        self._drive(plan.name, [])
        while not self._children[plan.name].state.done:
            if not self._next_events():
                raise AssertionError("the TaskRun is stuck")
        return self._children[plan.name].state
