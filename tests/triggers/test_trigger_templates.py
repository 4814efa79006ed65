"""Rendering resource templates: ``$(tt.params.x)``, ``$(uid)``, defaults, labels, one pass."""

from __future__ import annotations

from typing import Any

import pytest

from gitloop.spec.triggers import parse_text
from gitloop.triggers import EVENT_ID_LABEL, LISTENER_LABEL, TRIGGER_LABEL, add_labels, render

TEMPLATE = """
apiVersion: triggers.tekton.dev/v1beta1
kind: TriggerTemplate
metadata: {name: tt}
spec:
  params:
    - {name: revision}
    - {name: message, default: "no message"}
    - {name: dotted.name}
  resourcetemplates:
    - apiVersion: tekton.dev/v1
      kind: PipelineRun
      metadata:
        generateName: build-$(tt.params.revision)-
        labels: {run: $(uid)}
      spec:
        params:
          - {name: revision, value: $(tt.params.revision)}
          - {name: message, value: "$(tt.params.message)"}
          - {name: both, value: "$(tt.params.revision)@$(tt.params.dotted.name)"}
          - {name: id, value: $(uid)}
          - {name: count, value: 3}
          - {name: shell, value: "$(date) $(params.kept)"}
        workspaces:
          - {name: $(tt.params.revision), emptyDir: {}}
    - apiVersion: v1
      kind: ConfigMap
      metadata: {name: note-$(uid)}
      data:
        $(tt.params.revision): $(tt.params.message)
"""


def _spec() -> Any:
    return parse_text(TEMPLATE).catalog.templates["tt"].spec


# params -> (path into the first resource, expected)
CASES: list[tuple[dict[str, str], list[tuple[tuple[Any, ...], Any]]]] = [
    (
        {"revision": "abc123", "message": "hi", "dotted.name": "d"},
        [
            (("metadata", "generateName"), "build-abc123-"),
            (("metadata", "labels", "run"), "uid-1"),
            (("spec", "params", 0, "value"), "abc123"),
            (("spec", "params", 1, "value"), "hi"),
            (("spec", "params", 2, "value"), "abc123@d"),
            (("spec", "params", 3, "value"), "uid-1"),
            (("spec", "params", 4, "value"), 3),
            (("spec", "params", 5, "value"), "$(date) $(params.kept)"),
            (("spec", "workspaces", 0, "name"), "abc123"),
        ],
    ),
    (
        {"revision": 'quote"d\nline', "message": "$(tt.params.revision) $(uid)", "dotted.name": ""},
        [
            (("spec", "params", 0, "value"), 'quote"d\nline'),
            (("spec", "params", 1, "value"), "$(tt.params.revision) $(uid)"),
            (("spec", "params", 2, "value"), 'quote"d\nline@'),
        ],
    ),
]


@pytest.mark.parametrize(("params", "expected"), CASES)
def test_render(params: dict[str, str], expected: list[tuple[tuple[Any, ...], Any]]) -> None:
    first, second = render(_spec(), params, "uid-1")
    for path, value in expected:
        found: Any = first
        for step in path:
            found = found[step]
        assert found == value, path
    assert second["metadata"]["name"] == "note-uid-1"
    assert second["data"] == {params["revision"]: params["message"]}


def test_render_makes_new_objects_every_time() -> None:
    spec = _spec()
    first = render(spec, {"revision": "a", "message": "m", "dotted.name": "d"}, "u1")
    first[0]["spec"]["params"].clear()
    again = render(spec, {"revision": "b", "message": "m", "dotted.name": "d"}, "u2")
    assert again[0]["spec"]["params"][0]["value"] == "b"
    assert spec.resource_templates[0]["spec"]["params"][0]["value"] == "$(tt.params.revision)"


def test_labels_replace_and_add() -> None:
    resource: dict[str, Any] = {
        "kind": "PipelineRun",
        "metadata": {"labels": {"app": "x", LISTENER_LABEL: "old"}},
    }
    add_labels(resource, "el", "push", "event-9")
    assert resource["metadata"]["labels"] == {
        "app": "x",
        LISTENER_LABEL: "el",
        TRIGGER_LABEL: "push",
        EVENT_ID_LABEL: "event-9",
    }
    bare: dict[str, Any] = {"kind": "TaskRun"}
    assert add_labels(bare, "el", "", "e")["metadata"]["labels"][TRIGGER_LABEL] == ""
