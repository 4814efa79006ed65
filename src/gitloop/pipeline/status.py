"""PipelineRuns and TaskRuns as Tekton shows them: ``tekton.dev/v1`` objects with a ``status``. Pure.

``pipeline_run_manifest`` and ``task_run_manifest`` turn the machines' state into the documents
``kubectl get pipelinerun -o yaml`` would print: the ``Succeeded`` condition with Tekton's reason,
``startTime``/``completionTime``, ``childReferences``, ``results`` and ``skippedTasks`` for a
PipelineRun; ``steps`` (``terminated`` with ``exitCode`` and ``terminationReason``), ``results``,
``sidecars`` and ``retriesStatus`` for a TaskRun.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from gitloop.pipeline.state import AttemptRecord, Condition, PipelineRunState, StepState, TaskRunState

API_VERSION = "tekton.dev/v1"


def timestamp(value: float | None) -> str | None:
    """RFC 3339 in UTC, to the second, as Kubernetes writes times."""
    if value is None:
        return None
    return dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None and v != [] and v != {}}


def condition(value: Condition) -> dict[str, Any]:
    return _drop_none(
        {
            "type": "Succeeded",
            "status": value.status,
            "reason": value.reason,
            "message": value.message or None,
            "lastTransitionTime": timestamp(value.time),
        }
    )


def _step(step: StepState) -> dict[str, Any]:
    data: dict[str, Any] = {"name": step.name, "container": step.container}
    if step.phase == "terminated":
        data["terminated"] = _drop_none(
            {
                "exitCode": step.exit_code if step.exit_code is not None else 0,
                "reason": "Completed" if step.exit_code == 0 else "Error",
                "message": step.message or None,
                "startedAt": timestamp(step.started),
                "finishedAt": timestamp(step.finished),
            }
        )
        data["terminationReason"] = step.reason
    elif step.phase == "running":
        data["running"] = _drop_none({"startedAt": timestamp(step.started)})
    else:
        data["waiting"] = {"reason": "PodInitializing"}
    return data


def _results(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "type": "array" if isinstance(value, list) else "object" if isinstance(value, dict) else "string",
            "value": value,
        }
        for name, value in values.items()
    ]


def _attempt(record: AttemptRecord) -> dict[str, Any]:
    return _drop_none(
        {
            "conditions": [condition(record.condition)],
            "startTime": timestamp(record.start_time),
            "completionTime": timestamp(record.completion_time),
            "steps": [_step(s) for s in record.steps],
            "results": _results(record.results),
        }
    )


def task_run_status(state: TaskRunState) -> dict[str, Any]:
    return _drop_none(
        {
            "conditions": [condition(state.condition)] if state.condition.reason else None,
            "podName": f"{state.sandbox or state.name}-pod" if state.sandbox else None,
            "startTime": timestamp(state.start_time),
            "completionTime": timestamp(state.completion_time),
            "steps": [_step(s) for s in state.steps],
            "sidecars": [{"name": s.removeprefix("sidecar-"), "container": s} for s in state.sidecars],
            "results": _results(state.results),
            "retriesStatus": [_attempt(r) for r in state.retries_status],
        }
    )


def _params(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"name": k, "value": v} for k, v in values.items()]


def task_run_manifest(
    state: TaskRunState, *, namespace: str = "default", pipeline_run: str = ""
) -> dict[str, Any]:
    """One TaskRun as ``tekton.dev/v1``."""
    labels = {"tekton.dev/task": state.task}
    if pipeline_run:
        labels.update(
            {"tekton.dev/pipelineRun": pipeline_run, "tekton.dev/pipelineTask": state.pipeline_task}
        )
    return {
        "apiVersion": API_VERSION,
        "kind": "TaskRun",
        "metadata": {"name": state.name, "namespace": namespace, "labels": labels},
        "spec": _drop_none({"taskRef": {"name": state.task}, "params": _params(state.params)}),
        "status": task_run_status(state),
    }


def pipeline_run_status(state: PipelineRunState) -> dict[str, Any]:
    children: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for task in state.tasks.values():
        for name, display in zip(task.children, task.display_names, strict=True):
            children.append(
                _drop_none(
                    {
                        "apiVersion": API_VERSION,
                        "kind": "TaskRun",
                        "name": name,
                        "pipelineTaskName": task.name,
                        "displayName": display or None,
                    }
                )
            )
        if task.status == "Skipped":
            skipped.append(
                _drop_none(
                    {"name": task.name, "reason": task.skip_reason, "whenExpressions": task.when or None}
                )
            )
    return _drop_none(
        {
            "conditions": [condition(state.condition)] if state.condition.reason else None,
            "startTime": timestamp(state.start_time),
            "completionTime": timestamp(state.completion_time),
            "finallyStartTime": timestamp(state.finally_start_time),
            "childReferences": children,
            "results": state.results,
            "skippedTasks": skipped,
        }
    )


def pipeline_run_manifest(
    state: PipelineRunState,
    *,
    params: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """One PipelineRun as ``tekton.dev/v1``."""
    spec: dict[str, Any] = {"pipelineRef": {"name": state.pipeline}}
    if params:
        spec["params"] = _params({k: list(v) if isinstance(v, tuple) else v for k, v in params.items()})
    if state.cancel:
        spec["status"] = state.cancel
    return {
        "apiVersion": API_VERSION,
        "kind": "PipelineRun",
        "metadata": _drop_none(
            {
                "name": state.name,
                "namespace": state.namespace,
                "uid": state.uid or None,
                "labels": {"tekton.dev/pipeline": state.pipeline, **(labels or {})},
            }
        ),
        "spec": spec,
        "status": pipeline_run_status(state),
    }
