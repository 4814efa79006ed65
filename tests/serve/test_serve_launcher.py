"""The CI launcher of the server on the real CI engine (local executor): runs recorded Pending at once,
run in the background with the listener's Pipelines, failures recorded, queued runs resumed, drained."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from serve_fakes import TESTDATA

from gitloop.lineage import Lineage
from gitloop.pipeline.records import QUEUED_LABEL
from gitloop.ports import Store
from gitloop.service.server import Conflict
from gitloop.service.server.ci import PipelinesLauncher, RunPool

SLOW_PIPELINE = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: slow}
spec:
  tasks:
    - name: wait
      taskSpec:
        steps:
          - {name: sleep, image: alpine, script: "sleep 1.5"}
"""


def _run(name: str, pipeline: str = "build", revision: str = "abc123") -> dict[str, Any]:
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {"name": name, "labels": {"triggers.tekton.dev/eventlistener": "github"}},
        "spec": {
            "pipelineRef": {"name": pipeline},
            "params": [{"name": "revision", "value": revision}, {"name": "url", "value": "http://x/a.git"}],
        },
    }


def _reason(store: Store, name: str) -> str:
    found = store.get("PipelineRun", name)
    if found is None:
        return ""
    conditions = found.doc["manifest"]["status"].get("conditions") or [{}]  # type: ignore[index,union-attr]
    return str(conditions[0].get("reason", ""))


def _wait(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def make(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., PipelinesLauncher]]:
    monkeypatch.setenv("GITLOOP_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "slow.yaml").write_text(SLOW_PIPELINE)
    pools: list[RunPool] = []

    def build(parallel: int = 2) -> PipelinesLauncher:
        pool = RunPool(parallel)
        pools.append(pool)
        return PipelinesLauncher(
            listener="github",
            store=store,
            pipeline_paths=(TESTDATA / "pipeline.yaml", tmp_path / "slow.yaml"),
            executor="local",
            pool=pool,
            lineage=Lineage(store),
        )

    yield build
    for pool in pools:
        pool.drain(30)


def test_a_launched_run_is_pending_at_once_then_runs_to_success(
    make: Callable[..., PipelinesLauncher], store: Store
) -> None:
    launcher = make()
    assert launcher.launch(_run("build-one"), event_id="e1") == "build-one"
    found = store.get("PipelineRun", "build-one")
    assert found is not None  # recorded before launch returned
    _wait(lambda: _reason(store, "build-one") == "Succeeded")
    record = store.get("PipelineRun", "build-one")
    assert record is not None and QUEUED_LABEL not in record.labels
    results = record.doc["manifest"]["status"]["results"]  # type: ignore[index,call-overload]
    assert {"name": "IMAGE_URL", "value": "registry.local/app:abc123"} in results
    logs = [line.text for line in store.read_log("build-one")]
    assert "building abc123" in logs
    _wait(lambda: launcher.in_flight() == 0)


def test_queued_runs_wait_for_a_slot_as_pending(make: Callable[..., PipelinesLauncher], store: Store) -> None:
    launcher = make(parallel=1)
    launcher.launch(_run("slow-1", "slow"), event_id="e1")
    launcher.launch(_run("slow-2", "slow"), event_id="e2")
    assert _reason(store, "slow-2") == "Pending"
    assert launcher.in_flight() == 2
    _wait(lambda: _reason(store, "slow-2") == "Succeeded")


def test_a_run_that_cannot_start_is_recorded_failed_with_the_reason(
    make: Callable[..., PipelinesLauncher], store: Store
) -> None:
    launcher = make()
    launcher.launch(_run("build-bad", pipeline="no-such-pipeline"), event_id="e1")
    _wait(lambda: _reason(store, "build-bad") not in ("", "Pending"))
    assert _reason(store, "build-bad") == "CouldntGetPipeline"
    record = store.get("PipelineRun", "build-bad")
    assert record is not None
    condition = record.doc["manifest"]["status"]["conditions"][0]  # type: ignore[index,call-overload]
    assert condition["status"] == "False" and "no-such-pipeline" in condition["message"]


def test_an_existing_name_is_a_conflict(make: Callable[..., PipelinesLauncher], store: Store) -> None:
    launcher = make()
    store.put("PipelineRun", "taken", {"manifest": {}})
    with pytest.raises(Conflict):
        launcher.launch(_run("taken"), event_id="e1")


def test_draining_leaves_queued_runs_pending_and_the_next_start_resumes_them(
    make: Callable[..., PipelinesLauncher], store: Store
) -> None:
    first = make(parallel=1)
    first.launch(_run("slow-a", "slow"), event_id="e1")
    _wait(lambda: _reason(store, "slow-a") not in ("", "Pending"))
    first.launch(_run("slow-b", "slow"), event_id="e2")
    interrupted = first.drain(0.1)
    assert interrupted == 1  # slow-a was still running when the grace period ended
    # its step was stopped and its end recorded before drain returned
    assert _reason(store, "slow-a") == "Interrupted"
    assert _reason(store, "slow-b") == "Pending"  # never started by the draining pool

    second = make(parallel=1)
    assert second.resume() == ["slow-b"]
    _wait(lambda: _reason(store, "slow-b") == "Succeeded")


def test_a_pool_that_drains_refuses_new_runs(make: Callable[..., PipelinesLauncher], store: Store) -> None:
    from gitloop.errors import GitloopError

    launcher = make()
    launcher.drain(0)
    with pytest.raises(GitloopError, match="stopping"):
        launcher.launch(_run("late"), event_id="e")
    assert store.get("PipelineRun", "late") is None
