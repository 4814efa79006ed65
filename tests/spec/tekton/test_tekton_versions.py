"""tekton.dev/v1beta1 is read where it matches tekton.dev/v1, and its other fields are refused saying so:
every file in testdata/v1beta1/ loads, or fails, as its row says."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitloop.errors import SpecError
from gitloop.spec.tekton import load

TESTDATA = Path(__file__).parent / "testdata" / "v1beta1"
READS = "gitloop reads tekton.dev/v1 (and tekton.dev/v1beta1 where it matches tekton.dev/v1"

VALID: dict[str, str] = {
    "task-step-resources.yaml": "Task/sized",
    "pipelinerun-renamed-fields.yaml": "PipelineRun/renamed",
}

# file -> (line, object, field, words the message must contain)
REFUSED: dict[str, tuple[int, str, str, str]] = {
    "task-pipelineresources.yaml": (
        6,
        "Task/old-inputs",
        "spec.resources",
        f"a tekton.dev/v1beta1 field gitloop does not read (PipelineResources, removed in tekton.dev/v1); {READS}",
    ),
    "taskrun-pipelineresources.yaml": (
        7,
        "TaskRun/old-run",
        "spec.resources",
        "a tekton.dev/v1beta1 field gitloop does not read (PipelineResources",
    ),
    "pipelinerun-serviceaccountnames.yaml": (
        7,
        "PipelineRun/accounts",
        "spec.serviceAccountNames",
        "(tekton.dev/v1 sets them with taskRunSpecs[].serviceAccountName)",
    ),
    "pipelinerun-task-service-account.yaml": (
        9,
        "PipelineRun/per-task",
        "spec.taskRunSpecs[0].taskServiceAccountName",
        "(tekton.dev/v1 calls it serviceAccountName)",
    ),
    "pipeline-clustertask.yaml": (
        10,
        "Pipeline/shared",
        "spec.tasks[0].taskRef.kind",
        "ClusterTask (a tekton.dev/v1beta1 kind, since removed from Tekton) is not read by gitloop",
    ),
}


def test_every_file_has_a_row() -> None:
    assert {p.name for p in TESTDATA.glob("*.yaml")} == set(VALID) | set(REFUSED)


@pytest.mark.parametrize("name", sorted(VALID))
def test_v1beta1_that_matches_v1_is_read(name: str) -> None:
    [obj] = load(TESTDATA / name)
    assert f"{obj.kind}/{obj.name}" == VALID[name]


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_v1beta1_without_a_v1_equivalent_is_refused_saying_so(name: str) -> None:
    line, obj, field, words = REFUSED[name]
    with pytest.raises(SpecError) as caught:
        load(TESTDATA / name)
    assert (caught.value.file, caught.value.obj, caught.value.field) == (
        f"{TESTDATA / name}:{line}",
        obj,
        field,
    )
    assert words in str(caught.value)


def test_an_unknown_tekton_version_names_what_is_read(tmp_path: Path) -> None:
    file = tmp_path / "v2.yaml"
    file.write_text(
        "apiVersion: tekton.dev/v2\nkind: Task\nmetadata: {name: t}\nspec: {}\n", encoding="utf-8"
    )
    with pytest.raises(SpecError) as caught:
        load(file)
    assert str(caught.value) == (
        f"{file}:1: Task/t: apiVersion: unsupported apiVersion 'tekton.dev/v2' for Task; {READS}, "
        "see docs/pipelines.md)"
    )
