"""Propagation and step exit codes with real processes (local executor): a PipelineRun whose embedded
specs declare neither the params nor the workspace they use (Tekton's propagated params, workspaces
and results), a TaskRun whose embedded taskSpec uses the run's workspace undeclared, and a step with
``onError: continue`` whose exit code the next step reads from ``$(steps.step-<name>.exitCode.path)``,
and an optional workspace deciding ``when`` by ``$(workspaces.<w>.bound)`` (with a ``displayName``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gitloop.cli.main import cli

pytestmark = pytest.mark.integration

PROPAGATED = """\
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: propagated}
spec:
  params:
    - {name: HELLO, value: "Hello World!"}
    - {name: repo, value: {url: "https://example.invalid/app"}}
  workspaces:
    - name: shared
      volumeClaimTemplate:
        spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Mi}}}
  pipelineSpec:
    tasks:
      - name: write
        taskSpec:
          params: [{name: HELLO, default: "task default"}]
          results: [{name: word}]
          steps:
            - name: s
              image: alpine
              script: |
                echo "$(params.HELLO) from $(params.repo.url)" > $(workspaces.shared.path)/note
                printf written > $(results.word.path)
      - name: read
        taskSpec:
          steps:
            - name: s
              image: alpine
              script: |
                echo "$(tasks.write.results.word): $(cat $(workspaces.shared.path)/note)"
"""

TASK_RUN = """\
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: exit-codes}
spec:
  params: [{name: code, value: "3"}]
  workspaces: [{name: scratch, emptyDir: {}}]
  taskSpec:
    steps:
      - name: fail
        image: alpine
        onError: continue
        script: |
          echo failing > $(workspaces.scratch.path)/log
          exit $(params.code)
      - name: verify
        image: alpine
        script: |
          echo "previous exit code $(cat $(steps.step-fail.exitCode.path)), log $(cat $(workspaces.scratch.path)/log)"
"""


def _manifest(stdout: str) -> dict[str, Any]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line in ("{", "["))
    found = json.loads("\n".join(lines[start:]))
    manifest: dict[str, Any] = found[0] if isinstance(found, list) else found
    return manifest


@pytest.fixture(autouse=True)
def _state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITLOOP_STATE_DIR", str(tmp_path / "state"))


def test_propagation_params_workspaces_and_results_reach_embedded_specs(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(PROPAGATED)
    result = CliRunner().invoke(cli, ["pipeline", "run", "-f", str(path)])
    assert result.exit_code == 0, result.output
    # the run's value wins over the embedded spec's default; the claim is shared by both tasks
    assert "[read/s] written: Hello World! from https://example.invalid/app" in result.output


def test_propagation_on_error_continue_exposes_the_exit_code(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(TASK_RUN)
    result = CliRunner().invoke(cli, ["task", "run", "-f", str(path), "-o", "json"])
    assert result.exit_code == 0, result.output
    assert "[exit-codes/verify] previous exit code 3, log failing" in result.output
    status = _manifest(result.stdout)["status"]
    assert status["conditions"][0]["reason"] == "Succeeded"
    fail, verify = status["steps"]
    assert (fail["terminated"]["exitCode"], fail["terminated"]["reason"]) == (3, "Error")
    assert verify["terminated"]["exitCode"] == 0


OPTIONAL = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: optional}
spec:
  workspaces: [{name: cache, optional: true}]
  tasks:
    - name: with-cache
      displayName: "cache for $(context.pipelineRun.name)"
      when: [{input: $(workspaces.cache.bound), operator: in, values: ["true"]}]
      taskSpec:
        steps: [{name: s, image: alpine, script: "ls $(workspaces.cache.path)"}]
    - name: without-cache
      when: [{input: $(workspaces.cache.bound), operator: notin, values: ["true"]}]
      taskSpec:
        steps: [{name: s, image: alpine, script: "echo no cache"}]
"""


def test_propagation_optional_workspace_in_when(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text(OPTIONAL)
    unbound = CliRunner().invoke(cli, ["pipeline", "run", "-f", str(path), "-o", "json"])
    assert unbound.exit_code == 0, unbound.output
    assert "[without-cache/s] no cache" in unbound.output
    status = _manifest(unbound.stdout)["status"]
    assert [t["name"] for t in status["skippedTasks"]] == ["with-cache"]
    (cache := tmp_path / "cache").mkdir()
    (cache / "warm").write_text("")
    bound = CliRunner().invoke(
        cli, ["pipeline", "run", "-f", str(path), "-w", f"cache={cache}", "-o", "json"]
    )
    assert bound.exit_code == 0, bound.output
    assert "[with-cache/s] warm" in bound.output and "no cache" not in bound.output
    children = _manifest(bound.stdout)["status"]["childReferences"]
    assert [c.get("displayName", "") for c in children] == [
        f"cache for {_manifest(bound.stdout)['metadata']['name']}"
    ]
