"""Implicit propagation of params and workspaces into embedded specs, and none into referenced ones:
the table in ``testdata/propagation.yaml``, each case prepared as ``gitloop`` prepares a run and driven
on the simulation, which shows the substituted script of every step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitloop.errors import SpecError
from gitloop.pipeline.prepare import Ask, PreparedRun, prepare_pipeline_run, prepare_task_run
from gitloop.pipeline.simulation import Simulation, StepScript, always
from gitloop.spec.yaml import load_one

CASES: list[dict[str, Any]] = load_one(
    (Path(__file__).parent / "testdata" / "propagation.yaml").read_text(), source="propagation.yaml"
)


def _prepare(case: dict[str, Any], tmp_path: Path) -> PreparedRun:
    text = str(case["text"])
    for old, new in (case.get("replace") or {}).items():
        text = text.replace(old, new)
    path = tmp_path / "run.yaml"
    path.write_text(text)
    prepare = prepare_task_run if "kind: TaskRun" in text else prepare_pipeline_run
    return prepare(Ask(files=[path]), root=tmp_path / "state")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_propagation_rule(case: dict[str, Any], tmp_path: Path) -> None:
    if "error" in case:
        with pytest.raises(SpecError) as caught:
            _prepare(case, tmp_path)
        assert caught.value.field == case["field"], str(caught.value)
        assert case["error"] in str(caught.value)
        return
    prepared = _prepare(case, tmp_path)
    sim = Simulation(always(StepScript()))
    if prepared.pipeline is not None:
        state = sim.run_pipeline(prepared.pipeline)
        assert state.condition is not None
        if "fails" in case:
            messages = [t.condition.message for t in state.children.values() if t.condition]
            assert state.condition.status == "False" and any(case["fails"] in m for m in messages), messages
            return
        assert state.condition.status == "True", state.condition
        declared = {t: [w.name for w in r.spec.workspaces] for t, r in prepared.pipeline.tasks.items()}
    else:
        assert prepared.task is not None
        sim.run_task(prepared.task)
        declared = {"tr": [w.name for w in prepared.task.spec.workspaces]}
    scripts = {f"{c.pipeline_task or c.task_run}/{c.step}": c.request for c in sim.calls}
    first_lines = {
        k: r.script.split("\n")[-2] if r.script.endswith("\n") else r.script.split("\n")[-1]
        for k, r in scripts.items()
    }
    assert {k: first_lines[k] for k in case["says"]} == case["says"]
    for key, args in (case.get("args") or {}).items():
        assert list(scripts[key].args) == args
    for task, names in (case.get("workspaces") or {}).items():
        assert declared[task] == names
