"""SIGTERM of a real ``gitloop serve`` while a PipelineRun's step runs longer than the shutdown grace
period: after the grace period the server stops the step, with everything it started in the
background (checked with a scan of ``/proc``), records the run Failed with reason ``Interrupted``, and
exits 0."""

from __future__ import annotations

import os
import signal
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from serve_fakes import TESTDATA, github_headers, github_push
from serve_process import ServeProcess, serve_env

from gitloop.store import open_store
from realparts import marked_processes

pytestmark = pytest.mark.integration

PIPELINE = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {{name: build}}
spec:
  params: [{{name: revision}}, {{name: url}}]
  tasks:
    - name: long
      taskSpec:
        steps:
          - name: wait
            image: busybox
            env: [{{name: STEP_MARKER, value: {marker}}}]
            script: |
              sleep 300 &
              sh -c 'sleep 301; true' &
              echo "long step started"
              sleep 302
"""


def test_after_the_grace_period_serve_stops_the_steps_and_ends_the_run_interrupted(tmp_path: Path) -> None:
    marker = f"gitloop-test-{uuid.uuid4().hex}"
    pipeline = tmp_path / "long.yaml"
    pipeline.write_text(PIPELINE.format(marker=marker))
    config = tmp_path / "serve.yaml"
    config.write_text(
        textwrap.dedent(f"""\
            listen: 127.0.0.1:0
            shutdownGracePeriod: 1s
            eventListeners:
              - name: github
                triggers: [{TESTDATA / "listeners.yaml"}]
                pipelines: [{pipeline}]
                secrets: [{TESTDATA / "secrets.yaml"}]
            """)
    )
    env = serve_env(tmp_path / "state")
    try:
        with ServeProcess(config, env) as serve, serve.client() as client:
            body = github_push(after="d" * 40)
            answer = client.post("/hooks/github", content=body, headers=github_headers(body))
            assert answer.status_code == 202, answer.text
            name = answer.json()["created"][0]["name"]
            deadline = time.monotonic() + 60
            logs = f"/api/pipelineruns/{name}/logs?format=text"
            while len(marked_processes(marker)) < 3 or "long step started" not in client.get(logs).text:
                assert time.monotonic() < deadline, f"the step never started:\n{serve.output()}"
                time.sleep(0.05)
            started = time.monotonic()
            assert serve.stop() == 0, serve.output()
            assert time.monotonic() - started < 30, "the grace period is 1s; stopping the step takes 2s more"
            left = marked_processes(marker)
            assert not left, f"step processes {left} outlived gitloop serve:\n{serve.output()}"
            assert "were interrupted" in serve.output()
    finally:
        for pid in marked_processes(marker):
            os.kill(pid, signal.SIGKILL)
    store = open_store(str(tmp_path / "state" / "gitloop.db"))
    try:
        run = store.get("PipelineRun", name)
        child = store.query("TaskRun", labels={"tekton.dev/pipelineRun": name})
    finally:
        store.close()
    assert run is not None
    condition = run.doc["manifest"]["status"]["conditions"][0]  # type: ignore[index]
    assert (condition["status"], condition["reason"]) == ("False", "Interrupted"), condition
    assert "shutdownGracePeriod (1s) was over" in condition["message"]
    assert "gitloop.dev/active" not in run.labels
    assert [c.doc["manifest"]["status"]["conditions"][0]["reason"] for c in child] == ["Interrupted"]  # type: ignore[index]
    assert not (tmp_path / "state" / "runs" / name).exists()
