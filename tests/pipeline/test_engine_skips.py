"""Scheduling and skipping rules of the PipelineRun machine, as tables on a virtual clock.

Each case: a Pipeline over the generic Task (params choose exit code and duration), then the
expected outcome of each pipeline task (``status`` or ``Skipped: reason``) and the run's reason.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from engine_helpers import generic, pipeline_yaml

from gitloop.pipeline import reasons as R
from gitloop.pipeline.plan import PipelineRunPlan
from gitloop.pipeline.simulation import Simulation

CASES: list[tuple[str, str, dict[str, str], str]] = [
    (
        "all-succeed",
        """
tasks:
  - {name: a, taskRef: {name: t}}
  - {name: b, taskRef: {name: t}, runAfter: [a]}
""",
        {"a": "Succeeded", "b": "Succeeded"},
        R.PR_SUCCEEDED,
    ),
    (
        "when-false-skips-result-dependants-but-not-runafter-dependants",
        """
tasks:
  - name: a
    taskRef: {name: t}
    when: [{input: "x", operator: in, values: ["y"]}]
  - {name: order-only, taskRef: {name: t}, runAfter: [a]}
  - name: uses-result
    taskRef: {name: t}
    params: [{name: in, value: $(tasks.a.results.r)}]
  - {name: after-missing, taskRef: {name: t}, runAfter: [uses-result]}
""",
        {
            "a": f"Skipped: {R.SKIP_WHEN}",
            "order-only": "Succeeded",
            "uses-result": f"Skipped: {R.SKIP_MISSING_RESULTS}",
            "after-missing": f"Skipped: {R.SKIP_PARENT}",
        },
        R.PR_COMPLETED,
    ),
    (
        "stop-and-fail-stops-scheduling",
        """
tasks:
  - name: a
    taskRef: {name: t}
    params: [{name: exit, value: "1"}]
  - {name: slow, taskRef: {name: t}, params: [{name: sleep, value: "5"}]}
  - {name: b, taskRef: {name: t}, runAfter: [a]}
  - {name: c, taskRef: {name: t}, runAfter: [slow]}
""",
        {
            "a": "Failed",
            "slow": "Succeeded",
            "b": f"Skipped: {R.SKIP_STOPPING}",
            "c": f"Skipped: {R.SKIP_STOPPING}",
        },
        R.PR_FAILED,
    ),
    (
        "on-error-continue-ignores-the-failure",
        """
tasks:
  - name: a
    taskRef: {name: t}
    onError: continue
    params: [{name: exit, value: "1"}]
  - {name: b, taskRef: {name: t}, runAfter: [a]}
  - name: uses-result
    taskRef: {name: t}
    params: [{name: in, value: $(tasks.a.results.r)}]
""",
        {"a": "Failed", "b": "Succeeded", "uses-result": "Succeeded"},
        R.PR_SUCCEEDED,
    ),
    (
        "missing-result-of-ignored-failure-skips-a-continue-consumer",
        """
tasks:
  - name: a
    taskRef: {name: t}
    onError: continue
    params: [{name: exit, value: "1"}, {name: write, value: "no"}]
  - name: consumer
    taskRef: {name: t}
    onError: continue
    params: [{name: in, value: $(tasks.a.results.r)}]
""",
        {"a": "Failed", "consumer": f"Skipped: {R.SKIP_MISSING_RESULTS}"},
        R.PR_COMPLETED,
    ),
    (
        "missing-result-fails-a-stop-and-fail-consumer",
        """
tasks:
  - name: a
    taskRef: {name: t}
    onError: continue
    params: [{name: exit, value: "1"}, {name: write, value: "no"}]
  - name: consumer
    taskRef: {name: t}
    params: [{name: in, value: $(tasks.a.results.r)}]
""",
        {"a": "Failed", "consumer": "NotRun"},
        R.PR_INVALID_RESULT_REFERENCE,
    ),
    (
        "parallel-branches-and-join",
        """
tasks:
  - {name: a, taskRef: {name: t}}
  - {name: b, taskRef: {name: t}, runAfter: [a]}
  - {name: c, taskRef: {name: t}, runAfter: [a]}
  - {name: d, taskRef: {name: t}, runAfter: [b, c]}
""",
        {"a": "Succeeded", "b": "Succeeded", "c": "Succeeded", "d": "Succeeded"},
        R.PR_SUCCEEDED,
    ),
    (
        "when-on-a-result-and-a-param",
        """
params: [{name: env, default: prod}]
tasks:
  - {name: a, taskRef: {name: t}}
  - name: only-prod
    taskRef: {name: t}
    when:
      - {input: $(tasks.a.results.r), operator: in, values: [a-out]}
      - {input: $(params.env), operator: notin, values: [dev]}
  - name: only-dev
    taskRef: {name: t}
    when: [{cel: "'$(params.env)' == 'dev'"}]
""",
        {"a": "Succeeded", "only-prod": "Succeeded", "only-dev": f"Skipped: {R.SKIP_WHEN}"},
        R.PR_COMPLETED,
    ),
    (
        "empty-matrix-array-skips",
        """
params: [{name: list, type: array, default: []}]
tasks:
  - name: fan
    taskRef: {name: t}
    matrix:
      params: [{name: in, value: "$(params.list[*])"}]
""",
        {"fan": f"Skipped: {R.SKIP_EMPTY_MATRIX}"},
        R.PR_COMPLETED,
    ),
]


def _outcome(status: str, reason: str) -> str:
    return f"Skipped: {reason}" if status == "Skipped" else status


@pytest.mark.parametrize(("body", "expected", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_skipping_rules(
    make_plan: Callable[..., PipelineRunPlan], body: str, expected: dict[str, str], reason: str
) -> None:
    plan = make_plan(pipeline_yaml(body))
    state = Simulation(generic).run_pipeline(plan)
    assert {n: _outcome(t.status, t.skip_reason) for n, t in state.tasks.items()} == expected
    assert state.condition.reason == reason
    assert state.done and state.completion_time is not None


def test_ignored_failure_is_failure_ignored_and_counted(make_plan: Callable[..., PipelineRunPlan]) -> None:
    plan = make_plan(pipeline_yaml(CASES[3][1]))
    state = Simulation(generic).run_pipeline(plan)
    assert state.children["run-a"].condition.reason == R.TR_FAILURE_IGNORED
    assert state.condition.message == "Tasks Completed: 3 (Failed: 1 (Ignored: 1), Cancelled 0), Skipped: 0"


def test_invalid_result_reference_names_the_reference(make_plan: Callable[..., PipelineRunPlan]) -> None:
    state = Simulation(generic).run_pipeline(make_plan(pipeline_yaml(CASES[5][1])))
    assert state.condition.status == "False"
    assert "$(tasks.a.results.r) was not produced" in state.condition.message


def test_parallel_tasks_start_together_and_join_waits(make_plan: Callable[..., PipelineRunPlan]) -> None:
    sim = Simulation(generic)
    state = sim.run_pipeline(make_plan(pipeline_yaml(CASES[6][1])))
    started = {c.pipeline_task: c.time - sim.calls[0].time for c in sim.calls}
    assert started == {"a": 0.0, "b": 1.0, "c": 1.0, "d": 2.0}
    assert state.completion_time is not None and state.start_time is not None
    assert state.completion_time - state.start_time == 3.0


def test_concurrency_limit_queues_task_runs(make_plan: Callable[..., PipelineRunPlan]) -> None:
    body = "tasks:\n" + "".join(f"  - {{name: t{i}, taskRef: {{name: t}}}}\n" for i in range(5))
    sim = Simulation(generic, max_parallel=2)
    state = sim.run_pipeline(make_plan(pipeline_yaml(body)))
    starts = sorted(c.time - sim.calls[0].time for c in sim.calls)
    assert starts == [0.0, 0.0, 1.0, 1.0, 2.0]
    assert state.condition.reason == R.PR_SUCCEEDED


def test_skipped_tasks_and_when_expressions_in_status(make_plan: Callable[..., PipelineRunPlan]) -> None:
    from gitloop.pipeline.status import pipeline_run_manifest

    state = Simulation(generic).run_pipeline(make_plan(pipeline_yaml(CASES[1][1])))
    skipped = pipeline_run_manifest(state)["status"]["skippedTasks"]
    assert skipped[0] == {
        "name": "a",
        "reason": R.SKIP_WHEN,
        "whenExpressions": [{"input": "x", "operator": "in", "values": ["y"]}],
    }
    assert [s["name"] for s in skipped] == ["a", "uses-result", "after-missing"]
