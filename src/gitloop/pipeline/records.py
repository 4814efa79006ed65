"""The store records of PipelineRuns and TaskRuns: the one module that writes them, in one shape.

A run is kept as kind ``PipelineRun`` or ``TaskRun`` (one record per TaskRun, labelled
``tekton.dev/pipelineRun`` when it belongs to a PipelineRun). Every record's doc holds ``manifest``,
the Tekton-shaped object with its ``status`` (what ``gitloop pipeline list|get``, the API and the
lineage read), and, once the engine has run it, ``state``: the engine's resumable state (a
PipelineRun's without its TaskRuns). The record goes through these shapes:

- **pending** (``record_pending``): queued by ``gitloop serve``; the rendered ``resource``, its
  ``eventId`` and ``Succeeded=Unknown`` reason ``Pending``, labelled ``gitloop.dev/queued``;
- **failed to prepare** (``record_not_started`` for a queued run, ``failed_to_prepare`` for a run
  that failed validation): ``Succeeded=False`` with the reason, as Tekton keeps a failed object;
- **running / done** (``RunRecorder``): every change the driver reports; records of a run not
  finished yet carry ``gitloop.dev/active: "true"``, and every record the runner's labels and the
  request's own labels;
- **interrupted** (``end_interrupted``, ``interrupted_doc``): the run's runner stopped before the
  run's end (``gitloop.service.interrupted`` says when).

Records are written through the ``Store`` port, or through anything with its ``put`` (the
``StoreWriter`` of a running run).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from gitloop.errors import UsageError
from gitloop.pipeline.inputs import KeptSource
from gitloop.pipeline.state import Condition, PipelineRunState, TaskRunState, to_json
from gitloop.pipeline.status import pipeline_run_manifest, task_run_manifest
from gitloop.ports import Store, StoredObject
from gitloop.spec.redact import redact_strings

PIPELINE_RUN = "PipelineRun"
TASK_RUN = "TaskRun"
ACTIVE_LABEL = "gitloop.dev/active"
"""On the store records of runs that have not finished (``"true"``)."""
RUNNER_LABEL = "gitloop.dev/runner"
RUNNER_HOST_LABEL = "gitloop.dev/runner-host"
REASON_LABEL = "gitloop.dev/reason"
QUEUED_LABEL = "gitloop.dev/queued"
LISTENER_LABEL = "gitloop.dev/listener"
PARENT_LABEL = "tekton.dev/pipelineRun"
PENDING = "Pending"
INTERRUPTED = "Interrupted"


class RecordSink(Protocol):
    """Where records go: the ``Store`` itself or a ``StoreWriter`` in front of it."""

    def put(
        self, kind: str, name: str, doc: dict[str, object], *, labels: dict[str, str] | None = None
    ) -> None: ...


def _timestamp(value: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(value))


def _conditioned(
    resource: Mapping[str, Any], status: str, reason: str, message: str, now: float
) -> dict[str, Any]:
    """``resource`` with a Tekton ``Succeeded`` condition."""
    condition = {
        "type": "Succeeded",
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": _timestamp(now),
    }
    out = {k: v for k, v in resource.items() if k != "status"}
    out["status"] = {"conditions": [condition]}
    if status != "Unknown":
        out["status"]["completionTime"] = _timestamp(now)
    return out


def _kind_name(resource: Mapping[str, Any]) -> tuple[str, str]:
    return str(resource["kind"]), str(resource["metadata"]["name"])


def record_pending(
    store: Store, resource: Mapping[str, Any], *, event_id: str, listener: str, now: float
) -> None:
    """``resource`` (a rendered PipelineRun or TaskRun) queued by ``listener``'s launcher."""
    kind, name = _kind_name(resource)
    manifest = _conditioned(resource, "Unknown", PENDING, "queued by gitloop serve", now)
    labels = {QUEUED_LABEL: "true", LISTENER_LABEL: listener, REASON_LABEL: PENDING}
    doc: dict[str, object] = {"manifest": manifest, "resource": dict(resource), "eventId": event_id}
    store.put(kind, name, doc, labels=labels)


def is_pending(store: Store, kind: str, name: str) -> bool:
    """Whether the run is still queued (no process has started it)."""
    found = store.get(kind, name)
    return found is not None and found.labels.get(QUEUED_LABEL) == "true"


def record_not_started(
    store: Store, resource: Mapping[str, Any], *, listener: str, reason: str, message: str, now: float
) -> dict[str, Any]:
    """A queued run that could not be prepared, ended ``False`` with ``reason``; its manifest."""
    kind, name = _kind_name(resource)
    manifest = _conditioned(resource, "False", reason, message, now)
    labels = {LISTENER_LABEL: listener, REASON_LABEL: reason}
    store.put(kind, name, {"manifest": manifest, "resource": dict(resource)}, labels=labels)
    return manifest


def failed_to_prepare(sink: RecordSink, kind: str, name: str, reason: str, detail: str, now: float) -> None:
    """A run that failed validation, kept as Tekton keeps the failed object."""
    condition = Condition("False", reason, detail, now)
    if kind == PIPELINE_RUN:
        state: Any = PipelineRunState(name, "", condition=condition, done=True)
        doc: dict[str, object] = {"manifest": pipeline_run_manifest(state), "state": to_json(state)}
    else:
        state = TaskRunState(name, "", condition=condition, phase="Done")
        doc = {"manifest": task_run_manifest(state), "state": to_json(state)}
    sink.put(kind, name, doc, labels={REASON_LABEL: reason})


MAX_KEPT_SOURCE = 1 << 20
"""Input YAML kept with a run, in characters; beyond it only the paths are kept."""


def request_doc(
    *,
    name: str | None,
    params: Sequence[str],
    workspaces: Sequence[str],
    executor: str,
    timeout: float | None,
    catalog_dirs: Sequence[Path],
    sources: Sequence[KeptSource],
) -> dict[str, object]:
    """What was asked, and the YAML it was asked of, kept with the run to show what ran: flags and
    the input files' objects (up to ``MAX_KEPT_SOURCE`` characters) with every Secret's values
    redacted (``gitloop.spec.redact``). Nothing reads them back to run: a queued run is started again
    from its own resource and the server's files, and a run that was running when its process died
    ends ``Interrupted``; running it again needs the real Secrets again."""
    kept: list[dict[str, str]] = []
    total = 0
    for source in sources:
        total += len(source.text)
        kept.append({"path": source.path, "text": source.text if total <= MAX_KEPT_SOURCE else ""})
    return {
        "name": name or "",
        "params": list(params),
        "workspaces": list(workspaces),
        "executor": executor,
        "timeout": timeout,
        "catalogDirs": [str(d) for d in catalog_dirs],
        "sources": kept,
    }


class RunView(Protocol):
    """The terminal side of a run."""

    def log(self, source: str, line: str) -> None: ...

    def changed(self, state: PipelineRunState | TaskRunState) -> None: ...

    def notice(self, message: str) -> None: ...


class LogSink(RecordSink, Protocol):
    """A ``RecordSink`` that also keeps step logs (the ``StoreWriter``)."""

    def log(self, run: str, source: str, line: str) -> None: ...

    def end_log(self, run: str, source: str) -> None: ...


class RunRecorder:
    """The driver's ``RunHooks`` for one run: records every change and shows it in ``view``.

    ``labels`` are the PipelineRun's own ``metadata.labels`` (on its manifest and record); ``extra``
    (the runner's and the request's labels) go on every record; ``request`` is kept with the run to
    show what was asked; ``mask`` blanks secret values out of step output."""

    def __init__(
        self,
        sink: LogSink,
        view: RunView,
        *,
        kind: str,
        name: str,
        namespace: str,
        request: dict[str, object],
        executor: str,
        params: Mapping[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
        annotations: Mapping[str, str] | None = None,
        extra: Mapping[str, str] | None = None,
        mask: Callable[[str], str] = str,
    ) -> None:
        self.sink = sink
        self.view = view
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.request = request
        self.executor = executor
        self.params = params
        self.labels = dict(labels or {})
        self.annotations = dict(annotations or {})
        self.extra = dict(extra or {})
        self.mask = mask
        self.log_sources: dict[str, set[str]] = {}  # TaskRun -> its sources with a log open

    def log(self, task_run: TaskRunState, source: str, line: str) -> None:
        line = self.mask(line)
        self.log_sources.setdefault(task_run.name, set()).add(source)
        self.sink.log(self.name, source, line)
        self.view.log(source, line)

    def _labels(self, labels: dict[str, str], done: bool) -> dict[str, str]:
        labels.update(self.extra)
        if not done:
            labels[ACTIVE_LABEL] = "true"
        return labels

    def task_run_changed(self, state: TaskRunState) -> None:
        pipeline_run = self.name if self.kind == PIPELINE_RUN else ""
        labels = {"tekton.dev/task": state.task, REASON_LABEL: state.condition.reason}
        self._labels(labels, state.condition.done)
        if pipeline_run:
            labels.update({PARENT_LABEL: pipeline_run, "tekton.dev/pipelineTask": state.pipeline_task})
        self._end_logs(state)
        manifest = task_run_manifest(state, namespace=self.namespace, pipeline_run=pipeline_run)
        doc: dict[str, object] = {"manifest": manifest, "state": to_json(state)}
        if not pipeline_run:
            doc["request"] = self.request
        self.sink.put(TASK_RUN, state.name, redact_strings(doc), labels=labels)
        self.view.changed(state)

    def _end_logs(self, state: TaskRunState) -> None:
        """Close the logs of the TaskRun's steps that ended (all its sources once it is done), so the
        writer stores each one's truncation marker and a retry starts a fresh budget."""
        sources = self.log_sources.get(state.name)
        if not sources:
            return
        ended = {s.container.removeprefix("step-") for s in state.steps if s.phase == "terminated"}
        for source in [s for s in sources if state.condition.done or s.rsplit("/", 1)[-1] in ended]:
            self.sink.end_log(self.name, source)
            sources.discard(source)

    def pipeline_run_changed(self, state: PipelineRunState) -> None:
        manifest = pipeline_run_manifest(state, params=self.params, labels=self.labels)
        if self.annotations:
            manifest["metadata"]["annotations"] = dict(self.annotations)
        doc: dict[str, object] = {
            "manifest": manifest,
            "state": to_json(replace(state, children={})),
            "executor": self.executor,
            "request": self.request,
        }
        labels = {**self.labels, "tekton.dev/pipeline": state.pipeline, REASON_LABEL: state.condition.reason}
        self.sink.put(
            PIPELINE_RUN, state.name, redact_strings(doc), labels=self._labels(labels, state.condition.done)
        )
        self.view.changed(state)

    def notice(self, message: str) -> None:
        self.view.notice(message)


# -- interrupted ---------------------------------------------------------------------------------


def interrupted_message(cause: str, kind: str) -> str:
    """The ``Interrupted`` condition's message: ``cause`` (what stopped the runner) and what it means."""
    return (
        f"{cause} while this {kind} was running; it was not resumed. "
        "Its status and logs up to then are kept; run it again to finish the work."
    )


def interrupted_doc(record: StoredObject, text: str, now: float) -> dict[str, object]:
    """The record of a run ended as ``Interrupted``: its manifest's ``Succeeded`` condition False with
    ``text`` as message, its completion time, a step still running terminated, and the engine state
    marked done; everything else as it was."""
    doc: dict[str, Any] = dict(record.doc)
    found = doc.get("manifest")
    manifest: dict[str, Any] = dict(found) if isinstance(found, dict) else {}
    status: dict[str, Any] = dict(manifest.get("status") or {})
    condition = {
        "type": "Succeeded",
        "status": "False",
        "reason": INTERRUPTED,
        "message": text,
        "lastTransitionTime": _timestamp(now),
    }
    others = [
        c for c in status.get("conditions") or () if isinstance(c, dict) and c.get("type") != "Succeeded"
    ]
    status["conditions"] = [condition, *others]
    status["completionTime"] = _timestamp(now)
    for step in status.get("steps") or ():
        if isinstance(step, dict) and "running" in step:
            running = step.pop("running") or {}
            step["terminated"] = {
                "exitCode": 1,
                "reason": INTERRUPTED,
                "startedAt": running.get("startedAt"),
                "finishedAt": _timestamp(now),
            }
    manifest["status"] = status
    doc["manifest"] = manifest
    state = doc.get("state")
    if isinstance(state, dict):
        state = dict(state)
        state["condition"] = {"status": "False", "reason": INTERRUPTED, "message": text, "time": now}
        state["completion_time"] = now
        if "done" in state:
            state["done"] = True
        if "phase" in state:
            state["phase"] = "Done"
        doc["state"] = state
    doc["interrupted"] = {"at": now, "runner": record.labels.get(RUNNER_LABEL, "")}
    return doc


def interrupted_manifest(
    kind: str, name: str, shown: dict[str, Any], cause: str, now: float
) -> dict[str, Any]:
    """``shown`` (a run's last manifest) ended ``Interrupted`` the way its record would be."""
    text = interrupted_message(cause, kind)
    found = interrupted_doc(StoredObject(kind, name, {"manifest": shown}, {}, now, now), text, now)
    return found["manifest"] if isinstance(found["manifest"], dict) else shown


def _end(store: Store, record: StoredObject, cause: str, now: float) -> dict[str, object]:
    doc = interrupted_doc(record, interrupted_message(cause, record.kind), now)
    labels = {k: v for k, v in record.labels.items() if k != ACTIVE_LABEL}
    labels[REASON_LABEL] = INTERRUPTED
    store.put(record.kind, record.name, doc, labels=labels)
    return doc


def end_interrupted(store: Store, kind: str, name: str, cause: str, now: float) -> dict[str, Any] | None:
    """End the run ``name`` and its unfinished TaskRuns as ``Interrupted`` because of ``cause`` (what
    stopped the runner); the run's manifest, ``None`` when it has no record or had finished already."""
    record = store.get(kind, name)
    if record is None or record.labels.get(ACTIVE_LABEL) != "true":
        return None
    if kind == PIPELINE_RUN:
        for child in store.query(TASK_RUN, labels={PARENT_LABEL: name, ACTIVE_LABEL: "true"}):
            _end(store, child, cause, now)
    manifest = _end(store, record, cause, now).get("manifest")
    return manifest if isinstance(manifest, dict) else {}


# -- reading back ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredRun:
    """A run kept in the store."""

    name: str
    manifest: dict[str, Any]
    created: float


def _stored(record: StoredObject) -> StoredRun:
    manifest = record.doc.get("manifest")
    return StoredRun(record.name, manifest if isinstance(manifest, dict) else {}, record.created)


def read_runs(
    store: Store, *, kind: str = PIPELINE_RUN, limit: int | None = None, labels: dict[str, str] | None = None
) -> list[StoredRun]:
    """The runs of ``kind`` (with all of ``labels``), newest first."""
    return [_stored(o) for o in store.query(kind, labels=labels or None, limit=limit)]


def find_run(store: Store, name: str) -> StoredObject | None:
    """The record of the PipelineRun ``name``, else of the TaskRun ``name``; ``None`` if neither."""
    return store.get(PIPELINE_RUN, name) or store.get(TASK_RUN, name)


def read_run(store: Store, name: str) -> tuple[StoredRun, list[StoredRun]]:
    """A PipelineRun (or standalone TaskRun) and its TaskRuns; ``UsageError`` if unknown."""
    found = store.get(PIPELINE_RUN, name)
    if found is not None:
        children = sorted(store.query(TASK_RUN, labels={PARENT_LABEL: name}), key=lambda c: c.created)
        return _stored(found), [_stored(c) for c in children]
    task = store.get(TASK_RUN, name)
    if task is not None:
        return _stored(task), []
    raise UsageError(f"no run named {name!r} in the store")
