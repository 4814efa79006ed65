"""The TaskRun machine with sidecar readiness probes: it asks for the probes once the sidecars are
started, starts no step before they pass, and fails the attempt with the driver's reason when they
do not; a cancellation while waiting ends the TaskRun as any cancellation does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gitloop.pipeline.actions import (
    Cancel,
    Prepare,
    Prepared,
    ProbeSidecars,
    Release,
    Released,
    RunStep,
    SidecarsReady,
    SidecarsStarted,
    StartSidecars,
)
from gitloop.pipeline.taskrun import SIDECAR_READY_LIMIT, TaskRunPlan, decide, initial_state
from gitloop.ports import SandboxPaths

TASK = """\
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: tr}
spec:
  taskSpec:
    sidecars:
      - {name: web, image: python, command: [serve], readinessProbe: {httpGet: {port: 8080}}}
      - {name: db, image: pg, command: [db], readinessProbe: {exec: {command: [pg_isready]}}}
      - {name: plain, image: alpine, command: [sleep, "60"]}
    steps: [{name: s, image: alpine, script: "true"}]
"""
PATHS = SandboxPaths("/r", "/s", "/h", "/c", {})


def _started(plan: TaskRunPlan) -> tuple[Any, list[Any]]:
    state = initial_state(plan)
    (prepare,) = decide(plan, state, [], 1.0)
    assert isinstance(prepare, Prepare)
    assert "sidecar-db-probe" in prepare.request.containers  # the exec probe runs like a container
    (start,) = decide(plan, state, [Prepared(state.sandbox, PATHS)], 2.0)
    assert isinstance(start, StartSidecars)
    return state, decide(plan, state, [SidecarsStarted(state.sandbox)], 3.0)


def test_sidecar_probes_are_asked_for_before_any_step(make_task_plan: Callable[..., TaskRunPlan]) -> None:
    plan = make_task_plan(TASK)
    state, actions = _started(plan)
    (probe,) = actions
    assert isinstance(probe, ProbeSidecars) and probe.limit == SIDECAR_READY_LIMIT
    assert [(p.sidecar, p.probe.kind) for p in probe.probes] == [
        ("sidecar-web", "httpGet"),
        ("sidecar-db", "exec"),
    ]
    db = probe.probes[1].request
    assert db is not None and (db.name, db.command, db.image) == ("sidecar-db-probe", ("pg_isready",), "pg")
    assert decide(plan, state, [], 4.0) == []  # nothing runs while the probes are pending
    (run,) = decide(plan, state, [SidecarsReady(state.sandbox)], 5.0)
    assert isinstance(run, RunStep) and run.index == 0


@pytest.mark.parametrize("cancel", [False, True])
def test_sidecar_not_ready_fails_or_cancels_without_a_step(
    cancel: bool, make_task_plan: Callable[..., TaskRunPlan]
) -> None:
    plan = make_task_plan(TASK)
    state, _ = _started(plan)
    observed = Cancel("stop") if cancel else SidecarsReady(state.sandbox, 'sidecar "sidecar-web" not ready')
    (release,) = decide(plan, state, [observed], 4.0)  # no step was ever asked for
    assert isinstance(release, Release)
    assert decide(plan, state, [Released(state.sandbox)], 5.0) == []
    assert state.done and state.condition.status == "False"
    if cancel:
        assert state.condition.reason == "TaskRunCancelled"
    else:
        assert (state.condition.reason, state.condition.message) == (
            "Failed",
            'sidecar "sidecar-web" not ready',
        )
    assert all(s.reason != "Completed" for s in state.steps)


def test_sidecar_without_probes_runs_the_steps_at_once(make_task_plan: Callable[..., TaskRunPlan]) -> None:
    plan = make_task_plan(
        TASK.replace("readinessProbe: {httpGet: {port: 8080}}", "ports: []").replace(
            ", readinessProbe: {exec: {command: [pg_isready]}}", ""
        )
    )
    _state, actions = _started_no_probe(plan)
    assert len(actions) == 1 and isinstance(actions[0], RunStep)


def _started_no_probe(plan: TaskRunPlan) -> tuple[Any, list[Any]]:
    state = initial_state(plan)
    decide(plan, state, [], 1.0)
    decide(plan, state, [Prepared(state.sandbox, PATHS)], 2.0)
    return state, decide(plan, state, [SidecarsStarted(state.sandbox)], 3.0)
