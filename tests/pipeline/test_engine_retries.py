"""Retries: a failed attempt is recorded in ``retriesStatus`` and run again; cancellation is not retried."""

from __future__ import annotations

from collections.abc import Callable

from engine_helpers import pipeline_yaml

from gitloop.pipeline import reasons as R
from gitloop.pipeline.plan import PipelineRunPlan
from gitloop.pipeline.simulation import Simulation, StepCall, StepScript
from gitloop.pipeline.status import task_run_manifest

RETRIED = """
tasks:
  - name: flaky
    retries: 2
    params: [{name: n, value: $(context.pipelineTask.retries)}]
    taskSpec:
      params: [{name: n}]
      steps:
        - name: try
          image: alpine
          script: echo "attempt $(context.task.retry-count) of $(params.n)"
"""


def _fails_until(success_attempt: int) -> Callable[[StepCall], StepScript]:
    return lambda call: StepScript(0 if call.attempt >= success_attempt else 1, duration=1)


def test_retry_then_succeed(make_plan: Callable[..., PipelineRunPlan]) -> None:
    sim = Simulation(_fails_until(1))
    state = sim.run_pipeline(make_plan(pipeline_yaml(RETRIED)))
    child = state.children["run-flaky"]
    assert child.condition.reason == R.TR_SUCCEEDED and child.attempt == 1
    assert [r.condition.reason for r in child.retries_status] == [R.TR_FAILED]
    assert [c.request.script.splitlines()[-1] for c in sim.calls] == [
        'echo "attempt 0 of 2"',
        'echo "attempt 1 of 2"',
    ]
    status = task_run_manifest(child)["status"]
    assert status["retriesStatus"][0]["conditions"][0]["reason"] == R.TR_FAILED
    assert status["retriesStatus"][0]["steps"][0]["terminated"]["exitCode"] == 1
    assert state.condition.reason == R.PR_SUCCEEDED


def test_retries_exhausted(make_plan: Callable[..., PipelineRunPlan]) -> None:
    sim = Simulation(_fails_until(99))
    state = sim.run_pipeline(make_plan(pipeline_yaml(RETRIED)))
    child = state.children["run-flaky"]
    assert len(sim.calls) == 3 and len(child.retries_status) == 2
    assert child.condition.reason == R.TR_FAILED
    assert state.condition.reason == R.PR_FAILED


def test_timed_out_attempts_are_retried(make_plan: Callable[..., PipelineRunPlan]) -> None:
    body = RETRIED.replace("retries: 2", "retries: 1\n    timeout: 5s")
    sim = Simulation(lambda call: StepScript(duration=60 if call.attempt == 0 else 1))
    state = sim.run_pipeline(make_plan(pipeline_yaml(body)))
    child = state.children["run-flaky"]
    assert [r.condition.reason for r in child.retries_status] == [R.TR_TIMEOUT]
    assert child.condition.reason == R.TR_SUCCEEDED


def test_cancellation_is_not_retried(make_plan: Callable[..., PipelineRunPlan]) -> None:
    sim = Simulation(lambda call: StepScript(duration=60))
    state = sim.run_pipeline(make_plan(pipeline_yaml(RETRIED)), cancel={5.0: R.CANCELLED})
    child = state.children["run-flaky"]
    assert len(sim.calls) == 1 and not child.retries_status
    assert child.condition.reason == R.TR_CANCELLED
