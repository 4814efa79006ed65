"""render_application from files: each testdata/templates-*.yaml is one ApplicationSet template, one
parameter set and the Application Argo CD renders (or the error, as substrings); flatten_params from a table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitloop.appset.templates import flatten_params, render_application
from gitloop.errors import SpecError
from gitloop.spec.yaml import load_one, read_text

TESTDATA = Path(__file__).parent / "testdata"
CASES = sorted(TESTDATA.glob("templates-*.yaml"))


def _render(case: dict[str, Any]) -> dict[str, Any]:
    return render_application(
        case["template"],
        case["params"],
        go_template=case["go_template"],
        options=case.get("options", ()),
        template_patch=case.get("template_patch"),
        where="ApplicationSet/test",
    )


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_render(path: Path) -> None:
    case = load_one(read_text(path), source=str(path))
    assert ("want" in case) != ("error" in case), "a case has exactly one of want and error"
    if "want" in case:
        assert _render(case) == case["want"]
        return
    with pytest.raises(SpecError) as raised:
        _render(case)
    for part in case["error"]:
        assert part in str(raised.value)


def test_rendering_leaves_template_and_params_unchanged() -> None:
    template = {"metadata": {"name": '{{ $_ := set .labels "x" "y" }}{{ .labels.x }}'}}
    params = {"labels": {"a": "b"}}
    assert render_application(template, params, go_template=True) == {"metadata": {"name": "y"}}
    assert params == {"labels": {"a": "b"}}
    assert template == {"metadata": {"name": '{{ $_ := set .labels "x" "y" }}{{ .labels.x }}'}}


FLATTEN = [
    ({"a": "x"}, {"a": "x"}),
    ({"a": {"b": 1, "c": ["x", "y"]}}, {"a.b": "1", "a.c.0": "x", "a.c.1": "y"}),
    ({"t": True, "f": 1000000.0, "g": 0.5, "n": None}, {"t": "true", "f": "1e+06", "g": "0.5", "n": "<nil>"}),
    ({"metadata": {"labels": {"env": "prod"}}, "name": "c1"}, {"metadata.labels.env": "prod", "name": "c1"}),
    ({"empty": {}, "none": []}, {}),
]


@pytest.mark.parametrize(("params", "flat"), FLATTEN)
def test_flatten_params(params: dict[str, Any], flat: dict[str, str]) -> None:
    assert flatten_params(params) == flat
