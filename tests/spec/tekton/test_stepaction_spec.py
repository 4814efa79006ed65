"""StepAction documents and steps with ``ref``, read and checked as the table in
``testdata/stepactions/cases.yaml`` says (Tekton's docs/stepactions.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitloop.errors import SpecError
from gitloop.spec.tekton import Task, parse_text
from gitloop.spec.tekton.stepaction import StepAction
from gitloop.spec.tekton.steps import StepRef
from gitloop.spec.yaml import load_one

CASES: list[dict[str, Any]] = load_one(
    (Path(__file__).parent / "testdata" / "stepactions" / "cases.yaml").read_text(), source="cases.yaml"
)


def _text(case: dict[str, Any]) -> str:
    text = str(case["text"])
    for old, new in (case.get("replace") or {}).items():
        assert old in text, f"{case['name']}: {old!r} is not in the text"
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_stepaction_case(case: dict[str, Any]) -> None:
    text = _text(case)
    if "loads" in case:
        objects = parse_text(text, "case.yaml")
        assert [f"{o.kind}/{o.name}" for o in objects] == case["loads"]  # type: ignore[union-attr]
        return
    with pytest.raises(SpecError) as caught:
        parse_text(text, "case.yaml")
    assert caught.value.field == case["field"], str(caught.value)
    assert case["says"] in str(caught.value)
    assert "case.yaml:" in str(caught.value)


def test_stepaction_fields_are_read() -> None:
    objects = parse_text(_text(CASES[0]) + "\n---\n" + _text(CASES[1]), "case.yaml")
    beta = objects[1]
    assert isinstance(beta, StepAction)
    assert [(p.name, p.type, p.default) for p in beta.spec.params] == [
        ("who", "string", "you"),
        ("flags", "array", None),
    ]
    assert [r.name for r in beta.spec.results] == ["said"]
    assert (beta.spec.working_dir, beta.spec.args) == ("/workspace/src", ("$(params.flags[*])",))
    task = objects[3]
    assert isinstance(task, Task)
    clone, remote = task.spec.steps
    assert clone.ref == StepRef("git-clone") and clone.params[0].value == "$(params.repo)"
    assert clone.on_error == "continue" and clone.timeout == 60
    assert remote.ref is not None and remote.ref.resolver == "git"
    assert [p.name for p in remote.ref.params] == ["url", "pathInRepo"]
