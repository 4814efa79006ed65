"""The Pipeline a stored PipelineRun ran, read back from what its record kept (Tekton's
``status.pipelineSpec``): the run's own inline ``spec.pipelineSpec``, else the ``Pipeline`` named by its
``pipelineRef`` among the input files kept with the run (``gitloop.pipeline.records.request_doc``).

Pure: it reads a ``StoredObject``'s doc and parses the kept YAML; a file that does not parse is
passed over (a kept source may have been cut at ``MAX_KEPT_SOURCE``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitloop.errors import SpecError
from gitloop.ports import StoredObject
from gitloop.spec.yaml import load_all


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _resource(record: StoredObject) -> Mapping[str, Any]:
    """The resource the run was started from as kept whole, else its manifest."""
    return _mapping(record.doc.get("resource")) or _mapping(record.doc.get("manifest"))


def _kept_documents(record: StoredObject) -> list[Mapping[str, Any]]:
    request = _mapping(record.doc.get("request"))
    sources = request.get("sources")
    found: list[Mapping[str, Any]] = []
    for source in sources if isinstance(sources, list) else ():
        text = _mapping(source).get("text")
        if not isinstance(text, str) or not text:
            continue
        try:
            documents = load_all(text, source=str(_mapping(source).get("path", "")))
        except SpecError:
            continue
        found.extend(d for d in documents if isinstance(d, Mapping))
    return found


def pipeline_spec(record: StoredObject) -> dict[str, Any] | None:
    """The ``spec`` of the Pipeline the PipelineRun ``record`` ran, or ``None`` when it was not kept."""
    documents = _kept_documents(record)
    resources = [_resource(record)] + [
        d
        for d in documents
        if d.get("kind") == "PipelineRun" and _mapping(d.get("metadata")).get("name") == record.name
    ]
    for resource in resources:
        inline = _mapping(_mapping(resource.get("spec")).get("pipelineSpec"))
        if inline:
            return dict(inline)
    wanted = next(
        (
            str(ref["name"])
            for r in resources
            if (ref := _mapping(_mapping(r.get("spec")).get("pipelineRef"))).get("name")
        ),
        None,
    )
    for document in documents:
        if document.get("kind") == "Pipeline" and _mapping(document.get("metadata")).get("name") == wanted:
            return dict(_mapping(document.get("spec")))
    return None
