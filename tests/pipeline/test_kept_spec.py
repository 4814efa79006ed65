"""``gitloop.pipeline.kept_spec.pipeline_spec``: the Pipeline a stored run ran, read back from its record —
its inline ``pipelineSpec`` first, else the ``Pipeline`` its ``pipelineRef`` names among the kept input
files (the run's own file too, when its resource was not kept whole); a kept file cut short is passed
over; ``None`` when nothing was kept."""

from __future__ import annotations

from typing import Any

from gitloop.pipeline.kept_spec import pipeline_spec
from gitloop.ports import StoredObject

PIPELINES = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: other}
spec:
  tasks: [{name: nope}]
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: build}
spec:
  tasks: [{name: compile}, {name: test, runAfter: [compile]}]
"""
RUN_FILE = """\
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: run-1}
spec:
  pipelineRef: {name: build}
"""


def _record(doc: dict[str, Any]) -> StoredObject:
    return StoredObject(kind="PipelineRun", name="run-1", doc=doc, labels={}, created=0.0, updated=0.0)


def _sources(*texts: str) -> dict[str, Any]:
    return {"sources": [{"path": f"file-{i}.yaml", "text": t} for i, t in enumerate(texts)]}


def test_the_inline_spec_of_the_kept_resource_comes_first() -> None:
    resource = {"kind": "PipelineRun", "spec": {"pipelineSpec": {"tasks": [{"name": "inline"}]}}}
    record = _record({"resource": resource, "request": _sources(PIPELINES)})
    assert pipeline_spec(record) == {"tasks": [{"name": "inline"}]}


def test_the_referenced_pipeline_is_found_among_the_kept_files() -> None:
    manifest = {"kind": "PipelineRun", "spec": {"pipelineRef": {"name": "build"}}}
    spec = pipeline_spec(_record({"manifest": manifest, "request": _sources("a: [", PIPELINES)}))
    assert spec is not None and [t["name"] for t in spec["tasks"]] == ["compile", "test"]


def test_the_runs_own_file_names_the_pipeline_when_the_resource_was_not_kept() -> None:
    spec = pipeline_spec(_record({"request": _sources(RUN_FILE, PIPELINES)}))
    assert spec is not None and spec["tasks"][1] == {"name": "test", "runAfter": ["compile"]}


def test_nothing_kept_is_none() -> None:
    assert pipeline_spec(_record({})) is None
    manifest = {"kind": "PipelineRun", "spec": {"pipelineRef": {"name": "gone"}}}
    assert pipeline_spec(_record({"manifest": manifest, "request": _sources(PIPELINES)})) is None
