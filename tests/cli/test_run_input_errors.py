"""Documented exit codes of ``pipeline run`` and ``task run`` for input errors, through the real command:
a missing param names the file that declares it, and tekton.dev/v1beta1 fields gitloop does not read are
refused with exit 2 saying so (what it does read runs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PIPELINE = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: greet
spec:
  params:
    - name: who
  tasks:
    - name: hello
      params:
        - {name: who, value: $(params.who)}
      taskSpec:
        params:
          - name: who
        steps:
          - {name: say, image: busybox, script: echo hello $(params.who)}
"""
TASK = """\
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: greet
spec:
  params:
    - name: who
  steps:
    - {name: say, image: busybox, script: echo hello $(params.who)}
"""
V1BETA1_TASK = """\
apiVersion: tekton.dev/v1beta1
kind: Task
metadata:
  name: greet
spec:
  params:
    - {name: who, default: world}
  steps:
    - name: say
      image: busybox
      resources: {limits: {memory: 64Mi}}
      script: echo hello $(params.who)
"""
V1BETA1_PIPELINERESOURCES = """\
apiVersion: tekton.dev/v1beta1
kind: Task
metadata:
  name: greet
spec:
  resources:
    inputs:
      - {name: source, type: git}
  steps:
    - {name: say, image: busybox, script: echo hello}
"""

# case -> (file text, command, exit code, what stderr starts with (after "error: <file>"), words it holds)
CASES: dict[str, tuple[str, list[str], int, str, str]] = {
    "pipeline-missing-param": (
        PIPELINE,
        ["pipeline", "run", "--pipeline", "greet"],
        2,
        ":1: Pipeline/greet: spec.params: ",
        "missing parameters: [who]",
    ),
    "task-missing-param": (
        TASK,
        ["task", "run"],
        2,
        ":1: Task/greet: spec.params: ",
        "missing values for these params which have no default values: [who]",
    ),
    "v1beta1-refused": (
        V1BETA1_PIPELINERESOURCES,
        ["task", "run"],
        2,
        ":6: Task/greet: spec.resources: ",
        "a tekton.dev/v1beta1 field gitloop does not read (PipelineResources, removed in tekton.dev/v1)",
    ),
    "v1beta1-read": (V1BETA1_TASK, ["task", "run"], 0, "", ""),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_run_input(case: str, tmp_path: Path) -> None:
    text, command, code, starts, words = CASES[case]
    file = tmp_path / f"{case}.yaml"
    file.write_text(text, encoding="utf-8")
    env = {**os.environ, "GITLOOP_STATE_DIR": str(tmp_path / "state"), "NO_COLOR": "1"}

    proc = subprocess.run(
        [sys.executable, "-m", "gitloop", *command, "-f", str(file)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )

    assert proc.returncode == code, proc.stderr
    if code == 0:
        assert "hello world" in proc.stdout
        return
    assert proc.stderr.startswith(f"error: {file}{starts}"), proc.stderr
    assert words in proc.stderr
    assert "Traceback" not in proc.stderr
