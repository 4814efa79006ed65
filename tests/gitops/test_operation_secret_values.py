"""A stored sync operation never holds a Secret's values (gitloop.gitops.driver): every Secret task's
manifest is redacted by the one rule (``spec.redact``: ``data`` and ``stringData`` values masked, whatever
the Secret's apiVersion), marked so that an unfinished operation is planned again on resume; other objects
are kept as they are."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from gitloop.gitops.driver import _VALUES_NOT_KEPT, _without_secret_values
from gitloop.spec.redact import REDACTED

SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "db"},
    "data": {"password": "UGw0MW4t"},
    "stringData": {"token": "T0k3n"},
}
CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "UGw0MW4t"}}
NOT_CORE = {"apiVersion": "example.com/v1", "kind": "Secret", "metadata": {"name": "x"}, "data": {"a": "b"}}


def _doc(*manifests: dict[str, Any]) -> dict[str, Any]:
    tasks = [{"phase": "Sync", "manifest": copy.deepcopy(m)} for m in manifests]
    return {
        "id": "op",
        "state": {"phase": "Running", "plan": {"tasks": tasks, "other": 1}},
        "finishedAt": None,
    }


CASES = [
    ("a Secret's values masked", _doc(SECRET), [{"password": REDACTED}], [True]),
    (
        "other kinds kept",
        _doc(CONFIG_MAP, SECRET),
        [{"a": "UGw0MW4t"}, {"password": REDACTED}],
        [False, True],
    ),
    ("a Secret of another apiVersion is masked too", _doc(NOT_CORE), [{"a": REDACTED}], [True]),
]


@pytest.mark.parametrize(("doc", "data", "marked"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_secret_values_are_not_stored(
    doc: dict[str, Any], data: list[dict[str, str]], marked: list[bool]
) -> None:
    original = json.dumps(doc, sort_keys=True)
    stored = _without_secret_values(doc)
    assert json.dumps(doc, sort_keys=True) == original, "the running operation is not changed"
    tasks = stored["state"]["plan"]["tasks"]
    assert [t["manifest"]["data"] for t in tasks] == data
    assert [bool(t.get(_VALUES_NOT_KEPT)) for t in tasks] == marked
    assert all(
        set((t["manifest"].get("stringData") or {}).values()) <= {REDACTED}
        for t in tasks
        if t.get(_VALUES_NOT_KEPT)
    )
    assert "T0k3n" not in json.dumps(stored) and "UGw0MW4t" not in json.dumps(
        stored["state"]["plan"]["tasks"][-1]
    )
    assert stored["state"]["plan"]["other"] == 1 and stored["id"] == "op"


def test_an_operation_without_a_plan_is_kept() -> None:
    doc = {"id": "op", "state": None, "finishedAt": None}
    assert _without_secret_values(doc) == doc
