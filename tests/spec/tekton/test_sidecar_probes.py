"""A sidecar's ``readinessProbe`` as gitloop reads it: the table in ``testdata/sidecars/probes.yaml``."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from gitloop.errors import SpecError
from gitloop.spec.tekton import Task, parse_text
from gitloop.spec.yaml import load_one

CASES: list[dict[str, Any]] = load_one(
    (Path(__file__).parent / "testdata" / "sidecars" / "probes.yaml").read_text(), source="probes.yaml"
)
TASK = """\
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: with-sidecar}
spec:
  sidecars:
    - name: db
      image: postgres
      ports: [{name: http, containerPort: 8080}]
      readinessProbe: PROBE
  steps: [{name: s, image: alpine, script: "true"}]
"""


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_sidecar_probe(case: dict[str, Any]) -> None:
    text = TASK.replace("PROBE", case["probe_yaml"])
    if "field" in case:
        with pytest.raises(SpecError) as caught:
            parse_text(text, "task.yaml")
        assert caught.value.field == case["field"], str(caught.value)
        assert case["says"] in str(caught.value)
        return
    (task,) = parse_text(text, "task.yaml")
    assert isinstance(task, Task)
    probe = task.spec.sidecars[0].readiness
    assert probe is not None
    read = asdict(probe)
    read["command"], read["headers"] = list(probe.command), [list(h) for h in probe.headers]
    assert {k: read[k] for k in case["probe"]} == case["probe"]


def test_sidecar_without_probe_is_ready_when_started() -> None:
    (task,) = parse_text(TASK.replace("      readinessProbe: PROBE\n", ""), "task.yaml")
    assert isinstance(task, Task) and task.spec.sidecars[0].readiness is None
