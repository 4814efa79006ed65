"""Cancel and rerun on the server's CI launcher with the real CI engine (local executor): a queued run
ends Cancelled without starting, a running one is cancelled by its driver (its step stopped), a
finished one cannot be cancelled; a rerun copies the run's resource under a new name, carrying the
same source commit into the lineage."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from serve_fakes import TESTDATA

from gitloop.errors import UsageError
from gitloop.lineage import Lineage, SourcePush
from gitloop.pipeline.rerun import RERUN_OF_LABEL
from gitloop.ports import Store
from gitloop.service.server import Conflict, NotFound
from gitloop.service.server.ci import PipelinesLauncher, RunPool
from realparts import marked_processes

SOURCE = "e" * 40
PIPELINES = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {{name: long}}
spec:
  tasks:
    - name: wait
      taskSpec:
        steps:
          - name: sleep
            image: alpine
            env: [{{name: STEP_MARKER, value: {marker}}}]
            script: |
              echo started
              sleep 120
  finally:
    - name: report
      taskSpec:
        steps:
          - {{name: say, image: alpine, script: "echo finally ran"}}
---
apiVersion: tekton.dev/v1
kind: Task
metadata: {{name: long-task}}
spec:
  steps:
    - {{name: sleep, image: alpine, script: "echo started; sleep 120"}}
"""


def _run(name: str, pipeline: str) -> dict[str, Any]:
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {"name": name, "labels": {"triggers.tekton.dev/eventlistener": "github"}},
        "spec": {
            "pipelineRef": {"name": pipeline},
            "params": [{"name": "revision", "value": "abc123"}, {"name": "url", "value": "http://x/a.git"}],
        },
    }


def _condition(store: Store, name: str, kind: str = "PipelineRun") -> dict[str, Any]:
    found = store.get(kind, name)
    if found is None:
        return {}
    conditions = found.doc["manifest"]["status"].get("conditions") or [{}]  # type: ignore[index]
    return dict(conditions[0])


def _reason(store: Store, name: str) -> str:
    return str(_condition(store, name).get("reason", ""))


def _wait(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def marker() -> str:
    return f"gitloop-test-{uuid.uuid4().hex}"


@pytest.fixture
def make(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, marker: str
) -> Iterator[Callable[..., PipelinesLauncher]]:
    monkeypatch.setenv("GITLOOP_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "long.yaml").write_text(PIPELINES.format(marker=marker))
    pools: list[RunPool] = []

    def build(parallel: int = 2) -> PipelinesLauncher:
        pool = RunPool(parallel)
        pools.append(pool)
        return PipelinesLauncher(
            listener="github",
            store=store,
            pipeline_paths=(TESTDATA / "pipeline.yaml", tmp_path / "long.yaml"),
            executor="local",
            pool=pool,
            lineage=Lineage(store),
        )

    yield build
    for pool in pools:
        pool.drain(0)


def _started(store: Store, name: str) -> bool:
    return any(line.text == "started" for line in store.read_log(name))


def test_a_running_run_is_cancelled_its_step_stopped_and_finally_skipped(
    make: Callable[..., PipelinesLauncher], store: Store, marker: str
) -> None:
    launcher = make()
    launcher.launch(_run("long-1", "long"), event_id="e1")
    _wait(lambda: _started(store, "long-1") and bool(marked_processes(marker)))
    assert launcher.cancel("long-1") == "Cancelled"
    _wait(lambda: _reason(store, "long-1") == "Cancelled", timeout=10)
    _wait(lambda: not marked_processes(marker), timeout=10)
    record = store.get("PipelineRun", "long-1")
    assert record is not None and record.doc["manifest"]["spec"]["status"] == "Cancelled"  # type: ignore[index]
    [child] = store.query("TaskRun", labels={"tekton.dev/pipelineRun": "long-1"})
    assert _condition(store, child.name, "TaskRun")["reason"] == "TaskRunCancelled"
    assert "finally ran" not in [line.text for line in store.read_log("long-1")]
    with pytest.raises(Conflict, match="finished"):
        launcher.cancel("long-1")


def test_cancelled_run_finally_runs_the_finally_tasks(
    make: Callable[..., PipelinesLauncher], store: Store, marker: str
) -> None:
    launcher = make()
    launcher.launch(_run("long-2", "long"), event_id="e1")
    _wait(lambda: _started(store, "long-2"))
    assert launcher.cancel("long-2", "CancelledRunFinally") == "CancelledRunFinally"
    _wait(lambda: _reason(store, "long-2") == "Cancelled", timeout=10)
    assert "finally ran" in [line.text for line in store.read_log("long-2")]


def test_a_queued_run_ends_cancelled_without_starting(
    make: Callable[..., PipelinesLauncher], store: Store
) -> None:
    launcher = make(parallel=1)
    launcher.launch(_run("long-3", "long"), event_id="e1")
    launcher.launch(_run("build-4", "build"), event_id="e2")
    assert _reason(store, "build-4") == "Pending"
    assert launcher.cancel("build-4", "StoppedRunFinally") == "StoppedRunFinally"
    condition = _condition(store, "build-4")
    assert (condition["status"], condition["reason"]) == ("False", "Cancelled")
    assert condition["message"] == 'PipelineRun "build-4" was cancelled'
    launcher.cancel("long-3")
    _wait(lambda: launcher.in_flight() == 0)
    assert _reason(store, "build-4") == "Cancelled"  # the worker that took it later did not start it
    assert list(store.read_log("build-4")) == []


def test_what_cannot_be_cancelled(make: Callable[..., PipelinesLauncher], store: Store) -> None:
    launcher = make()
    with pytest.raises(NotFound):
        launcher.cancel("no-such-run")
    launcher.launch(_run("build-5", "build"), event_id="e1")
    _wait(lambda: _reason(store, "build-5") == "Succeeded")
    with pytest.raises(Conflict, match="finished"):
        launcher.cancel("build-5")
    with pytest.raises(UsageError):
        launcher.cancel("build-5", "Stop")
    store.put("PipelineRun", "elsewhere", {"manifest": {}}, labels={"gitloop.dev/active": "true"})
    with pytest.raises(Conflict, match="another gitloop process"):
        launcher.cancel("elsewhere")


def test_a_rerun_copies_the_run_and_links_the_same_source_commit(
    make: Callable[..., PipelinesLauncher], store: Store
) -> None:
    launcher = make()
    lineage = Lineage(store)
    link = lineage.record_push(
        SourcePush(SOURCE, "http://git/app.git", "refs/heads/main"),
        runs=["build-6"],
        listener="github",
        event_id="e1",
        received=time.time(),
    )
    launcher.launch(_run("build-6", "build"), event_id="e1", source=link)
    _wait(lambda: _reason(store, "build-6") == "Succeeded")
    new = launcher.rerun("build-6")
    assert new.startswith("build-6-r-") and len(new) == len("build-6-r-") + 5
    _wait(lambda: _reason(store, new) == "Succeeded")
    record = store.get("PipelineRun", new)
    assert record is not None and record.labels[RERUN_OF_LABEL] == "build-6"
    assert record.labels["gitloop.dev/listener"] == "github"
    hops = [(h["hop"], h.get("rerunOf")) for h in lineage.trace(SOURCE).hops if h.get("run") == new]
    assert hops == [("pipelinerun", "build-6"), ("pipelinerun-started", None), ("pipelinerun-finished", None)]
    with pytest.raises(NotFound):
        launcher.rerun("no-such-run")


def test_a_running_taskrun_is_cancelled(make: Callable[..., PipelinesLauncher], store: Store) -> None:
    launcher = make()
    resource = {"apiVersion": "tekton.dev/v1", "kind": "TaskRun", "metadata": {"name": "task-7"}}
    launcher.launch({**resource, "spec": {"taskRef": {"name": "long-task"}}}, event_id="e1")
    _wait(lambda: _started(store, "task-7"))
    assert launcher.cancel("task-7", "CancelledRunFinally") == "TaskRunCancelled"
    _wait(lambda: _condition(store, "task-7", "TaskRun").get("reason") == "TaskRunCancelled", timeout=10)
    assert _condition(store, "task-7", "TaskRun")["message"] == "TaskRun cancelled by the user."
