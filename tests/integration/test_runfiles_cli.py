"""Whole files of runs through the real ``gitloop`` command: a file with two PipelineRuns (one
``generateName``, one ``name``) and a TaskRun runs all three at once, prints each run's status and
exits with the worst code; the ServiceAccount and RBAC objects beside them are noted, not refused; a
v1 PipelineRun's ``serviceAccountName`` is accepted with a warning; two runs of one name are refused
before anything runs; Ctrl-C cancels every run (their finally tasks run) and SIGTERM interrupts every run."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

# Each step marks its arrival, then waits for the other two runs' marks: it passes only when the three
# runs are running at the same time. "code" is the step's exit code after the meeting.
RUNS = """\
apiVersion: v1
kind: ServiceAccount
metadata: {name: builder}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: builder-edit}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{kind: ServiceAccount, name: builder}]
---
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: meet}
spec:
  params: [{name: who}, {name: code, default: "0"}]
  steps:
    - name: meet
      image: alpine
      script: |
        touch MEET/$(params.who)
        for i in $(seq 200); do
          [ -e MEET/first ] && [ -e MEET/second ] && [ -e MEET/third ] && break
          sleep 0.1
        done
        ls MEET | tr '\\n' ' '; echo
        exit $(params.code)
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: meeting}
spec:
  params: [{name: who}, {name: code, default: "0"}]
  tasks:
    - name: attend
      taskRef: {name: meet}
      params: [{name: who, value: $(params.who)}, {name: code, value: $(params.code)}]
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {generateName: meeting-run-}
spec:
  pipelineRef: {name: meeting}
  params: [{name: who, value: first}]
  serviceAccountName: builder
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: meeting-second}
spec:
  pipelineRef: {name: meeting}
  params: [{name: who, value: second}, {name: code, value: "CODE"}]
---
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {generateName: meet-third-}
spec:
  taskRef: {name: meet}
  params: [{name: who, value: third}]
"""


def _gitloop(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GITLOOP_STATE_DIR": str(tmp_path / "state")}
    return subprocess.run(
        [sys.executable, "-m", "gitloop", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _file(tmp_path: Path, code: str, text: str = RUNS) -> Path:
    meet = tmp_path / "meet"
    meet.mkdir(exist_ok=True)
    path = tmp_path / "runs.yaml"
    path.write_text(text.replace("MEET", str(meet)).replace("CODE", code))
    return path


def test_every_run_of_the_file_runs_at_once_with_the_worst_exit_code(tmp_path: Path) -> None:
    path = _file(tmp_path, "3")
    done = _gitloop(tmp_path, "pipeline", "run", "-f", str(path))
    assert done.returncode == 1, done.stdout + done.stderr
    out, err = done.stdout, done.stderr
    generated = re.search(r"^PipelineRun (meeting-run-[a-z0-9]{5}) Succeeded: Tasks Completed: 1 ", out, re.M)
    assert generated, out
    assert re.search(r"^PipelineRun meeting-second Failed: Tasks Completed: 1 \(Failed: 1,", out, re.M), out
    third = re.search(r"^TaskRun (meet-third-[a-z0-9]{5}) Succeeded: ", out, re.M)
    assert third, out
    # every step saw the three marks: the runs ran together; log lines name their run
    for source in (f"{generated[1]}/attend/meet", "meeting-second/attend/meet", f"{third[1]}/meet/meet"):
        assert f"[{source}] first second third" in out, out
    assert re.search(
        r"^gitloop: ServiceAccount 'builder' \(.*runs.yaml:1\): not applicable locally", err, re.M
    )
    assert re.search(
        r"^gitloop: RoleBinding 'builder-edit' \(.*runs.yaml:5\): not applicable locally", err, re.M
    )
    assert "spec.serviceAccountName is the tekton.dev/v1beta1 spelling; tekton.dev/v1 spells it " in err
    assert "spec.taskRunTemplate.serviceAccountName" in err


def test_all_runs_succeeding_exit_0_and_show_every_manifest(tmp_path: Path) -> None:
    path = _file(tmp_path, "0")
    done = _gitloop(tmp_path, "task", "run", "-f", str(path), "-o", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    manifests = json.loads(done.stdout)
    assert [m["kind"] for m in manifests] == ["PipelineRun", "PipelineRun", "TaskRun"]
    assert [m["status"]["conditions"][0]["reason"] for m in manifests] == ["Succeeded"] * 3
    assert manifests[1]["metadata"]["name"] == "meeting-second"
    listed = _gitloop(tmp_path, "pipeline", "list")
    assert "meeting-second" in listed.stdout and "meeting-run-" in listed.stdout


def test_two_runs_of_one_name_are_refused_before_anything_runs(tmp_path: Path) -> None:
    text = RUNS.replace("generateName: meeting-run-", "name: meeting-second")
    path = _file(tmp_path, "0", text)
    done = _gitloop(tmp_path, "pipeline", "run", "-f", str(path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "PipelineRun 'meeting-second'" in done.stderr and "runs need distinct names" in done.stderr
    assert not list((tmp_path / "meet").iterdir())


SLEEPY = """\
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: sleepy-one}
spec:
  pipelineSpec:
    tasks:
      - name: nap
        taskSpec:
          steps: [{name: nap, image: alpine, script: 'echo napping; sleep 60'}]
    finally:
      - name: tidy
        taskSpec:
          steps: [{name: tidy, image: alpine, script: 'echo tidied'}]
---
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: sleepy-two}
spec:
  taskSpec:
    steps: [{name: nap, image: alpine, script: 'echo napping; sleep 60'}]
"""


def _signalled(tmp_path: Path, sig: signal.Signals) -> tuple[int, str]:
    """Run SLEEPY, send ``sig`` once both runs' steps are running; the exit code and all output."""
    path = tmp_path / "sleepy.yaml"
    path.write_text(SLEEPY)
    out = tmp_path / "out.txt"
    env = {**os.environ, "GITLOOP_STATE_DIR": str(tmp_path / "state")}
    with out.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gitloop", "pipeline", "run", "-f", str(path)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while out.read_text().count("napping") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.send_signal(sig)
        code = proc.wait(timeout=60)
    return code, out.read_text()


def test_ctrl_c_cancels_every_run_and_their_finally_tasks_run(tmp_path: Path) -> None:
    code, shown = _signalled(tmp_path, signal.SIGINT)
    assert code == 1, shown
    assert "[sleepy-one/tidy/tidy] tidied" in shown
    assert 'PipelineRun sleepy-one Cancelled: PipelineRun "sleepy-one" was cancelled' in shown
    assert "TaskRun sleepy-two TaskRunCancelled: TaskRun cancelled by the user." in shown


def test_sigterm_interrupts_every_run(tmp_path: Path) -> None:
    code, shown = _signalled(tmp_path, signal.SIGTERM)
    assert code == 1, shown
    assert "PipelineRun sleepy-one Interrupted: gitloop got SIGTERM" in shown
    assert "TaskRun sleepy-two Interrupted: gitloop got SIGTERM" in shown
    assert "tidied" not in shown
