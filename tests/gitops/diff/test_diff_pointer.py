"""JSON pointers (RFC 6901) of ``ignoreDifferences.jsonPointers``: parsing and removal."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gitloop.errors import SpecError
from gitloop.gitops.diff import pointer

DOC: dict[str, Any] = {
    "metadata": {"labels": {"node-role.kubernetes.io/worker": "", "a~b": "x", "keep": "y"}},
    "spec": {"replicas": 3, "ports": [{"port": 80}, {"port": 443}], "": "empty-name"},
}


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("/spec/replicas", ("spec", "replicas")),
        (
            "/metadata/labels/node-role.kubernetes.io~1worker",
            ("metadata", "labels", "node-role.kubernetes.io/worker"),
        ),
        ("/metadata/labels/a~0b", ("metadata", "labels", "a~b")),
        ("/a~01", ("a~1",)),
        ("/spec/ports/0", ("spec", "ports", "0")),
        ("/", ("",)),
    ],
)
def test_parse(text: str, tokens: tuple[str, ...]) -> None:
    assert pointer.parse(text) == tokens


@pytest.mark.parametrize("text", ["spec/replicas", "", "/a~2", "/a~"])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(SpecError):
        pointer.parse(text)


@pytest.mark.parametrize(
    ("text", "removed", "path_after", "value_after"),
    [
        ("/spec/replicas", True, ("spec",), {"ports": [{"port": 80}, {"port": 443}], "": "empty-name"}),
        (
            "/metadata/labels/node-role.kubernetes.io~1worker",
            True,
            ("metadata", "labels"),
            {"a~b": "x", "keep": "y"},
        ),
        (
            "/metadata/labels/a~0b",
            True,
            ("metadata", "labels"),
            {"node-role.kubernetes.io/worker": "", "keep": "y"},
        ),
        ("/spec/ports/0", True, ("spec", "ports"), [{"port": 443}]),
        ("/spec/ports/1/port", True, ("spec", "ports"), [{"port": 80}, {}]),
        ("/spec/", True, ("spec",), {"replicas": 3, "ports": [{"port": 80}, {"port": 443}]}),
    ],
)
def test_remove(text: str, removed: bool, path_after: tuple[str, ...], value_after: Any) -> None:
    doc = copy.deepcopy(DOC)
    assert pointer.remove(doc, pointer.parse(text)) is removed
    found: Any = doc
    for token in path_after:
        found = found[token]
    assert found == value_after


@pytest.mark.parametrize(
    "text",
    [
        "/spec/missing",
        "/nothing/here/at/all",
        "/spec/ports/2",
        "/spec/ports/01",
        "/spec/ports/-",
        "/spec/replicas/x",
    ],
)
def test_remove_missing_path_changes_nothing(text: str) -> None:
    doc = copy.deepcopy(DOC)
    assert pointer.remove(doc, pointer.parse(text)) is False
    assert doc == DOC
