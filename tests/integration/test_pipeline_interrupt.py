"""No step outlives its run: ``gitloop pipeline run`` processes closed (SIGHUP), stopped (SIGTERM) and
killed (SIGKILL) while a step runs with background children, then ``ps`` (a scan of ``/proc``) for
anything of that step left, and ``gitloop pipeline list|get`` for how the run ended: Failed,
``Interrupted``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from realparts import marked_processes

pytestmark = pytest.mark.integration

GITLOOP = str(Path(sys.executable).parent / "gitloop")

PIPELINE = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {{name: long}}
spec:
  workspaces: [{{name: w}}]
  tasks:
    - name: long
      workspaces: [{{name: w}}]
      taskSpec:
        workspaces: [{{name: w}}]
        steps:
          - name: wait
            image: busybox
            env: [{{name: STEP_MARKER, value: {marker}}}]
            script: |
              sleep 300 &
              sh -c 'sleep 301; true' &
              echo started > $(workspaces.w.path)/started
              sleep 302
"""


def until_none_marked(marker: str, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := marked_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in left:  # never leave them behind, even when the test fails
        os.kill(pid, signal.SIGKILL)
    return left


class Run:
    """A ``gitloop pipeline run`` process of the long pipeline, with its own state directory."""

    def __init__(self, tmp_path: Path) -> None:
        self.marker = f"gitloop-test-{uuid.uuid4().hex}"
        self.env = {**os.environ, "GITLOOP_STATE_DIR": str(tmp_path / "state")}
        self.state = tmp_path / "state"
        path = tmp_path / "pipeline.yaml"
        path.write_text(PIPELINE.format(marker=self.marker))
        self.w = tmp_path / "w"
        self.process = subprocess.Popen(
            [GITLOOP, "pipeline", "run", "-f", str(path), "-w", f"w={self.w}"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_started(self) -> None:
        """Until the step and its children run and the store has the run as running."""
        deadline = time.monotonic() + 60
        while (
            not (self.w / "started").exists() or len(marked_processes(self.marker)) < 3 or not self.recorded()
        ):
            assert self.process.poll() is None, self.process.communicate()
            assert time.monotonic() < deadline, "the step never started"
            time.sleep(0.05)

    def recorded(self) -> bool:
        rows = [line.split() for line in self.gitloop("pipeline", "list").splitlines()[1:]]
        return len(rows) == 1 and rows[0][2] == "Unknown"

    def gitloop(self, *args: str) -> str:
        done = subprocess.run([GITLOOP, *args], env=self.env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout


def _condition(manifest: dict[str, Any]) -> dict[str, Any]:
    return dict(manifest["status"]["conditions"][0])


def _check_interrupted(run: Run, cause: str) -> None:
    rows = [line.split() for line in run.gitloop("pipeline", "list").splitlines()[1:]]
    assert len(rows) == 1 and rows[0][2:4] == ["False", "Interrupted"], rows
    documents = json.loads(run.gitloop("pipeline", "get", rows[0][0], "-o", "json"))
    pipeline_run, task_run = documents
    assert _condition(pipeline_run)["reason"] == "Interrupted"
    assert (
        cause in _condition(pipeline_run)["message"] and "not resumed" in _condition(pipeline_run)["message"]
    )
    assert _condition(task_run)["reason"] == "Interrupted"
    assert task_run["status"]["steps"][0]["terminated"]["reason"] == "Interrupted"
    assert pipeline_run["metadata"]["labels"].get("gitloop.dev/active") is None
    assert not (run.state / "runs" / rows[0][0]).exists(), "the run's directory is removed"


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM], ids=["SIGHUP", "SIGTERM"])
def test_a_closed_terminal_or_sigterm_stops_the_steps_and_ends_the_run_interrupted(
    tmp_path: Path, sig: signal.Signals
) -> None:
    run = Run(tmp_path)
    try:
        run.wait_started()
        run.process.send_signal(sig)
        out, err = run.process.communicate(timeout=30)
    finally:
        left = until_none_marked(run.marker, 5)
    assert not left, f"step processes {left} outlived `gitloop pipeline run` on {sig.name}"
    assert run.process.returncode == 1, err
    assert f"Interrupted: gitloop got {sig.name}" in out, out
    _check_interrupted(run, f"gitloop got {sig.name}")


def test_kill_9_of_pipeline_run_kills_its_steps_and_a_later_list_shows_it_interrupted(
    tmp_path: Path,
) -> None:
    run = Run(tmp_path)
    try:
        run.wait_started()
        run.process.send_signal(signal.SIGKILL)
        run.process.communicate(timeout=30)
    finally:
        left = until_none_marked(run.marker, 5)
    assert not left, f"step processes {left} outlived a killed `gitloop pipeline run`"
    assert run.process.returncode == -signal.SIGKILL
    _check_interrupted(run, "the gitloop process running it")
