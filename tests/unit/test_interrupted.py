"""The one rule for a run whose runner stopped: the run and its unfinished TaskRuns end ``Interrupted``,
what had finished stays, and the runner's own view says the same when the store cannot be reached."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitloop.pipeline.records import ACTIVE_LABEL
from gitloop.ports import Store
from gitloop.service.interrupted import (
    interrupt_orphans,
    interrupt_run,
    runner_id,
)
from gitloop.store import open_store
from gitloop.store.memory import MemoryStore


def _manifest(kind: str, status: str, reason: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "status": {"conditions": [{"type": "Succeeded", "status": status, "reason": reason}]},
    }


def _store(runner: str) -> MemoryStore:
    store = MemoryStore()
    active = {
        ACTIVE_LABEL: "true",
        "gitloop.dev/runner": runner,
        "gitloop.dev/runner-host": runner.split("/")[0],
    }
    parent = {"tekton.dev/pipelineRun": "run"}
    store.put(
        "PipelineRun", "run", {"manifest": _manifest("PipelineRun", "Unknown", "Running")}, labels=active
    )
    store.put("TaskRun", "run-a", {"manifest": _manifest("TaskRun", "True", "Succeeded")}, labels=parent)
    store.put(
        "TaskRun",
        "run-b",
        {"manifest": _manifest("TaskRun", "Unknown", "Running")},
        labels={**active, **parent},
    )
    return store


def _reason(store: Store, kind: str, name: str) -> str:
    found = store.get(kind, name)
    assert found is not None
    return str(found.doc["manifest"]["status"]["conditions"][0]["reason"])  # type: ignore[index]


def test_a_run_its_runner_interrupted_ends_with_its_unfinished_taskruns(tmp_path: Path) -> None:
    database = str(tmp_path / "gitloop.db")
    store = open_store(database)
    kept = _store(runner_id())
    for record in kept.query("PipelineRun") + kept.query("TaskRun"):
        store.put(record.kind, record.name, record.doc, labels=record.labels)
    store.close()
    notes: list[str] = []
    manifest, condition = interrupt_run(
        lambda: open_store(database), "PipelineRun", "run", "gitloop got SIGHUP", {}, notes.append
    )
    store = open_store(database)
    assert (condition.status, condition.reason) == ("False", "Interrupted")
    assert condition.message.startswith("gitloop got SIGHUP while this PipelineRun was running")
    assert manifest["status"]["conditions"][0]["message"] == condition.message
    assert [
        _reason(store, k, n) for k, n in [("PipelineRun", "run"), ("TaskRun", "run-a"), ("TaskRun", "run-b")]
    ] == [
        "Interrupted",
        "Succeeded",
        "Interrupted",
    ]
    assert not store.query("PipelineRun", labels={ACTIVE_LABEL: "true"}) and not notes
    store.close()


def test_without_a_store_the_runner_still_shows_the_run_interrupted() -> None:
    def unreachable() -> Store:
        raise OSError("no database here")

    notes: list[str] = []
    shown = _manifest("TaskRun", "Unknown", "Running")
    manifest, condition = interrupt_run(
        unreachable, "TaskRun", "t", "gitloop got SIGTERM", shown, notes.append
    )
    assert manifest["status"]["conditions"][0]["reason"] == "Interrupted" == condition.reason
    assert notes == ["store: the run could not be recorded as Interrupted: no database here"]


@pytest.mark.parametrize(
    ("runner", "ended"),
    [("{host}/999999999/1", ["run"]), ("{me}", []), ("another-machine/1/1", [])],
    ids=["dead-runner", "live-runner", "another-machine"],
)
def test_only_the_runs_of_a_dead_runner_of_this_machine_are_ended(
    tmp_path: Path, runner: str, ended: list[str]
) -> None:
    me = runner_id()
    store = _store(runner.format(host=me.split("/")[0], me=me))
    (tmp_path / "run" / "sandboxes").mkdir(parents=True)
    assert interrupt_orphans(store, runs_dir=tmp_path) == ended
    assert (tmp_path / "run").exists() == (not ended), "an ended run's directory is removed"
    assert _reason(store, "TaskRun", "run-b") == ("Interrupted" if ended else "Running")
