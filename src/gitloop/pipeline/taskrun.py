"""The TaskRun state machine: ``decide(plan, state, observations, now) -> actions``. No I/O.

One attempt: prepare a sandbox, start the sidecars, wait for their ``readinessProbe``s (at most
``SIDECAR_READY_LIMIT`` s, else the attempt fails naming the sidecar), run the steps in order (each
substituted just before it runs, so it sees the results of the steps before it), collect the
results, release the sandbox. A failed attempt is retried ``plan.retries`` times, each recorded in ``retriesStatus``;
cancellation is never retried. ``decide`` updates ``state`` in place from the observations and the
clock and returns what the driver must do next; ``next_deadline`` says when to call it again if
nothing else happens (a step or attempt timeout).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from gitloop.errors import PipelineError, SpecError
from gitloop.pipeline import reasons as R
from gitloop.pipeline.actions import (
    Cancel,
    KillStep,
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
    StepFinished,
    TaskRunAction,
    TaskRunObservation,
)
from gitloop.pipeline.containers import (
    ContainerConfigError,
    container_request,
    step_container_name,
    step_display_name,
    substitute_container,
)
from gitloop.pipeline.results import MAX_RESULT_SIZE, ResultError, check_step_results, collect_results
from gitloop.pipeline.sidecars import probe_containers, sidecar_probes, sidecar_requests
from gitloop.pipeline.state import AttemptRecord, Condition, StepState, TaskRunState
from gitloop.pipeline.substitution import TASK_STRICT, Value, params_context
from gitloop.pipeline.volumes import Objects, WorkspaceVolume, mounts_for, task_volumes
from gitloop.pipeline.when import evaluate
from gitloop.ports import ContainerRequest, SandboxPaths, SandboxRequest, StepOutcome
from gitloop.spec.duration import format_duration
from gitloop.spec.tekton import ParamValue, Step, TaskSpec

_RUNNING_MESSAGE = "Not all Steps in the Task have finished executing"
SIDECAR_READY_LIMIT = 60.0
"""Seconds the sidecars of an attempt have to pass their readiness probes."""
_ACTIVE = ("Preparing", "Prepared", "StartingSidecars", "ProbingSidecars", "WaitingSidecars", "Running")


@dataclass(frozen=True)
class TaskRunPlan:
    """Everything fixed about one TaskRun: the Task (pipeline-level variables already substituted),
    its bound params and workspaces, and its limits. ``timeout`` is per attempt, ``None`` for none."""

    name: str
    task_name: str
    spec: TaskSpec
    params: Mapping[str, ParamValue]
    workspaces: tuple[WorkspaceVolume, ...] = ()
    objects: Objects = field(default_factory=Objects)
    timeout: float | None = None
    retries: int = 0
    namespace: str = "default"
    uid: str = ""
    pipeline_task: str = ""
    display_name: str = ""
    service_account: str = ""
    result_limit: int = MAX_RESULT_SIZE


def initial_state(plan: TaskRunPlan) -> TaskRunState:
    """A TaskRun that has not started."""
    return TaskRunState(
        name=plan.name,
        task=plan.task_name,
        pipeline_task=plan.pipeline_task,
        display_name=plan.display_name,
        params={k: list(v) if isinstance(v, tuple) else v for k, v in plan.params.items()},
        steps=_fresh_steps(plan),
    )


def _fresh_steps(plan: TaskRunPlan) -> list[StepState]:
    return [
        StepState(step_display_name(s, i), step_container_name(s, i)) for i, s in enumerate(plan.spec.steps)
    ]


def _sandbox_name(plan: TaskRunPlan, attempt: int) -> str:
    return plan.name if attempt == 0 else f"{plan.name}-retry{attempt}"


def task_context(plan: TaskRunPlan, state: TaskRunState, paths: SandboxPaths) -> dict[str, Value]:
    """The task-level variables of the current attempt, before any step has run."""
    context: dict[str, Value] = params_context(plan.params)
    context.update(
        {
            "context.taskRun.name": plan.name,
            "context.taskRun.namespace": plan.namespace,
            "context.taskRun.uid": plan.uid,
            "context.task.name": plan.task_name,
            "context.task.retry-count": str(state.attempt),
            "credentials.path": paths.credentials,
        }
    )
    for ws in plan.workspaces:
        name = ws.declaration.name
        bound = ws.volume is not None
        context[f"workspaces.{name}.path"] = paths.workspaces.get(name, "") if bound else ""
        context[f"workspaces.{name}.bound"] = "true" if bound else "false"
        context[f"workspaces.{name}.claim"] = ws.claim
        context[f"workspaces.{name}.volume"] = ws.volume_name if bound else ""
    for result in plan.spec.results:
        context[f"results.{result.name}.path"] = posixpath.join(paths.results, result.name)
    for step in state.steps:
        context[f"steps.{step.container}.exitCode.path"] = posixpath.join(
            paths.steps, step.container, "exitCode"
        )
    for step_name, values in state.step_results.items():
        for key, value in values.items():
            context[f"steps.{step_name}.results.{key}"] = value
    return context


def _paths(state: TaskRunState) -> SandboxPaths:
    if state.paths is None:
        raise PipelineError(f"TaskRun {state.name}: no sandbox prepared")
    return SandboxPaths(**state.paths)


def _field_values(plan: TaskRunPlan) -> dict[str, str]:
    return {
        "metadata.name": f"{plan.name}-pod",
        "metadata.namespace": plan.namespace,
        "metadata.uid": plan.uid,
        "spec.serviceAccountName": plan.service_account or "default",
    }


def _step_request(plan: TaskRunPlan, state: TaskRunState, index: int) -> tuple[Step, ContainerRequest]:
    step_spec = plan.spec.merged_steps()[index]
    step = state.steps[index]
    paths = _paths(state)
    context = task_context(plan, state, paths)
    for result in step_spec.results:
        context[f"step.results.{result.name}.path"] = posixpath.join(
            paths.steps, step.container, "results", result.name
        )
    substituted = substitute_container(step_spec, context, TASK_STRICT, f"steps[{index}]")
    mounts = mounts_for(substituted, plan.workspaces)
    return substituted, container_request(
        substituted, step.container, plan.objects, mounts, _field_values(plan)
    )


def _sidecar_requests(plan: TaskRunPlan, state: TaskRunState) -> tuple[ContainerRequest, ...]:
    context = task_context(plan, state, _paths(state))
    return sidecar_requests(plan.spec.sidecars, context, plan.objects, plan.workspaces, _field_values(plan))


def _fail(state: TaskRunState, reason: str, message: str, now: float) -> None:
    if state.outcome is None:
        state.outcome = Condition("False", reason, message, now)


def _skip_rest(state: TaskRunState, now: float) -> None:
    for step in state.steps:
        if step.phase == "waiting":
            step.phase, step.exit_code, step.reason, step.finished = "terminated", 1, R.STEP_SKIPPED, now


def _record_step(plan: TaskRunPlan, state: TaskRunState, obs: StepFinished, now: float) -> None:
    outcome: StepOutcome = obs.outcome
    step = state.steps[obs.index]
    spec = plan.spec.merged_steps()[obs.index]
    step.phase, step.exit_code = "terminated", outcome.exit_code
    step.started, step.finished = outcome.started, outcome.finished
    state.running_step = None
    state.kill_requested = False
    state.raw_results = dict(outcome.results)
    try:
        state.step_results[step.name] = check_step_results(
            spec.results, outcome.step_results, plan.result_limit
        )
    except ResultError as exc:
        reason = R.TR_RESULT_TOO_LARGE if exc.too_large else R.TR_FAILED
        _fail(state, reason, str(exc), now)
    if state.stop in ("cancel", "timeout"):
        step.reason = R.STEP_CANCELLED if state.stop == "cancel" else R.TR_TIMEOUT
    elif outcome.reason in ("StartFailed", "ImagePullFailed"):
        step.reason, step.message = R.STEP_ERROR, outcome.message
        reason = R.TR_IMAGE_PULL_FAILED if outcome.reason == "ImagePullFailed" else R.TR_FAILED
        _fail(state, reason, outcome.message, now)
    elif state.stop == "step-timeout":
        state.stop = ""
        step.reason = R.STEP_TIMEOUT
        if spec.on_error != "continue":
            _fail(
                state,
                R.TR_FAILED,
                f'"{step.container}" exited because the step exceeded the specified timeout limit',
                now,
            )
    elif outcome.exit_code == 0:
        step.reason = R.STEP_COMPLETED
    elif spec.on_error == "continue":
        step.reason = R.STEP_CONTINUED
    else:
        step.reason = R.STEP_ERROR
        _fail(state, R.TR_FAILED, f'"{step.container}" exited with code {outcome.exit_code}', now)
    if state.outcome is not None:
        _skip_rest(state, now)


def _observe(plan: TaskRunPlan, state: TaskRunState, obs: TaskRunObservation, now: float) -> None:
    if isinstance(obs, Cancel):
        if not state.done and state.stop != "cancel":
            state.stop, state.stop_message = "cancel", obs.message
        return
    if obs.sandbox != state.sandbox:
        return  # a late answer about an earlier attempt
    if isinstance(obs, Prepared):
        state.paths = asdict(obs.paths)
        if state.phase == "Preparing":
            state.phase = "Prepared"
    elif isinstance(obs, PrepareFailed):
        _fail(state, R.TR_FAILED, obs.message, now)
        state.phase = "Releasing"
    elif isinstance(obs, SidecarsStarted):
        if obs.failure is not None:
            reason = R.TR_IMAGE_PULL_FAILED if obs.failure.reason == "ImagePullFailed" else R.TR_FAILED
            _fail(state, reason, obs.failure.message, now)
            state.phase = "Releasing"
        elif state.phase == "StartingSidecars":
            ready = all(s.readiness is None for s in plan.spec.sidecars)
            state.phase = "Running" if ready else "ProbingSidecars"
    elif isinstance(obs, SidecarsReady) and state.phase == "WaitingSidecars":
        if obs.failure:
            _fail(state, R.TR_FAILED, obs.failure, now)
            _skip_rest(state, now)
        state.phase = "Releasing" if obs.failure else "Running"
    elif isinstance(obs, StepFinished):
        _record_step(plan, state, obs, now)
    elif isinstance(obs, Released):
        state.phase = "Released"


def _stop_outcome(plan: TaskRunPlan, state: TaskRunState, now: float) -> None:
    if state.stop == "cancel":
        _fail(state, R.TR_CANCELLED, state.stop_message or R.TR_CANCELLED_BY_USER, now)
    elif state.stop == "timeout":
        limit = format_duration(plan.timeout or 0)
        _fail(state, R.TR_TIMEOUT, f'TaskRun "{plan.name}" failed to finish within "{limit}"', now)


def _deadlines(plan: TaskRunPlan, state: TaskRunState) -> list[tuple[float, str]]:
    """(when, stop) of the attempt's timeout and the running step's, while they apply."""
    if state.stop or state.phase not in _ACTIVE:
        return []
    found: list[tuple[float, str]] = []
    if plan.timeout and state.start_time is not None:
        found.append((state.start_time + plan.timeout, "timeout"))
    step = state.running_step
    started = state.steps[step].started if step is not None else None
    if step is not None and started is not None and (limit := plan.spec.steps[step].timeout):
        found.append((started + limit, "step-timeout"))
    return found


def _check_deadlines(plan: TaskRunPlan, state: TaskRunState, now: float) -> None:
    due = [stop for when, stop in _deadlines(plan, state) if now >= when]
    if due:
        state.stop = due[0]


def next_deadline(plan: TaskRunPlan, state: TaskRunState) -> float | None:
    """When ``decide`` must run again for a timeout, if nothing else happens first."""
    return min((when for when, _ in _deadlines(plan, state)), default=None)


def _start_attempt(plan: TaskRunPlan, state: TaskRunState, now: float) -> Prepare:
    state.sandbox = _sandbox_name(plan, state.attempt)
    state.start_time = now
    state.phase = "Preparing"
    state.condition = Condition("Unknown", R.TR_RUNNING, _RUNNING_MESSAGE, now)
    volumes = tuple(ws.volume for ws in plan.workspaces if ws.volume is not None)
    request = SandboxRequest(
        name=state.sandbox,
        volumes=volumes + task_volumes(plan.spec.volumes, plan.objects),
        containers=tuple(s.container for s in state.steps) + probe_containers(plan.spec.sidecars),
    )
    return Prepare(request, plan.result_limit)


def _next_step(plan: TaskRunPlan, state: TaskRunState, now: float) -> RunStep | None:
    """Start the next step that should run; ``None`` when every step has ended."""
    while True:
        index = next((i for i, s in enumerate(state.steps) if s.phase == "waiting"), None)
        if index is None:
            return None
        step = state.steps[index]
        spec = plan.spec.merged_steps()[index]
        if spec.when:
            context = task_context(plan, state, _paths(state))
            if not evaluate(spec.when, context, strict=TASK_STRICT, field=f"steps[{index}].when").allowed:
                step.phase, step.exit_code, step.reason = "terminated", 0, R.STEP_SKIPPED
                step.started = step.finished = now
                continue
        _, request = _step_request(plan, state, index)
        step.phase, step.started = "running", now
        state.running_step = index
        return RunStep(state.sandbox, index, request)


def _finish_steps(plan: TaskRunPlan, state: TaskRunState, now: float) -> None:
    """Collect the results and decide the attempt once no step is left (or one failed)."""
    try:
        state.results = collect_results(
            plan.spec.results, state.raw_results, state.step_results, plan.result_limit
        )
    except ResultError as exc:
        _fail(state, R.TR_RESULT_TOO_LARGE if exc.too_large else R.TR_FAILED, str(exc), now)
    if state.outcome is None:
        state.outcome = Condition("True", R.TR_SUCCEEDED, R.TR_ALL_STEPS_DONE, now)
    state.phase = "Releasing"


def _end_attempt(plan: TaskRunPlan, state: TaskRunState, now: float) -> None:
    outcome = state.outcome or Condition("False", R.TR_FAILED, "the TaskRun ended without a verdict", now)
    if not outcome.succeeded and state.stop != "cancel" and state.attempt < plan.retries:
        state.retries_status.append(
            AttemptRecord(outcome, state.start_time, now, state.steps, dict(state.results))
        )
        state.attempt += 1
        state.steps = _fresh_steps(plan)
        state.phase, state.paths, state.outcome, state.stop = "Pending", None, None, ""
        state.raw_results, state.step_results, state.results = {}, {}, {}
        state.release_requested = state.kill_requested = False
        return
    state.condition = outcome
    state.completion_time = now
    state.phase = "Done"


def decide(
    plan: TaskRunPlan, state: TaskRunState, observations: Sequence[TaskRunObservation], now: float
) -> list[TaskRunAction]:
    """Apply ``observations`` to ``state`` and return the next actions."""
    for obs in observations:
        _observe(plan, state, obs, now)
    actions: list[TaskRunAction] = []
    while True:
        before = _progress(state, actions)
        _check_deadlines(plan, state, now)
        _step(plan, state, now, actions)
        if _progress(state, actions) == before:
            return actions


def _progress(state: TaskRunState, actions: list[TaskRunAction]) -> tuple[object, ...]:
    return (
        state.phase,
        state.attempt,
        state.running_step,
        state.stop,
        state.outcome is None,
        state.kill_requested,
        state.release_requested,
        len(actions),
    )


def _step(plan: TaskRunPlan, state: TaskRunState, now: float, actions: list[TaskRunAction]) -> None:
    if state.phase == "Pending":
        if state.stop == "cancel":
            _stop_outcome(plan, state, now)
            _end_attempt(plan, state, now)
        else:
            actions.append(_start_attempt(plan, state, now))
        return
    if state.stop in ("cancel", "timeout") and state.phase in _ACTIVE[1:]:
        _stop_outcome(plan, state, now)
        if state.running_step is None:
            _skip_rest(state, now)
            state.phase = "Releasing"
    if state.stop and state.running_step is not None and not state.kill_requested:
        state.kill_requested = True
        actions.append(KillStep(state.sandbox))
        return
    if state.phase == "Prepared":
        try:
            sidecars = _sidecar_requests(plan, state) if plan.spec.sidecars else ()
        except (SpecError, ContainerConfigError) as exc:
            _fail(state, R.TR_CONFIG_ERROR, str(exc), now)
            state.phase = "Releasing"
            return
        state.sidecars = [s.name for s in sidecars]
        state.phase = "StartingSidecars" if sidecars else "Running"
        if sidecars:
            actions.append(StartSidecars(state.sandbox, sidecars))
        return
    if state.phase == "ProbingSidecars":  # the sidecars' requests were built without error already
        probes = sidecar_probes(plan.spec.sidecars, _sidecar_requests(plan, state))
        state.phase = "WaitingSidecars"
        actions.append(ProbeSidecars(state.sandbox, probes, SIDECAR_READY_LIMIT))
        return
    if state.phase == "Running" and state.running_step is None:
        if state.outcome is not None:
            _finish_steps(plan, state, now)
            return
        try:
            run = _next_step(plan, state, now)
        except ContainerConfigError as exc:
            _fail(state, R.TR_CONFIG_ERROR, str(exc), now)
            _skip_rest(state, now)
            return
        except (SpecError, PipelineError) as exc:
            _fail(state, R.TR_VALIDATION_FAILED, str(exc), now)
            _skip_rest(state, now)
            return
        if run is None:
            _finish_steps(plan, state, now)
        else:
            actions.append(run)
        return
    if state.phase == "Releasing" and not state.release_requested:
        state.release_requested = True
        actions.append(Release(state.sandbox))
        return
    if state.phase == "Released":
        _end_attempt(plan, state, now)
