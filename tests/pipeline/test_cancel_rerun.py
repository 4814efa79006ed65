"""The cancel and rerun decisions, pure: which ``spec.status`` a cancel sets, where a run is from its
record, how a queued run ends, the rerun's name (Tekton Dashboard's rule) and its copy of the resource."""

from __future__ import annotations

from typing import Any

import pytest

from gitloop.errors import UsageError
from gitloop.pipeline.cancel import cancel_status, cancelled_resource, not_started, run_phase
from gitloop.pipeline.records import ACTIVE_LABEL, QUEUED_LABEL
from gitloop.pipeline.rerun import (
    RERUN_OF_LABEL,
    new_suffix,
    rerun_name,
    rerun_prefix,
    rerun_resource,
    stored_resource,
)
from gitloop.ports import StoredObject

RESOURCE: dict[str, Any] = {
    "apiVersion": "tekton.dev/v1",
    "kind": "PipelineRun",
    "metadata": {
        "name": "build-x1z2q",
        "generateName": "build-",
        "uid": "u-1",
        "labels": {"triggers.tekton.dev/eventlistener": "github", "tekton.dev/pipeline": "build"},
    },
    "spec": {"pipelineRef": {"name": "build"}, "params": [{"name": "revision", "value": "abc"}]},
}


def _record(
    labels: dict[str, str], doc: dict[str, object] | None = None, kind: str = "PipelineRun"
) -> StoredObject:
    return StoredObject(kind, "build-x1z2q", doc or {}, labels, 1.0, 1.0)


@pytest.mark.parametrize(
    ("kind", "asked", "status"),
    [
        ("PipelineRun", None, "Cancelled"),
        ("PipelineRun", "Cancelled", "Cancelled"),
        ("PipelineRun", "CancelledRunFinally", "CancelledRunFinally"),
        ("PipelineRun", "StoppedRunFinally", "StoppedRunFinally"),
        ("TaskRun", None, "TaskRunCancelled"),
        ("TaskRun", "TaskRunCancelled", "TaskRunCancelled"),
        ("TaskRun", "Cancelled", "TaskRunCancelled"),
    ],
)
def test_the_status_a_cancel_sets(kind: str, asked: str | None, status: str) -> None:
    assert cancel_status(kind, asked) == status


@pytest.mark.parametrize(
    ("kind", "asked"), [("PipelineRun", "Stop"), ("PipelineRun", "TaskRunCancelled"), ("TaskRun", "x")]
)
def test_a_status_tekton_does_not_have_is_refused(kind: str, asked: str) -> None:
    with pytest.raises(UsageError):
        cancel_status(kind, asked)


def test_where_a_run_is_comes_from_its_labels() -> None:
    assert run_phase(_record({QUEUED_LABEL: "true"})) == "queued"
    assert run_phase(_record({ACTIVE_LABEL: "true"})) == "running"
    assert run_phase(_record({"gitloop.dev/reason": "Succeeded"})) == "finished"


def test_a_queued_run_ends_as_tekton_ends_a_run_created_cancelled() -> None:
    assert not_started("PipelineRun", "b") == ("Cancelled", 'PipelineRun "b" was cancelled')
    assert not_started("TaskRun", "t") == ("TaskRunCancelled", "TaskRun cancelled by the user.")
    cancelled = cancelled_resource(RESOURCE, "StoppedRunFinally")
    assert cancelled["spec"]["status"] == "StoppedRunFinally"
    assert "status" not in RESOURCE["spec"]  # a copy


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        ("build-x1z2q", "build-x1z2q-r-"),
        ("build-x1z2q-r-abcde", "build-x1z2q-r-"),  # a rerun of a rerun does not grow the name
        ("r-x", "r-x-r-"),
        ("build", "build-r-"),
    ],
)
def test_the_rerun_prefix_is_tekton_dashboards(name: str, prefix: str) -> None:
    assert rerun_prefix(name) == prefix


def test_a_rerun_name_is_a_generated_name() -> None:
    suffix = new_suffix()
    assert len(suffix) == 5 and suffix.isalnum() and suffix == suffix.lower()
    assert rerun_name("build-x1z2q", "ab1cd") == "build-x1z2q-r-ab1cd"
    long = rerun_name("a" * 80, "ab1cd")
    assert len(long) == 63 and long.endswith("ab1cd")


def test_the_rerun_copies_the_resource_under_its_new_name() -> None:
    copy = rerun_resource({**RESOURCE, "status": {"conditions": []}}, "build-x1z2q-r-ab1cd", of="build-x1z2q")
    assert copy["metadata"] == {
        "name": "build-x1z2q-r-ab1cd",
        "labels": {"triggers.tekton.dev/eventlistener": "github", RERUN_OF_LABEL: "build-x1z2q"},
    }
    assert copy["spec"] == RESOURCE["spec"] and "status" not in copy
    cancelled = cancelled_resource(RESOURCE, "Cancelled")
    assert "status" not in rerun_resource(cancelled, "n", of="o")["spec"]  # the rerun runs


def test_the_resource_of_a_queued_run_is_in_its_record() -> None:
    assert stored_resource(_record({}, {"resource": RESOURCE})) == RESOURCE


def test_the_resource_of_a_run_that_ran_is_in_its_request() -> None:
    text = "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: build-x1z2q}\nspec: {pipelineRef: {name: build}}\n"
    request = {
        "sources": [{"path": "PipelineRun/build-x1z2q", "text": text}, {"path": "/p.yaml", "text": "x: 1"}]
    }
    found = stored_resource(_record({}, {"request": request}))
    assert found["spec"] == {"pipelineRef": {"name": "build"}}


def test_a_run_whose_resource_was_not_kept_cannot_run_again() -> None:
    request = {"sources": [{"path": "/files/run.yaml", "text": "kind: PipelineRun"}]}
    with pytest.raises(UsageError, match="not kept"):
        stored_resource(_record({}, {"request": request}))
