"""A name that would become a host path outside gitloop's directories is refused before anything runs:
``gitloop pipeline run`` exits 2 naming the field, and nothing is written outside the state directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

GITLOOP = str(Path(sys.executable).parent / "gitloop")

PIPELINE = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: write}
spec:
  workspaces: [{name: out}]
  tasks:
    - name: write
      workspaces: [{name: out}]
      taskSpec:
        workspaces: [{name: out}]
        steps:
          - {name: write, image: busybox, script: "echo planted > $(workspaces.out.path)/planted"}
"""

RUN = """\
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: escape}
spec:
  pipelineRef: {name: write}
  workspaces:
    - name: out
"""

# (extra YAML of the run's workspace, -w flags) -> words of the error
CASES = [
    (
        "      persistentVolumeClaim: {claimName: ../../escaped}\n",
        [],
        "spec.workspaces[0].persistentVolumeClaim.claimName: invalid claim name: '../../escaped'",
    ),
    (
        "      emptyDir: {}\n      subPath: ../../escaped\n",
        [],
        "spec.workspaces[0].subPath: invalid subPath: '../../escaped' must not contain '..'",
    ),
    ("      emptyDir: {}\n", ["out=pvc:../../escaped"], "-w 'out=pvc:../../escaped': invalid claim name"),
]


@pytest.mark.parametrize(("workspace", "flags", "words"), CASES)
def test_an_escaping_path_exits_2_and_writes_nothing_outside(
    tmp_path: Path, workspace: str, flags: list[str], words: str
) -> None:
    state = tmp_path / "a" / "b" / "state"
    files = tmp_path / "a" / "b" / "files"
    files.mkdir(parents=True)
    (files / "run.yaml").write_text(PIPELINE + RUN + workspace)
    env = {**os.environ, "GITLOOP_STATE_DIR": str(state)}
    args = ["pipeline", "run", "-f", str(files / "run.yaml"), *(f for flag in flags for f in ("-w", flag))]
    proc = subprocess.run([GITLOOP, *args], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert words in proc.stderr
    assert "Traceback" not in proc.stderr
    written = [p for p in tmp_path.rglob("*") if not p.is_relative_to(state) and p not in state.parents]
    assert sorted(written) == [files, files / "run.yaml"]
