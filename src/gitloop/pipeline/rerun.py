"""Running a run again, decided purely: the copy of its resource under a new name, as Tekton
Dashboard's rerun creates one (``generateName: <name>-r-``, its status and ``spec.status`` dropped,
labelled with the run it reruns).

The resource is the one the run was started from: kept in its record while it is queued (``resource``)
and, once the engine ran it, in the request kept with the run (``request.sources``, the document named
``<kind>/<name>``, see ``gitloop.pipeline.records.request_doc``).
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Mapping
from typing import Any

from gitloop.errors import UsageError
from gitloop.ports import StoredObject
from gitloop.spec.yaml import load_one

RERUN_OF_LABEL = "gitloop.dev/rerun-of"
"""On a rerun: the name of the run it copies."""
_MAX_GENERATE_NAME = 58
"""What the Kubernetes API server keeps of a ``generateName`` before its five random characters."""
_SUFFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_COMPUTED_LABELS = ("tekton.dev/pipeline", "tekton.dev/pipelineRun", "tekton.dev/task", "tekton.dev/taskRun")
"""Labels the controller puts on a run: not copied (the rerun gets its own)."""


def rerun_prefix(name: str) -> str:
    """``<root>-r-`` for ``name``, its root without a previous rerun's ``-r-xxxxx`` (Tekton Dashboard's
    rule, so reruns of reruns do not grow their names)."""
    parts = name.split("-")
    root = "-".join(parts[:-2]) if len(parts) >= 3 and parts[-2] == "r" else name
    return f"{root}-r-"


def new_suffix() -> str:
    """Five random lowercase letters and digits."""
    return "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(5))


def rerun_name(name: str, suffix: str) -> str:
    """The name of a rerun of ``name``: ``<name>-r-<suffix>``, as ``generateName`` would make it."""
    return rerun_prefix(name)[:_MAX_GENERATE_NAME] + suffix


def stored_resource(record: StoredObject) -> dict[str, Any]:
    """The resource ``record``'s run was started from; ``UsageError`` when it was not kept (a run
    started from files with a Pipeline name, or one too large to keep)."""
    kept = record.doc.get("resource")
    if isinstance(kept, dict):
        return copy.deepcopy(kept)
    request = record.doc.get("request")
    sources = request.get("sources") if isinstance(request, dict) else None
    wanted = f"{record.kind}/{record.name}"
    for source in sources if isinstance(sources, list) else ():
        if isinstance(source, dict) and source.get("path") == wanted and source.get("text"):
            found = load_one(str(source["text"]), source=wanted)
            if isinstance(found, dict):
                return found
    raise UsageError(f"{wanted} cannot be run again: the resource it was started from was not kept")


def rerun_resource(resource: Mapping[str, Any], name: str, *, of: str) -> dict[str, Any]:
    """A copy of ``resource`` to run again as ``name``, labelled as a rerun of ``of``."""
    out = {k: copy.deepcopy(v) for k, v in resource.items() if k != "status"}
    spec = out.get("spec")
    if isinstance(spec, dict):
        spec.pop("status", None)
    found = out.get("metadata")
    metadata: dict[str, Any] = dict(found) if isinstance(found, dict) else {}
    for key in ("generateName", "uid", "resourceVersion", "creationTimestamp", "generation"):
        metadata.pop(key, None)
    labels = metadata.get("labels")
    kept = {
        k: v for k, v in (labels if isinstance(labels, dict) else {}).items() if k not in _COMPUTED_LABELS
    }
    metadata["labels"] = {**kept, RERUN_OF_LABEL: of}
    metadata["name"] = name
    out["metadata"] = metadata
    return out
