"""The store records of runs, in the one module that writes them: the pending, not-started and
failed-to-prepare shapes that ``gitloop pipeline list|get``, the API and the lineage read, the kept
request, and reading a run back with its TaskRuns in order."""

from __future__ import annotations

from typing import Any

import pytest

from gitloop.errors import UsageError
from gitloop.pipeline import records
from gitloop.pipeline.inputs import KeptSource
from gitloop.store import MemoryStore

RUN: dict[str, Any] = {
    "apiVersion": "tekton.dev/v1",
    "kind": "PipelineRun",
    "metadata": {"name": "build-1"},
    "spec": {"pipelineRef": {"name": "build"}},
    "status": {"ignored": True},
}


def test_a_queued_run_is_recorded_pending_with_its_resource() -> None:
    store = MemoryStore()
    records.record_pending(store, RUN, event_id="e1", listener="github", now=0.0)
    found = store.get("PipelineRun", "build-1")
    assert found is not None and records.is_pending(store, "PipelineRun", "build-1")
    assert found.labels == {
        "gitloop.dev/queued": "true",
        "gitloop.dev/listener": "github",
        "gitloop.dev/reason": "Pending",
    }
    assert found.doc["resource"] == RUN and found.doc["eventId"] == "e1"
    assert found.doc["manifest"] == {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {"name": "build-1"},
        "spec": {"pipelineRef": {"name": "build"}},
        "status": {
            "conditions": [
                {
                    "type": "Succeeded",
                    "status": "Unknown",
                    "reason": "Pending",
                    "message": "queued by gitloop serve",
                    "lastTransitionTime": "1970-01-01T00:00:00Z",
                }
            ]
        },
    }


def test_a_run_that_could_not_start_ends_false_and_is_no_longer_pending() -> None:
    store = MemoryStore()
    records.record_pending(store, RUN, event_id="e1", listener="github", now=0.0)
    manifest = records.record_not_started(
        store, RUN, listener="github", reason="CouldntGetPipeline", message="no Pipeline", now=60.0
    )
    found = store.get("PipelineRun", "build-1")
    assert found is not None and found.doc["manifest"] == manifest
    assert found.labels == {"gitloop.dev/listener": "github", "gitloop.dev/reason": "CouldntGetPipeline"}
    assert manifest["status"]["completionTime"] == "1970-01-01T00:01:00Z"
    assert manifest["status"]["conditions"][0]["status"] == "False"
    assert not records.is_pending(store, "PipelineRun", "build-1")


@pytest.mark.parametrize("kind", ["PipelineRun", "TaskRun"])
def test_a_run_that_failed_validation_is_kept_failed(kind: str) -> None:
    store = MemoryStore()
    records.failed_to_prepare(store, kind, "bad", "ParameterMissing", "param x is missing", 0.0)
    found = store.get(kind, "bad")
    assert found is not None and found.labels == {"gitloop.dev/reason": "ParameterMissing"}
    condition = found.doc["manifest"]["status"]["conditions"][0]  # type: ignore[index]
    assert (condition["status"], condition["reason"]) == ("False", "ParameterMissing")
    assert set(found.doc) == {"manifest", "state"}


def test_the_kept_request_drops_source_text_past_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records, "MAX_KEPT_SOURCE", 10)
    doc = records.request_doc(
        name=None,
        params=["a=b"],
        workspaces=[],
        executor="local",
        timeout=None,
        catalog_dirs=[],
        sources=[KeptSource("one.yaml", "x" * 8), KeptSource("two.yaml", "y" * 8)],
    )
    assert doc["name"] == "" and doc["params"] == ["a=b"] and doc["executor"] == "local"
    assert doc["sources"] == [{"path": "one.yaml", "text": "x" * 8}, {"path": "two.yaml", "text": ""}]


def test_a_run_reads_back_with_its_task_runs_in_creation_order() -> None:
    store = MemoryStore()
    store.put("PipelineRun", "run", {"manifest": {"kind": "PipelineRun"}})
    for child in ("run-b", "run-a"):
        store.put("TaskRun", child, {"manifest": {"name": child}}, labels={"tekton.dev/pipelineRun": "run"})
    run, children = records.read_run(store, "run")
    assert run.manifest == {"kind": "PipelineRun"}
    assert [c.name for c in children] == ["run-b", "run-a"]
    assert [r.name for r in records.read_runs(store)] == ["run"]
    with pytest.raises(UsageError, match="no run named 'nope'"):
        records.read_run(store, "nope")
