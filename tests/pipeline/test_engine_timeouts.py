"""Timeouts on a virtual clock: step, TaskRun, pipeline task, and the PipelineRun's pipeline/tasks/finally."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from engine_helpers import generic, pipeline_yaml

from gitloop.pipeline import reasons as R
from gitloop.pipeline.plan import PipelineRunPlan, Timeouts, resolve_timeouts
from gitloop.pipeline.simulation import Simulation
from gitloop.pipeline.state import PipelineRunState
from gitloop.spec.tekton import TimeoutFields
from gitloop.spec.tekton.runs import DEFAULT_TIMEOUT

# timeouts fields, --timeout -> resolved
RESOLVE: list[tuple[TimeoutFields, float | None, Timeouts]] = [
    (TimeoutFields(), None, Timeouts(DEFAULT_TIMEOUT, None, None)),
    (TimeoutFields(pipeline=0), None, Timeouts(None, None, None)),
    (TimeoutFields(pipeline=600, finally_tasks=60), None, Timeouts(600, 540, 60)),
    (TimeoutFields(pipeline=600, tasks=300), None, Timeouts(600, 300, None)),
    (TimeoutFields(pipeline=0, tasks=30, finally_tasks=0), None, Timeouts(None, 30, None)),
    (TimeoutFields(pipeline=600), 5, Timeouts(5, None, None)),
]


@pytest.mark.parametrize(("fields", "override", "expected"), RESOLVE)
def test_resolve_timeouts(fields: TimeoutFields, override: float | None, expected: Timeouts) -> None:
    assert resolve_timeouts(fields, override) == expected


def _run(
    make_plan: Callable[..., PipelineRunPlan], body: str, **timeouts: float
) -> tuple[Simulation, PipelineRunState]:
    plan = (
        make_plan(pipeline_yaml(body), timeouts=TimeoutFields(**timeouts))
        if timeouts
        else make_plan(pipeline_yaml(body))
    )
    sim = Simulation(generic)
    return sim, sim.run_pipeline(plan)


def test_pipeline_task_timeout_fails_the_task_run(make_plan: Callable[..., PipelineRunPlan]) -> None:
    body = "tasks:\n  - {name: a, taskRef: {name: t}, timeout: 2s, params: [{name: sleep, value: '60'}]}\n"
    _, state = _run(make_plan, body)
    child = state.children["run-a"]
    assert (child.condition.reason, child.condition.message) == (
        R.TR_TIMEOUT,
        'TaskRun "run-a" failed to finish within "2s"',
    )
    assert child.completion_time - child.start_time == 2.0
    assert child.steps[0].exit_code == 137 and child.steps[0].reason == R.TR_TIMEOUT
    assert state.condition.reason == R.PR_FAILED


def test_zero_task_timeout_is_no_timeout(make_plan: Callable[..., PipelineRunPlan]) -> None:
    body = "tasks:\n  - {name: a, taskRef: {name: t}, timeout: 0s, params: [{name: sleep, value: '7200'}]}\n"
    _, state = _run(make_plan, body, pipeline=0)
    assert state.condition.reason == R.PR_SUCCEEDED


def test_pipeline_timeout_cancels_everything(make_plan: Callable[..., PipelineRunPlan]) -> None:
    body = """
tasks:
  - {name: a, taskRef: {name: t}, params: [{name: sleep, value: "60"}]}
  - {name: b, taskRef: {name: t}, runAfter: [a]}
finally:
  - {name: f, taskRef: {name: t}}
"""
    _, state = _run(make_plan, body, pipeline=5)
    child = state.children["run-a"]
    assert (child.condition.reason, child.condition.message) == (
        R.TR_CANCELLED,
        R.TR_CANCELLED_BY_PIPELINE_TIMEOUT,
    )
    assert state.tasks["b"].skip_reason == R.SKIP_PIPELINE_TIMEOUT
    assert state.tasks["f"].skip_reason == R.SKIP_PIPELINE_TIMEOUT
    condition = state.condition
    assert (condition.reason, condition.message) == (
        R.PR_TIMEOUT,
        'PipelineRun "run" failed to finish within "5s"',
    )
    assert state.completion_time - state.start_time == 5.0


def test_tasks_timeout_cancels_tasks_then_runs_finally(make_plan: Callable[..., PipelineRunPlan]) -> None:
    body = """
tasks:
  - {name: a, taskRef: {name: t}, params: [{name: sleep, value: "60"}]}
finally:
  - {name: f, taskRef: {name: t}, params: [{name: in, value: $(tasks.status)}]}
"""
    sim, state = _run(make_plan, body, pipeline=100, tasks=10, finally_tasks=20)
    assert state.children["run-a"].condition.message == R.TR_CANCELLED_BY_PIPELINE_TIMEOUT
    final = next(c for c in sim.calls if c.pipeline_task == "f")
    assert final.time - sim.calls[0].time == 10.0 and final.params["in"] == "Failed"
    condition = state.condition
    assert condition.reason == R.PR_TIMEOUT
    assert condition.message == 'PipelineRun "run" failed due to tasks failed to finish within "10s"'


def test_finally_timeout_cancels_finally(make_plan: Callable[..., PipelineRunPlan]) -> None:
    body = """
tasks:
  - {name: a, taskRef: {name: t}}
finally:
  - {name: f, taskRef: {name: t}, params: [{name: sleep, value: "60"}]}
"""
    _, state = _run(make_plan, body, pipeline=100, finally_tasks=3)
    assert state.children["run-f"].condition.reason == R.TR_CANCELLED
    assert state.condition.reason == R.PR_FAILED
    assert state.completion_time - state.start_time == 4.0


def test_task_run_spec_timeout_overrides_the_pipeline_task(make_plan: Callable[..., PipelineRunPlan]) -> None:
    from gitloop.spec.tekton import PipelineTaskRunSpec

    body = "tasks:\n  - {name: a, taskRef: {name: t}, timeout: 1h, params: [{name: sleep, value: '60'}]}\n"
    plan = make_plan(pipeline_yaml(body), task_run_specs=(PipelineTaskRunSpec("a", timeout=3),))
    state = Simulation(generic).run_pipeline(plan)
    assert state.children["run-a"].condition.message == 'TaskRun "run-a" failed to finish within "3s"'


STEP_TIMEOUT_TASK = """\
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: steps}
spec:
  steps:
    - {name: slow, image: alpine, script: sleep 100, timeout: 2s, onError: ON_ERROR}
    - {name: after, image: alpine, script: echo after}
"""


@pytest.mark.parametrize(
    ("on_error", "reason", "after"),
    [("stopAndFail", R.TR_FAILED, R.STEP_SKIPPED), ("continue", R.TR_SUCCEEDED, R.STEP_COMPLETED)],
)
def test_step_timeout(make_task_plan: Callable[..., object], on_error: str, reason: str, after: str) -> None:
    from gitloop.pipeline.simulation import StepScript

    plan = make_task_plan(STEP_TIMEOUT_TASK.replace("ON_ERROR", on_error))
    state = Simulation(lambda call: StepScript(duration=100 if call.step == "slow" else 0)).run_task(plan)  # type: ignore[arg-type]
    assert state.steps[0].reason == R.STEP_TIMEOUT
    assert state.steps[1].reason == after
    assert state.condition.reason == reason
    if reason == R.TR_FAILED:
        assert (
            state.condition.message
            == '"step-slow" exited because the step exceeded the specified timeout limit'
        )
