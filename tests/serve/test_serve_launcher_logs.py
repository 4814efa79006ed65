"""``logs.maxBytesPerStep`` reaches the runs ``gitloop serve`` starts: a step printing past it keeps
running to success, and the store holds the cap and the marker (the real CI engine, local executor)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gitloop.lineage import Lineage
from gitloop.ports import Store
from gitloop.service.server.ci import PipelinesLauncher, RunPool

CHATTY_PIPELINE = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: chatty}
spec:
  tasks:
    - name: talk
      taskSpec:
        steps:
          - {name: say, image: alpine, script: "for i in $(seq 1 200); do echo line-$i; done"}
"""


def test_serve_s_log_limit_caps_what_its_runs_keep(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITLOOP_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "chatty.yaml").write_text(CHATTY_PIPELINE)
    pool = RunPool(1)
    launcher = PipelinesLauncher(
        listener="github",
        store=store,
        pipeline_paths=(tmp_path / "chatty.yaml",),
        executor="local",
        pool=pool,
        lineage=Lineage(store),
        log_limit=100,  # line-1 .. line-9 are 7 bytes each with the newline; line-10 on 8
    )
    resource = {"apiVersion": "tekton.dev/v1", "kind": "PipelineRun", "metadata": {"name": "chatty-1"}}
    resource["spec"] = {"pipelineRef": {"name": "chatty"}}
    launcher.launch(resource, event_id="e1")
    deadline = time.monotonic() + 60
    while (found := store.get("PipelineRun", "chatty-1")) is None or "completionTime" not in str(found.doc):
        assert time.monotonic() < deadline, "the run did not end"
        time.sleep(0.1)
    pool.drain(30)
    assert found.labels.get("gitloop.dev/reason") == "Succeeded"
    texts = [line.text for line in store.read_log("chatty-1")]
    kept = [f"line-{i}" for i in range(1, 14)]  # 9 * 7 + 4 * 8 = 95 bytes; line-14 would pass 100
    dropped = sum(len(f"line-{i}") + 1 for i in range(14, 201))
    assert texts == [*kept, f"[gitloop: log truncated after 95 bytes; {dropped} more bytes dropped]"]
