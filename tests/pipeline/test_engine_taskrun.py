"""The TaskRun machine: what each step receives after substitution, and how its end is judged."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from gitloop.pipeline import reasons as R
from gitloop.pipeline.simulation import Simulation, StepCall, StepScript
from gitloop.pipeline.state import TaskRunState
from gitloop.pipeline.status import task_run_manifest
from gitloop.pipeline.taskrun import TaskRunPlan

TASK = """\
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {token: s3cret, user: bot}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {level: debug}
---
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: build}
spec:
  params:
    - {name: flags, type: array, default: [-v, --fast]}
    - {name: repo, type: object, properties: {url: {}, branch: {}}, default: {url: u, branch: main}}
    - {name: name, default: app}
  workspaces:
    - {name: src}
    - {name: cache, optional: true}
  results:
    - {name: digest}
    - {name: tags, type: array}
    - {name: meta, type: object, properties: {sha: {}}}
    - {name: from-step, value: $(steps.report.results.out)}
  stepTemplate:
    image: alpine
    env:
      - {name: LEVEL, valueFrom: {configMapKeyRef: {name: settings, key: level}}}
      - {name: OVERRIDDEN, value: template}
  steps:
    - name: compile
      script: |
        cd $(workspaces.src.path)
        echo "$(params.repo.url)@$(params.repo.branch) $(context.taskRun.name) $(context.task.name)"
      args: ["$(params.flags[*])", "last"]
      env:
        - {name: OVERRIDDEN, value: step}
        - {name: TOKEN, valueFrom: {secretKeyRef: {name: creds, key: token}}}
      envFrom:
        - {prefix: CREDS_, secretRef: {name: creds}}
      workingDir: $(workspaces.src.path)/sub
    - name: report
      results: [{name: out}]
      command: [sh, -c]
      args: ["echo $(step.results.out.path) $(steps.step-compile.exitCode.path) $(workspaces.cache.bound)"]
    - name: shebang
      script: |
        #!/usr/bin/env python3
        print("$(results.digest.path)")
---
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: tr}
spec:
  taskRef: {name: build}
  params:
    - {name: name, value: demo}
  workspaces:
    - {name: src, emptyDir: {}}
"""

GOOD_RESULTS = {"digest": "sha256:abc\n", "tags": '["v1", "latest"]', "meta": '{"sha": "123"}'}


def _run(plan: TaskRunPlan, behaviour: Callable[[StepCall], StepScript]) -> tuple[Simulation, TaskRunState]:
    sim = Simulation(behaviour)
    return sim, sim.run_task(plan)


def _results(call: StepCall) -> StepScript:
    if call.step == "compile":
        return StepScript(results=GOOD_RESULTS)
    if call.step == "report":
        return StepScript(step_results={"out": "from the step"})
    return StepScript()


def test_steps_see_everything_substituted(make_task_plan: Callable[..., TaskRunPlan]) -> None:
    sim, state = _run(make_task_plan(TASK), _results)
    compile_step, report, shebang = (c.request for c in sim.calls)
    assert compile_step.script == ('#!/bin/sh\nset -e\ncd /workspace/src\necho "u@main tr build"\n')
    assert compile_step.args == ("-v", "--fast", "last")
    assert compile_step.env == {
        "CREDS_token": "s3cret",
        "CREDS_user": "bot",
        "LEVEL": "debug",
        "OVERRIDDEN": "step",
        "TOKEN": "s3cret",
    }
    assert compile_step.working_dir == "/workspace/src/sub"
    assert compile_step.image == "alpine"
    assert report.command == ("sh", "-c")
    assert report.args == (
        "echo /tekton/steps/step-report/results/out /tekton/steps/step-compile/exitCode false",
    )
    assert (
        shebang.script.startswith("#!/usr/bin/env python3\n") and "/tekton/results/digest" in shebang.script
    )
    assert state.condition.reason == R.TR_SUCCEEDED
    assert state.condition.message == R.TR_ALL_STEPS_DONE


def test_results_are_typed_and_verbatim(make_task_plan: Callable[..., TaskRunPlan]) -> None:
    _, state = _run(make_task_plan(TASK), _results)
    assert state.results == {
        "digest": "sha256:abc\n",
        "tags": ["v1", "latest"],
        "meta": {"sha": "123"},
        "from-step": "from the step",
    }
    status = task_run_manifest(state)["status"]
    assert {"name": "tags", "type": "array", "value": ["v1", "latest"]} in status["results"]
    assert [s["terminationReason"] for s in status["steps"]] == ["Completed"] * 3


BAD_RESULTS: list[tuple[str, dict[str, str], str, str]] = [
    ("too-large", {"digest": "x" * 4097}, R.TR_RESULT_TOO_LARGE, "Result exceeded the maximum allowed limit"),
    ("array-not-json", {"tags": "v1,v2"}, R.TR_FAILED, "result 'tags' of type array is not valid JSON"),
    ("object-missing-key", {"meta": json.dumps({"other": "1"})}, R.TR_FAILED, "missing the keys ['sha']"),
]


@pytest.mark.parametrize(
    ("results", "reason", "words"), [c[1:] for c in BAD_RESULTS], ids=[c[0] for c in BAD_RESULTS]
)
def test_bad_results_fail_the_task_run(
    make_task_plan: Callable[..., TaskRunPlan], results: dict[str, str], reason: str, words: str
) -> None:
    _, state = _run(make_task_plan(TASK), lambda c: StepScript(results=results))
    assert state.condition.reason == reason
    assert words in state.condition.message


# behaviour of the first step -> (TaskRun reason, message, termination reasons of the 3 steps)
ENDINGS: list[tuple[str, StepScript, str, str, list[str]]] = [
    (
        "exit-code",
        StepScript(3),
        R.TR_FAILED,
        '"step-compile" exited with code 3',
        ["Error", "Skipped", "Skipped"],
    ),
    (
        "missing-binary",
        StepScript(
            start_failure="StartFailed",
            message='"step-compile" could not start: executable "mvn" was not found',
        ),
        R.TR_FAILED,
        '"step-compile" could not start: executable "mvn" was not found',
        ["Error", "Skipped", "Skipped"],
    ),
    (
        "image-pull",
        StepScript(start_failure="ImagePullFailed", message='the image "alpine" could not be pulled'),
        R.TR_IMAGE_PULL_FAILED,
        'the image "alpine" could not be pulled',
        ["Error", "Skipped", "Skipped"],
    ),
]


@pytest.mark.parametrize(
    ("first", "reason", "message", "steps"), [c[1:] for c in ENDINGS], ids=[c[0] for c in ENDINGS]
)
def test_failed_step_ends_the_task_run(
    make_task_plan: Callable[..., TaskRunPlan], first: StepScript, reason: str, message: str, steps: list[str]
) -> None:
    sim, state = _run(make_task_plan(TASK), lambda c: first if c.step == "compile" else StepScript())
    assert len(sim.calls) == 1
    assert (state.condition.reason, state.condition.message) == (reason, message)
    assert [s.reason for s in state.steps] == steps


def test_step_on_error_continue_keeps_its_exit_code(make_task_plan: Callable[..., TaskRunPlan]) -> None:
    text = TASK.replace("    - name: compile\n", "    - name: compile\n      onError: continue\n")
    sim, state = _run(make_task_plan(text), lambda c: StepScript(5 if c.step == "compile" else 0))
    assert len(sim.calls) == 3
    assert (state.steps[0].exit_code, state.steps[0].reason) == (5, R.STEP_CONTINUED)
    assert state.condition.reason == R.TR_SUCCEEDED


def test_missing_secret_is_a_container_config_error(make_task_plan: Callable[..., TaskRunPlan]) -> None:
    text = TASK.replace("secretKeyRef: {name: creds, key: token}", "secretKeyRef: {name: creds, key: nope}")
    sim, state = _run(make_task_plan(text), lambda c: StepScript())
    assert not sim.calls
    assert state.condition.reason == R.TR_CONFIG_ERROR
    assert state.condition.message == "couldn't find key nope in secret creds"


SIDECAR_AND_WHEN = """\
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: tr}
spec:
  params: [{name: mode, value: fast}]
  taskSpec:
    params: [{name: mode}]
    sidecars:
      - {name: db, image: postgres, script: "echo db for $(context.taskRun.name)"}
    steps:
      - {name: only-slow, image: alpine, script: echo slow, when: [{input: $(params.mode), operator: in, values: [slow]}]}
      - {name: always, image: alpine, script: echo always}
"""


def test_sidecars_start_first_and_step_when_skips(make_task_plan: Callable[..., TaskRunPlan]) -> None:
    sim, state = _run(make_task_plan(SIDECAR_AND_WHEN), lambda c: StepScript())
    assert [c.step for c in sim.calls] == ["always"]
    assert state.sidecars == ["sidecar-db"]
    assert [(s.reason, s.exit_code) for s in state.steps] == [(R.STEP_SKIPPED, 0), (R.STEP_COMPLETED, 0)]
    assert task_run_manifest(state)["status"]["sidecars"] == [{"name": "db", "container": "sidecar-db"}]


def test_task_run_timeout_and_default(make_task_plan: Callable[..., TaskRunPlan]) -> None:
    plan = make_task_plan(SIDECAR_AND_WHEN)
    assert plan.timeout == 3600.0
    timed = make_task_plan(SIDECAR_AND_WHEN, timeout=2.0)
    _, state = _run(timed, lambda c: StepScript(duration=10))
    assert (state.condition.reason, state.condition.message) == (
        R.TR_TIMEOUT,
        'TaskRun "tr" failed to finish within "2s"',
    )


def test_user_cancel(make_task_plan: Callable[..., TaskRunPlan]) -> None:
    sim = Simulation(lambda c: StepScript(duration=10))
    state = sim.run_task(make_task_plan(SIDECAR_AND_WHEN), cancel_at=3.0)
    assert (state.condition.reason, state.condition.message) == (R.TR_CANCELLED, R.TR_CANCELLED_BY_USER)
    assert state.steps[1].reason == R.STEP_CANCELLED


def test_state_round_trips_through_json(make_task_plan: Callable[..., TaskRunPlan]) -> None:
    from gitloop.pipeline.state import from_json, to_json

    _, state = _run(make_task_plan(TASK), _results)
    data: Any = json.loads(json.dumps(to_json(state)))
    assert from_json(TaskRunState, data) == state
