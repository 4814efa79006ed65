"""render_application from files: each testdata/templates-*.yaml is one ApplicationSet template, one
parameter set and the Application Argo CD renders (or the error, as substrings); flatten_params from a table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitloop.appset.templates import flatten_params, json_patch, render_application
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


DOC = {"a": {"b": 1, "c": [1, 2]}}
JSON_PATCHES = [
    ([{"op": "remove", "path": "/a/b"}], {"a": {"c": [1, 2]}}),
    ([{"op": "move", "from": "/a/b", "path": "/x"}], {"a": {"c": [1, 2]}, "x": 1}),
    ([{"op": "copy", "from": "/a/c", "path": "/a/d"}], {"a": {"b": 1, "c": [1, 2], "d": [1, 2]}}),
    ([{"op": "add", "path": "/a/c/0", "value": 0}], {"a": {"b": 1, "c": [0, 1, 2]}}),
    ([{"op": "add", "path": "/a/k~1j", "value": 1}], {"a": {"b": 1, "c": [1, 2], "k/j": 1}}),
    ([{"op": "replace", "path": "/a/c/1", "value": 9}], {"a": {"b": 1, "c": [1, 9]}}),
]


@pytest.mark.parametrize(("operations", "want"), JSON_PATCHES)
def test_json_patch(operations: list[Any], want: dict[str, Any]) -> None:
    assert json_patch(DOC, operations) == want
    assert DOC == {"a": {"b": 1, "c": [1, 2]}}


JSON_PATCH_ERRORS = [
    ([{"op": "test", "path": "/a/b", "value": 2}], "test of '/a/b' failed"),
    ([{"op": "merge", "path": "/a"}], "unknown JSON patch op 'merge'"),
    ([{"op": "add", "path": "/a/c/5", "value": 1}], "index '5' of '/a/c/5' is out of range"),
    ([{"op": "remove", "path": "/a/zz"}], "path '/a/zz' does not exist"),
    ([{"op": "add", "path": "a/b", "value": 1}], "is not a JSON pointer"),
    ([{"op": "copy", "path": "/a/d"}], "copy needs from"),
    (["add"], "a JSON patch operation is a mapping with op and path"),
]


@pytest.mark.parametrize(("operations", "message"), JSON_PATCH_ERRORS)
def test_json_patch_errors(operations: list[Any], message: str) -> None:
    with pytest.raises(SpecError, match="ApplicationSet/x: templatePatch\\[0\\]") as raised:
        json_patch(DOC, operations, where="ApplicationSet/x")
    assert message in str(raised.value)
