"""Table-driven tests of the Go template subset: every case in testdata/*.yaml is one template, its data
and options, and the exact output or a substring of the error Go would give."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from gitloop.errors import SpecError
from gitloop.spec.gotemplate import FUNCTIONS, parse
from gitloop.spec.yaml import load_one, read_text

TESTDATA = Path(__file__).parent / "testdata"


def _cases() -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(TESTDATA.glob("*.yaml")):
        for case in load_one(read_text(path), source=str(path)):
            found.append((f"{path.stem}: {case['name']}", case))
    return found


CASES = _cases()


@pytest.mark.parametrize("case", [c for _, c in CASES], ids=[i for i, _ in CASES])
def test_case(case: dict[str, Any]) -> None:
    assert ("want" in case) != ("error" in case), "a case has exactly one of want and error"
    if "error" in case:
        with pytest.raises(SpecError) as raised:
            parse(case["template"], name="t", options=case.get("options", ())).execute(case.get("data"))
        assert case["error"] in str(raised.value)
    else:
        out = parse(case["template"], name="t", options=case.get("options", ())).execute(case.get("data"))
        assert out == case["want"]


def test_every_function_has_a_case() -> None:
    text = "\n".join(str(case["template"]) for _, case in CASES)
    untested = [name for name in FUNCTIONS if not re.search(rf"(?<![\w.$]){name}\b", text)]
    assert untested == []


@pytest.mark.parametrize("name", ["env", "expandenv", "getHostByName"])
def test_functions_argo_cd_removes_are_not_defined(name: str) -> None:
    with pytest.raises(SpecError, match=f'function "{name}" not defined'):
        parse("{{ " + name + ' "HOME" }}', name="t")


def test_parse_results_are_cached_and_reusable() -> None:
    first = parse("{{ .a }}", name="n", options=["missingkey=error"])
    assert parse("{{ .a }}", name="n", options=("missingkey=error",)) is first
    assert [first.execute({"a": i}) for i in range(3)] == ["0", "1", "2"]
