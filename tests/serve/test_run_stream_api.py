"""The live PipelineRun routes of ``gitloop.api.v1_run_stream``: a run's log streams lines as they are
appended to the store (the first before the run ends), resumes after ``Last-Event-ID`` and ends once
the run has finished; the run stream sends its changes and ``END``; the list stream sends ``ADDED``;
the Pipeline a run ran is read back from what its record kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi.testclient import TestClient

from gitloop.ports import Store

PIPELINE = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: build}
spec:
  tasks:
    - name: compile
      taskRef: {name: go}
    - name: test
      runAfter: [compile]
      taskRef: {name: go}
"""


def _run(name: str, status: str = "Unknown") -> dict[str, Any]:
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {"name": name},
        "spec": {"pipelineRef": {"name": "build"}},
        "status": {"conditions": [{"type": "Succeeded", "status": status, "reason": "Running"}]},
    }


def _events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if line.startswith("data: "):
            yield dict(json.loads(line[len("data: ") :]))


def test_a_log_streams_lines_as_they_are_written_and_ends_with_the_run(
    client: TestClient, store: Store
) -> None:
    store.put("PipelineRun", "live", {"manifest": _run("live")})
    store.append_log("live", "compile/step-go", ["first"])
    with client.stream("GET", "/api/v1/stream/pipelineruns/live/logs") as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        events = _events(answer.iter_lines())
        first = next(events)
        assert first["type"] == "LINES" and [line["text"] for line in first["lines"]] == ["first"]
        store.append_log("live", "compile/step-go", ["second", "\x1b[31mred\x1b[0m"])
        second = next(events)
        assert [line["text"] for line in second["lines"]] == ["second", "\x1b[31mred\x1b[0m"]
        assert [line["seq"] for line in second["lines"]] == [2, 3]
        store.put("PipelineRun", "live", {"manifest": _run("live", "True")})
        assert next(events)["type"] == "END"
        assert next(events, None) is None


def test_a_log_stream_resumes_after_the_last_event_id(client: TestClient, store: Store) -> None:
    store.put("PipelineRun", "done", {"manifest": _run("done", "False")})
    store.append_log("done", "a/step-x", ["one", "two", "three"])
    store.append_log("done", "b/step-y", ["other"])
    resumed = client.get("/api/v1/stream/pipelineruns/done/logs", headers={"Last-Event-ID": "2"})
    texts = [line["text"] for e in _events(iter(resumed.text.splitlines())) for line in e.get("lines", [])]
    assert texts == ["three", "other"]
    assert "id: 4" in resumed.text
    one = client.get("/api/v1/stream/pipelineruns/done/logs", params={"source": "b/step-y"})
    assert [line["text"] for e in _events(iter(one.text.splitlines())) for line in e.get("lines", [])] == [
        "other"
    ]
    assert client.get("/api/v1/stream/pipelineruns/nope/logs").status_code == 404


def test_the_run_stream_sends_changes_then_end(client: TestClient, store: Store) -> None:
    store.put("PipelineRun", "r1", {"manifest": _run("r1")})
    child = {"kind": "TaskRun", "metadata": {"name": "r1-compile"}, "status": {}}
    with client.stream("GET", "/api/v1/stream/pipelineruns/r1") as answer:
        events = _events(answer.iter_lines())
        first = next(events)
        assert first["type"] == "RUN" and first["run"]["metadata"]["name"] == "r1" and first["taskRuns"] == []
        store.put("TaskRun", "r1-compile", {"manifest": child}, labels={"tekton.dev/pipelineRun": "r1"})
        assert [t["metadata"]["name"] for t in next(events)["taskRuns"]] == ["r1-compile"]
        store.put("PipelineRun", "r1", {"manifest": _run("r1", "True")})
        ended = next(events)
        assert ended["type"] == "RUN" and ended["run"]["status"]["conditions"][0]["status"] == "True"
        assert next(events)["type"] == "END"
    store.put("PipelineRun", "r2", {"manifest": _run("r2")})
    with client.stream("GET", "/api/v1/stream/pipelineruns/r2") as answer:
        events = _events(answer.iter_lines())
        assert next(events)["type"] == "RUN"
        store.delete("PipelineRun", "r2")
        assert next(events)["type"] == "END"  # deleted while watched: the stream ends
    assert client.get("/api/v1/stream/pipelineruns/nope").status_code == 404


def test_the_list_stream_adds_runs_then_modifies_them(client: TestClient, store: Store) -> None:
    store.put("PipelineRun", "old", {"manifest": _run("old", "True")})
    store.put("PipelineRun", "new", {"manifest": _run("new")})
    with client.stream("GET", "/api/v1/stream/pipelineruns") as answer:
        events = _events(answer.iter_lines())
        added = [next(events), next(events)]
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in added] == [
            ("ADDED", "old"),
            ("ADDED", "new"),
        ]
        store.put("PipelineRun", "new", {"manifest": _run("new", "False")})
        changed = next(events)
        assert changed["type"] == "MODIFIED" and changed["object"]["metadata"]["name"] == "new"


def test_the_pipeline_spec_of_a_run_is_read_from_its_kept_sources(client: TestClient, store: Store) -> None:
    request = {
        "sources": [{"path": "ci/pipeline.yaml", "text": PIPELINE}, {"path": "cut.yaml", "text": "a: ["}]
    }
    store.put("PipelineRun", "kept", {"manifest": _run("kept"), "request": request})
    spec = client.get("/api/v1/pipelineruns/kept/pipelinespec").json()["pipelineSpec"]
    assert [(t["name"], t.get("runAfter")) for t in spec["tasks"]] == [
        ("compile", None),
        ("test", ["compile"]),
    ]
    inline = {**_run("inline"), "spec": {"pipelineSpec": {"tasks": [{"name": "only"}]}}}
    store.put("PipelineRun", "inline", {"manifest": inline, "resource": inline})
    assert client.get("/api/v1/pipelineruns/inline/pipelinespec").json()["pipelineSpec"]["tasks"] == [
        {"name": "only"}
    ]
    store.put("PipelineRun", "bare", {"manifest": _run("bare")})
    assert client.get("/api/v1/pipelineruns/bare/pipelinespec").json() == {"pipelineSpec": None}
    assert client.get("/api/v1/pipelineruns/nope/pipelinespec").status_code == 404
