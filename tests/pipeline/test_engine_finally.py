"""``finally`` tasks and the execution-status variables they see, as tables on a virtual clock."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from engine_helpers import generic, pipeline_yaml

from gitloop.pipeline import reasons as R
from gitloop.pipeline.plan import PipelineRunPlan
from gitloop.pipeline.simulation import Simulation

FINALLY = """
finally:
  - name: report
    params:
      - {name: all, value: $(tasks.status)}
      - {name: a, value: $(tasks.a.status)}
      - {name: a-reason, value: $(tasks.a.reason)}
    taskSpec:
      params: [{name: all}, {name: a}, {name: a-reason}]
      steps:
        - image: alpine
          script: echo "$(params.all) $(params.a) $(params.a-reason)"
"""

# tasks section -> (what report sees: "$(tasks.status) $(tasks.a.status) $(tasks.a.reason)", run reason)
STATUS_CASES: list[tuple[str, str, str, str]] = [
    (
        "succeeded",
        "tasks:\n  - {name: a, taskRef: {name: t}}\n",
        "Succeeded Succeeded Succeeded",
        R.PR_SUCCEEDED,
    ),
    (
        "failed",
        "tasks:\n  - {name: a, taskRef: {name: t}, params: [{name: exit, value: '2'}]}\n",
        "Failed Failed Failed",
        R.PR_FAILED,
    ),
    (
        "skipped-is-completed-and-none",
        "tasks:\n  - {name: a, taskRef: {name: t}, when: [{input: a, operator: in, values: [b]}]}\n"
        "  - {name: b, taskRef: {name: t}}\n",
        "Completed None ",
        R.PR_COMPLETED,
    ),
    (
        "ignored-failure",
        "tasks:\n  - {name: a, taskRef: {name: t}, onError: continue, params: [{name: exit, value: '1'}]}\n",
        "Failed Failed FailureIgnored",
        R.PR_SUCCEEDED,
    ),
]


@pytest.mark.parametrize(
    ("tasks", "seen", "reason"), [c[1:] for c in STATUS_CASES], ids=[c[0] for c in STATUS_CASES]
)
def test_finally_sees_execution_status(
    make_plan: Callable[..., PipelineRunPlan], tasks: str, seen: str, reason: str
) -> None:
    sim = Simulation(generic)
    state = sim.run_pipeline(make_plan(pipeline_yaml(tasks + FINALLY)))
    report = next(c for c in sim.calls if c.pipeline_task == "report")
    assert report.request.script.splitlines()[-1] == f'echo "{seen}"'
    assert state.tasks["report"].status == "Succeeded"
    assert state.condition.reason == reason


def test_finally_runs_after_every_task_settles_even_after_a_failure(
    make_plan: Callable[..., PipelineRunPlan],
) -> None:
    body = """
tasks:
  - {name: a, taskRef: {name: t}, params: [{name: exit, value: "1"}]}
  - {name: slow, taskRef: {name: t}, params: [{name: sleep, value: "10"}]}
finally:
  - {name: cleanup, taskRef: {name: t}}
  - {name: notify, taskRef: {name: t}, when: [{input: $(tasks.status), operator: in, values: [Failed]}]}
  - {name: celebrate, taskRef: {name: t}, when: [{input: $(tasks.status), operator: in, values: [Succeeded]}]}
"""
    sim = Simulation(generic)
    state = sim.run_pipeline(make_plan(pipeline_yaml(body)))
    finals = {
        c.pipeline_task: c.time - sim.calls[0].time
        for c in sim.calls
        if c.pipeline_task in ("cleanup", "notify")
    }
    assert finals == {"cleanup": 10.0, "notify": 10.0}
    assert state.tasks["celebrate"].skip_reason == R.SKIP_WHEN
    assert state.condition.reason == R.PR_FAILED
    assert state.condition.message == "Tasks Completed: 4 (Failed: 1, Cancelled 0), Skipped: 1"
    assert state.finally_start_time == state.start_time + 10.0  # type: ignore[operator]


def test_failing_finally_fails_the_run(make_plan: Callable[..., PipelineRunPlan]) -> None:
    body = "tasks:\n  - {name: a, taskRef: {name: t}}\nfinally:\n  - {name: f, taskRef: {name: t}, params: [{name: exit, value: '1'}]}\n"
    state = Simulation(generic).run_pipeline(make_plan(pipeline_yaml(body)))
    assert (state.condition.status, state.condition.reason) == ("False", R.PR_FAILED)


def test_finally_missing_a_result_is_skipped_and_the_run_completes(
    make_plan: Callable[..., PipelineRunPlan],
) -> None:
    body = """
tasks:
  - {name: a, taskRef: {name: t}, params: [{name: write, value: "no"}]}
finally:
  - {name: f, taskRef: {name: t}, params: [{name: in, value: $(tasks.a.results.r)}]}
"""
    state = Simulation(generic).run_pipeline(make_plan(pipeline_yaml(body)))
    assert state.tasks["f"].skip_reason == R.SKIP_MISSING_RESULTS
    assert state.condition.reason == R.PR_COMPLETED


def test_pipeline_results_from_tasks_and_finally(make_plan: Callable[..., PipelineRunPlan]) -> None:
    body = """
results:
  - {name: from-a, value: $(tasks.a.results.r)}
  - {name: from-final, value: $(finally.f.results.r)}
  - {name: from-skipped, value: $(tasks.b.results.r)}
  - {name: joined, value: "$(tasks.a.results.r)+$(finally.f.results.r)"}
tasks:
  - {name: a, taskRef: {name: t}}
  - {name: b, taskRef: {name: t}, when: [{input: a, operator: in, values: [b]}]}
finally:
  - {name: f, taskRef: {name: t}}
"""
    state = Simulation(generic).run_pipeline(make_plan(pipeline_yaml(body)))
    assert state.results == [
        {"name": "from-a", "value": "a-out"},
        {"name": "from-final", "value": "f-out"},
        {"name": "joined", "value": "a-out+f-out"},
    ]
