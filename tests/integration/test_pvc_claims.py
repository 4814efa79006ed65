"""A ``PersistentVolumeClaim`` in the files is a named local volume: ``persistentVolumeClaim.claimName``
binds its directory under the state directory, and what one run writes there the next run finds, as a
bound claim keeps its data between PipelineRuns. An invalid claim stops the run before anything runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CLAIM_AND_RUN = """\
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: build-cache}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: STORAGE}}
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {generateName: count-}
spec:
  workspaces:
    - name: cache
      persistentVolumeClaim: {claimName: build-cache}
  pipelineSpec:
    workspaces: [{name: cache}]
    tasks:
      - name: count
        workspaces: [{name: cache}]
        taskSpec:
          workspaces: [{name: cache}]
          steps:
            - name: count
              image: alpine
              script: |
                runs=$(cat $(workspaces.cache.path)/runs 2>/dev/null || echo 0)
                echo $((runs + 1)) > $(workspaces.cache.path)/runs
                echo "run number $((runs + 1))"
"""


def _run(state: Path, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gitloop", "pipeline", "run", "-f", str(path)],
        env={**os.environ, "GITLOOP_STATE_DIR": str(state)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_claim_of_the_files_keeps_its_data_between_runs(tmp_path: Path) -> None:
    state = tmp_path / "state"
    path = tmp_path / "count.yaml"
    path.write_text(CLAIM_AND_RUN.replace("STORAGE", "1Gi"))
    volume = state / "volumes" / "build-cache"

    first = _run(state, path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "[count/count] run number 1" in first.stdout
    assert f"PersistentVolumeClaim 'build-cache': the local directory {volume} (created;" in first.stderr
    second = _run(state, path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "[count/count] run number 2" in second.stdout
    assert "(kept from earlier runs; ReadWriteOnce, size not enforced)" in second.stderr
    assert (volume / "runs").read_text() == "2\n"


def test_an_invalid_claim_stops_the_run_before_anything_runs(tmp_path: Path) -> None:
    state = tmp_path / "state"
    path = tmp_path / "count.yaml"
    path.write_text(CLAIM_AND_RUN.replace("STORAGE", "lots"))
    done = _run(state, path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{path}:6" in done.stderr and "spec.resources.requests.storage" in done.stderr
    assert "'lots' is not a quantity" in done.stderr
    assert not (state / "volumes" / "build-cache").exists()
