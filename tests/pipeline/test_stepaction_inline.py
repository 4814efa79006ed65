"""Steps that reference StepActions, inlined before the run is planned: the table in
``testdata/stepaction_inline.yaml`` gives the files and the steps (or the error) expected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitloop.errors import SpecError
from gitloop.pipeline.inputs import load_inputs, pipeline_run_for, resolve_pipeline_tasks, task_run_for
from gitloop.spec.tekton import Step
from gitloop.spec.yaml import load_one

CASES: list[dict[str, Any]] = load_one(
    (Path(__file__).parent / "testdata" / "stepaction_inline.yaml").read_text(),
    source="stepaction_inline.yaml",
)


def _text(case: dict[str, Any]) -> str:
    text = str(case["text"])
    for old, new in (case.get("replace") or {}).items():
        assert old in text, f"{case['name']}: {old!r} is not in the text"
        text = text.replace(old, new)
    return text


def _fields(step: Step) -> dict[str, Any]:
    return {
        "name": step.name,
        "image": step.image,
        "working_dir": step.working_dir,
        "env": {e.name: e.value for e in step.env},
        "args": list(step.args),
        "script": step.script,
        "results": [r.name for r in step.results],
        "on_error": step.on_error,
        "timeout": step.timeout,
        "security_context": dict(step.security_context),
    }


def _check(steps: tuple[Step, ...], expected: list[dict[str, Any]]) -> None:
    assert len(steps) == len(expected)
    for step, want in zip(steps, expected, strict=True):
        assert step.ref is None and not step.params
        got = _fields(step)
        assert {k: got[k] for k in want} == want


def _inline(case: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "files.yaml"
    path.write_text(_text(case))
    inputs = load_inputs([path])
    if "pipeline" in case:
        run, spec, name, source = pipeline_run_for(inputs, None, [], [])
        tasks = resolve_pipeline_tasks(run, spec, name, source, inputs, [])
        for task, steps in case["pipeline"].items():
            _check(tasks[task].spec.steps, steps)
        after = {t.name: sorted(t.dependencies()) for t in spec.tasks}
        assert after == case["after"]  # a result a StepAction's param uses orders the tasks
        return
    _run, resolved = task_run_for(inputs, None, [], [], [])
    spec = resolved.spec
    _check(spec.merged_steps() if case.get("merged") else spec.steps, case["steps"])


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_stepaction_inline(case: dict[str, Any], tmp_path: Path) -> None:
    if "field" not in case:
        _inline(case, tmp_path)
        return
    with pytest.raises(SpecError) as caught:
        _inline(case, tmp_path)
    assert caught.value.field == case["field"], str(caught.value)
    assert case["says"] in str(caught.value)
    assert "files.yaml" in str(caught.value)
