"""Cancellation of a PipelineRun: ``Cancelled``, ``CancelledRunFinally`` and ``StoppedRunFinally``."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from engine_helpers import generic, pipeline_yaml

from gitloop.pipeline import reasons as R
from gitloop.pipeline.plan import PipelineRunPlan
from gitloop.pipeline.simulation import Simulation

BODY = """
tasks:
  - {name: running, taskRef: {name: t}, params: [{name: sleep, value: "10"}]}
  - {name: next, taskRef: {name: t}, runAfter: [running]}
finally:
  - {name: f, taskRef: {name: t}}
"""

# request at t=5 -> (running's TaskRun reason, next, f, run reason, run message)
CASES = [
    (R.CANCELLED, R.TR_CANCELLED, "NotRun", "NotRun", R.PR_CANCELLED, 'PipelineRun "run" was cancelled'),
    (
        R.CANCELLED_RUN_FINALLY,
        R.TR_CANCELLED,
        f"Skipped: {R.SKIP_GRACEFULLY_CANCELLED}",
        "Succeeded",
        R.PR_CANCELLED,
        'PipelineRun "run" was cancelled',
    ),
    (
        R.STOPPED_RUN_FINALLY,
        R.TR_SUCCEEDED,
        f"Skipped: {R.SKIP_GRACEFULLY_STOPPED}",
        "Succeeded",
        R.PR_CANCELLED,
        'PipelineRun "run" was cancelled',
    ),
]


def _outcome(status: str, reason: str) -> str:
    return f"Skipped: {reason}" if status == "Skipped" else status


@pytest.mark.parametrize(("request_status", "running", "following", "final", "reason", "message"), CASES)
def test_cancel_requests(
    make_plan: Callable[..., PipelineRunPlan],
    request_status: str,
    running: str,
    following: str,
    final: str,
    reason: str,
    message: str,
) -> None:
    state = Simulation(generic).run_pipeline(make_plan(pipeline_yaml(BODY)), cancel={5.0: request_status})
    assert state.children["run-running"].condition.reason == running
    assert _outcome(state.tasks["next"].status, state.tasks["next"].skip_reason) == following
    assert state.tasks["f"].status == final
    assert (state.condition.status, state.condition.reason, state.condition.message) == (
        "False",
        reason,
        message,
    )
    if request_status == R.CANCELLED:
        assert state.completion_time == state.start_time + 5.0  # type: ignore[operator]


def test_cancel_message_of_cancelled_task_run(make_plan: Callable[..., PipelineRunPlan]) -> None:
    state = Simulation(generic).run_pipeline(
        make_plan(pipeline_yaml(BODY)), cancel={5.0: R.CANCELLED_RUN_FINALLY}
    )
    child = state.children["run-running"]
    assert child.condition.message == R.TR_CANCELLED_BY_PIPELINE
    assert child.steps[0].reason == R.STEP_CANCELLED and child.steps[0].exit_code == 137


def test_running_reasons_while_finally_runs(make_plan: Callable[..., PipelineRunPlan]) -> None:
    from gitloop.pipeline import pipelinerun
    from gitloop.pipeline.actions import CancelRun

    plan = make_plan(pipeline_yaml(BODY))
    state = pipelinerun.initial_state(plan)
    pipelinerun.decide(plan, state, [], 0.0)
    assert state.condition.reason == R.PR_RUNNING
    pipelinerun.decide(plan, state, [CancelRun(R.CANCELLED_RUN_FINALLY)], 1.0)
    assert state.condition.reason == R.PR_CANCELLED_RUNNING_FINALLY


def test_second_request_escalates_to_cancelled(make_plan: Callable[..., PipelineRunPlan]) -> None:
    body = BODY.replace(
        "{name: f, taskRef: {name: t}}", "{name: f, taskRef: {name: t}, params: [{name: sleep, value: '60'}]}"
    )
    state = Simulation(generic).run_pipeline(
        make_plan(pipeline_yaml(body)), cancel={5.0: R.CANCELLED_RUN_FINALLY, 8.0: R.CANCELLED}
    )
    assert state.children["run-f"].condition.reason == R.TR_CANCELLED
    assert state.condition.reason == R.PR_CANCELLED
    assert state.completion_time == state.start_time + 8.0  # type: ignore[operator]
