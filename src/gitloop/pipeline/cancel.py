"""Cancelling a run as Tekton's ``spec.status`` does, decided purely from the run's store record:
which status is asked for, and whether the run is still queued (it ends at once, never started),
running (its driver cancels it) or finished (nothing to cancel).

A PipelineRun takes Tekton's three values: ``Cancelled`` (the default: running TaskRuns cancelled,
``finally`` tasks skipped), ``CancelledRunFinally`` (running TaskRuns cancelled, ``finally`` tasks
run) and ``StoppedRunFinally`` (running TaskRuns finish, nothing new starts but ``finally``). A
TaskRun has one, ``TaskRunCancelled``. Every cancelled run ends with Tekton's reason ``Cancelled``
(a TaskRun ``TaskRunCancelled``), its ``spec.status`` saying which was asked for.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Literal

from gitloop.errors import UsageError
from gitloop.pipeline import reasons as R
from gitloop.pipeline.records import ACTIVE_LABEL, PIPELINE_RUN, QUEUED_LABEL, TASK_RUN
from gitloop.ports import StoredObject

RunPhase = Literal["queued", "running", "finished"]


def cancel_status(kind: str, asked: str | None = None) -> str:
    """The ``spec.status`` a cancel of a run of ``kind`` sets (``Cancelled`` unless ``asked``);
    ``UsageError`` for a value Tekton does not have."""
    status = asked or R.CANCELLED
    if kind == TASK_RUN:
        if status not in (*R.CANCEL_REQUESTS, R.TR_CANCELLED):
            raise UsageError(f"a TaskRun is cancelled with {R.TR_CANCELLED!r}, not {status!r}")
        return R.TR_CANCELLED
    if status not in R.CANCEL_REQUESTS:
        raise UsageError(f"unknown cancel status {status!r}: use one of {', '.join(R.CANCEL_REQUESTS)}")
    return status


def run_phase(record: StoredObject) -> RunPhase:
    """Where the run of ``record`` is: queued (no process started it), running, or finished."""
    if record.labels.get(QUEUED_LABEL) == "true":
        return "queued"
    if record.labels.get(ACTIVE_LABEL) == "true":
        return "running"
    return "finished"


def not_started(kind: str, name: str) -> tuple[str, str]:
    """The reason and message of a queued run cancelled before it started, as Tekton ends a run
    created already cancelled."""
    if kind == PIPELINE_RUN:
        return R.PR_CANCELLED, f'PipelineRun "{name}" was cancelled'
    return R.TR_CANCELLED, R.TR_CANCELLED_BY_USER


def cancelled_resource(resource: Mapping[str, Any], status: str) -> dict[str, Any]:
    """``resource`` (a queued run's) with its ``spec.status`` set to ``status``."""
    out = copy.deepcopy(dict(resource))
    spec = out.get("spec")
    out["spec"] = {**(spec if isinstance(spec, dict) else {}), "status": status}
    return out
