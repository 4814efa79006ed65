"""A ``gitloop pipeline run --executor podman`` killed with SIGKILL while its step's container runs:
``conmon`` would keep the container running; the executor's watcher removes it, and a later
``gitloop pipeline list`` shows the run Failed, ``Interrupted`` (podman is a real part: missing, it
fails under CI)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from realparts import podman_setup

pytestmark = pytest.mark.integration

GITLOOP = str(Path(sys.executable).parent / "gitloop")

PIPELINE = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {{name: boxed}}
spec:
  tasks:
    - name: long
      taskSpec:
        steps:
          - name: wait
            image: {image}
            script: |
              #!/bin/sh
              echo started
              sleep 300
"""


def _containers(env: dict[str, str], prefix: str) -> list[str]:
    listed = subprocess.run(
        ["podman", "ps", "--all", "--format", "{{.Names}}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return [name for name in listed.stdout.split() if name.startswith(prefix)]


def _runs(env: dict[str, str]) -> list[list[str]]:
    listed = subprocess.run(
        [GITLOOP, "pipeline", "list"], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return [line.split() for line in listed.stdout.splitlines()[1:]]


def test_kill_9_of_pipeline_run_removes_its_running_container(tmp_path: Path) -> None:
    env, image = podman_setup(tmp_path)
    env["GITLOOP_STATE_DIR"] = str(tmp_path / "state")
    path = tmp_path / "pipeline.yaml"
    path.write_text(PIPELINE.format(image=image))
    out = (tmp_path / "out.txt").open("w")
    run = subprocess.Popen(
        [GITLOOP, "pipeline", "run", "-f", str(path), "--executor", "podman"],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    prefix = "gitloop-boxed-run-"
    try:
        deadline = time.monotonic() + 120
        while "[long/wait] started" not in (tmp_path / "out.txt").read_text() or not _runs(env):
            assert run.poll() is None, (tmp_path / "out.txt").read_text()
            assert time.monotonic() < deadline, "the container never started"
            time.sleep(0.1)
        assert len(_containers(env, prefix)) == 1
        run.send_signal(signal.SIGKILL)
        run.wait(30)
        deadline = time.monotonic() + 60
        while _containers(env, prefix) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = _containers(env, prefix)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        out.close()
        for name in _containers(env, prefix):
            subprocess.run(
                ["podman", "rm", "--force", "--time", "0", name], env=env, check=False, timeout=120
            )
    assert not left, f"containers {left} outlived a killed `gitloop pipeline run`"
    rows = _runs(env)
    assert len(rows) == 1 and rows[0][2:4] == ["False", "Interrupted"], rows
