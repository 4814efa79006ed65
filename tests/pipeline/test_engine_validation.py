"""Checks before a run starts: each bad input is a ``RunValidationError`` naming file, object, field."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from engine_helpers import GENERIC_TASK, generic, pipeline_yaml

from gitloop.pipeline import reasons as R
from gitloop.pipeline.plan import PipelineRunPlan, RunValidationError
from gitloop.pipeline.simulation import Simulation
from gitloop.pipeline.state import PipelineRunState, from_json, to_json

PARAMS = """
params:
  - {name: url}
  - {name: flags, type: array, default: []}
  - {name: level, default: info, enum: [info, debug]}
tasks:
  - {name: a, taskRef: {name: t}, params: [{name: in, value: $(params.url)}]}
"""

RUN = """
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: pr}
spec:
  pipelineRef: {name: p}
  params: PARAMS
  workspaces: WORKSPACES
"""

# pipeline body, run params, run workspaces -> reason, field, words
CASES: list[tuple[str, str, str, str, str, str, str]] = [
    (
        "missing-param",
        PARAMS,
        "[]",
        "[]",
        R.PR_PARAMETER_MISSING,
        "spec.params",
        "[User error] PipelineRun default/pr is missing some parameters required by Pipeline default/p: "
        "pipelineRun missing parameters: [url]",
    ),
    (
        "wrong-param-type",
        PARAMS,
        "[{name: url, value: u}, {name: flags, value: not-an-array}]",
        "[]",
        R.PR_PARAMETER_TYPE_MISMATCH,
        "spec.params[1].value",
        "wrong param type for 'flags': declared array, got string",
    ),
    (
        "not-in-enum",
        PARAMS,
        "[{name: url, value: u}, {name: level, value: trace}]",
        "[]",
        R.PR_INVALID_PARAM_VALUE,
        "spec.params[1].value",
        "is not in the enum list",
    ),
    (
        "workspace-not-bound",
        "workspaces: [{name: src}]\ntasks:\n  - {name: a, taskRef: {name: t}}\n",
        "[]",
        "[]",
        R.PR_INVALID_WORKSPACE_BINDING,
        "spec.workspaces",
        'pipeline requires workspace with name "src" be provided by pipelinerun',
    ),
    (
        "secret-workspace-not-in-files",
        "workspaces: [{name: creds}]\ntasks:\n  - {name: a, taskRef: {name: t}}\n",
        "[]",
        "[{name: creds, secret: {secretName: nowhere}}]",
        R.PR_INVALID_WORKSPACE_BINDING,
        "spec.workspaces[0]",
        "secret 'nowhere' is not in the input files",
    ),
    (
        "task-param-wrong-type",
        "tasks:\n  - {name: a, taskRef: {name: t}, params: [{name: in, value: [x, y]}]}\n",
        "[]",
        "[]",
        R.PR_PARAMETER_TYPE_MISMATCH,
        "spec.tasks[0].params[0].value",
        "param 'in' of Task 't' is declared string, pipeline task 'a' gives array",
    ),
    (
        "undeclared-result",
        "tasks:\n  - {name: a, taskRef: {name: t}}\n  - {name: b, taskRef: {name: t}, params: [{name: in, value: $(tasks.a.results.nope)}]}\n",
        "[]",
        "[]",
        R.PR_INVALID_RESULT_REFERENCE,
        "spec.tasks[1].params",
        "Task 't' of pipeline task 'a' declares no result 'nope'",
    ),
]


@pytest.mark.parametrize(
    ("body", "params", "workspaces", "reason", "field", "words"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_invalid_runs_are_refused(
    make_plan: Callable[..., PipelineRunPlan],
    body: str,
    params: str,
    workspaces: str,
    reason: str,
    field: str,
    words: str,
) -> None:
    text = pipeline_yaml(body) + RUN.replace("PARAMS", params).replace("WORKSPACES", workspaces)
    with pytest.raises(RunValidationError) as info:
        make_plan(text)
    error = info.value
    assert error.reason == reason
    assert error.field == field
    assert words in str(error)
    assert error.file and error.file.startswith("test.yaml:")
    assert error.exit_code == 2


def test_task_requiring_a_param_the_pipeline_task_omits(make_plan: Callable[..., PipelineRunPlan]) -> None:
    text = GENERIC_TASK.replace('{name: in, default: ""}', "{name: in}") + (
        "apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n  tasks:\n    - {name: a, taskRef: {name: t}}\n"
    )
    with pytest.raises(
        RunValidationError,
        match=r"invalid input params for task t: missing values for these params which have no default values: \[in\]",
    ) as info:
        make_plan(text)
    assert info.value.obj == "Pipeline/p" or info.value.obj == "PipelineRun/run"


def test_pipeline_run_state_round_trips_through_json(make_plan: Callable[..., PipelineRunPlan]) -> None:
    body = "tasks:\n  - {name: a, taskRef: {name: t}}\n  - {name: b, taskRef: {name: t}, when: [{input: a, operator: in, values: [b]}]}\n"
    state = Simulation(generic).run_pipeline(make_plan(pipeline_yaml(body)))
    data: Any = json.loads(json.dumps(to_json(state)))
    assert from_json(PipelineRunState, data) == state
