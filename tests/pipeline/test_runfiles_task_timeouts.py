"""A PipelineRun's per-task ``taskRunSpecs[].timeout`` overrides the pipeline task's own ``timeout`` (on a
virtual clock), for that task only, as Tekton's TaskRun gets its timeout from the run's spec first."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from engine_helpers import generic, pipeline_yaml

from gitloop.pipeline import reasons as R
from gitloop.pipeline.plan import PipelineRunPlan
from gitloop.pipeline.simulation import Simulation
from gitloop.spec.tekton.runs import PipelineTaskRunSpec

BODY = """\
tasks:
  - {name: a, taskRef: {name: t}, timeout: 1h, params: [{name: sleep, value: '60'}]}
  - {name: b, taskRef: {name: t}, timeout: 5s, params: [{name: sleep, value: '3'}]}
"""

# taskRunSpecs timeouts -> (reason, seconds taken) of a and b
CASES: list[tuple[dict[str, float], tuple[str, float], tuple[str, float]]] = [
    ({}, (R.TR_SUCCEEDED, 60.0), (R.TR_SUCCEEDED, 3.0)),
    ({"a": 2.0}, (R.TR_TIMEOUT, 2.0), (R.TR_SUCCEEDED, 3.0)),
    ({"b": 1.0}, (R.TR_SUCCEEDED, 60.0), (R.TR_TIMEOUT, 1.0)),
    ({"a": 0.0, "b": 4.0}, (R.TR_SUCCEEDED, 60.0), (R.TR_SUCCEEDED, 3.0)),
]


@pytest.mark.parametrize(("overrides", "a", "b"), CASES)
def test_task_run_spec_timeout_overrides_the_pipeline_task_timeout(
    make_plan: Callable[..., PipelineRunPlan],
    overrides: dict[str, float],
    a: tuple[str, float],
    b: tuple[str, float],
) -> None:
    specs = tuple(PipelineTaskRunSpec(name, timeout=seconds) for name, seconds in overrides.items())
    plan = make_plan(pipeline_yaml(BODY), task_run_specs=specs)
    state = Simulation(generic).run_pipeline(plan)
    for task, (reason, took) in (("a", a), ("b", b)):
        child = state.children[f"run-{task}"]
        assert child.condition.reason == reason, child.condition
        assert child.completion_time is not None and child.start_time is not None
        assert child.completion_time - child.start_time == took
