"""Local steps in the namespace sandbox, for real (bubblewrap is a real part: missing, it fails under CI).

Written from Tekton's filesystem contract (container-contract.md, workspaces.md, tasks.md): scripts
read and write the literal paths ``/workspace/<w>``, ``/tekton/results/<r>`` and volume ``mountPath``s;
``readOnly`` is enforced (EROFS fails the step); ``workingDir`` defaults to ``/workspace``; ``HOME``
is ``/tekton/home``; ``$(...path)`` variables are those same paths. The ``paths`` mode still runs
today's examples, and every run says which mode ran (a notice, and an annotation on its records).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gitloop.executors.namespace import namespace_problem
from gitloop.service.pipelines import (
    SANDBOX_ANNOTATION,
    RunRequest,
    RunResult,
    execute,
    get_run,
    prepare_pipeline_run,
    prepare_task_run,
    store_opener,
)
from realparts import missing, require_program

pytestmark = pytest.mark.integration


class Recorder:
    """A ``RunView`` that keeps what it was shown."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self.notices: list[str] = []

    def log(self, source: str, line: str) -> None:
        self.lines.append((source, line))

    def changed(self, state: object) -> None:
        return None

    def notice(self, message: str) -> None:
        self.notices.append(message)

    def said(self, step: str) -> list[str]:
        return [line for source, line in self.lines if source.endswith(f"/{step}")]


@pytest.fixture(autouse=True)
def namespaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_program("bwrap", "bubblewrap")
    problem = namespace_problem()
    if problem:
        missing(problem)
    monkeypatch.setenv("GITLOOP_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("GITLOOP_SANDBOX", raising=False)


def _run(tmp_path: Path, text: str, kind: str = "task", **fields: Any) -> tuple[RunResult, Recorder]:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    view = Recorder()
    prepare = prepare_task_run if kind == "task" else prepare_pipeline_run
    return execute(prepare(RunRequest([path], **fields)), view, handle_signals=False), view


def _results(result: RunResult) -> dict[str, Any]:
    return {r["name"]: r["value"] for r in result.manifest["status"].get("results", [])}


TEKTON_PATHS = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {level: debug, colour: blue}
---
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: paths}
spec:
  workspaces:
    - {name: source, emptyDir: {}}
  taskSpec:
    workspaces: [{name: source}]
    results: [{name: where}, {name: seen}]
    volumes:
      - {name: cache, emptyDir: {}}
      - name: settings
        configMap: {name: settings, items: [{key: level, path: conf/level}]}
    steps:
      - name: write
        image: docker.io/library/alpine:3
        volumeMounts: [{name: cache, mountPath: /cache}]
        script: |
          #!/bin/sh
          set -e
          echo "pwd=$(pwd) home=$HOME"
          echo "vars=$(workspaces.source.path) $(results.where.path)"
          mkdir -p /workspace/source/app
          echo hello > /workspace/source/app/file
          echo kept > /cache/entry
          echo "$HOME" > ~/where-home
          printf '%s' "$(pwd)" > /tekton/results/where
      - name: read
        image: docker.io/library/busybox:1
        workingDir: /workspace/source/app
        volumeMounts:
          - {name: cache, mountPath: /cache}
          - {name: settings, mountPath: /config, subPath: conf, readOnly: true}
        script: |
          #!/bin/sh
          set -e
          echo "pwd=$(pwd)"
          echo "file=$(cat file) cache=$(cat /cache/entry) level=$(cat /config/level)"
          ls /tekton/results /tekton/steps
          printf '%s' "$(cat /tekton/home/where-home)" > $(results.seen.path)
"""


def test_scripts_use_tektons_paths_literally(tmp_path: Path) -> None:
    before = {p for p in ("/workspace", "/tekton", "/cache", "/config") if Path(p).exists()}
    result, view = _run(tmp_path, TEKTON_PATHS)
    assert result.succeeded, (result.manifest["status"], view.lines)
    assert view.said("write")[:2] == [
        "pwd=/workspace home=/tekton/home",  # workingDir defaults to /workspace, HOME is Tekton's
        "vars=/workspace/source /tekton/results/where",  # $(...path) are the paths the step sees
    ]
    read = view.said("read")
    assert read[:2] == ["pwd=/workspace/source/app", "file=hello cache=kept level=debug"]
    assert {"where", "step-write", "step-read"} <= set(read[2:])
    assert _results(result) == {"where": "/workspace", "seen": "/tekton/home"}
    assert view.notices[0].startswith("local steps run in a namespace sandbox (bubblewrap)")
    assert view.notices[-1] == (
        "the local executor ran host tools, not the step images docker.io/library/alpine:3, "
        "docker.io/library/busybox:1; --executor podman runs steps in their images"
    )
    assert len(view.notices) == 2  # once per run, not per step
    after = {p for p in ("/workspace", "/tekton", "/cache", "/config") if Path(p).exists()}
    assert after == before  # nothing was made on the host's root


READ_ONLY = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: guarded}
spec:
  workspaces: [{name: shared}]
  tasks:
    - name: produce
      workspaces: [{name: out, workspace: shared}]
      taskSpec:
        workspaces: [{name: out}]
        steps:
          - name: make
            image: busybox
            script: |
              #!/bin/sh
              echo v1 > /workspace/out/version
    - name: consume
      runAfter: [produce]
      workspaces: [{name: in, workspace: shared}]
      taskSpec:
        workspaces: [{name: in, readOnly: true}]
        steps:
          - name: tamper
            image: busybox
            script: |
              #!/bin/sh
              set -e
              cat /workspace/in/version
              echo v2 > /workspace/in/version
              echo "still here"
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: guarded-run}
spec:
  pipelineRef: {name: guarded}
  workspaces: [{name: shared, emptyDir: {}}]
"""


def test_read_only_workspace_refuses_writes(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    result, view = _run(tmp_path, READ_ONLY, kind="pipeline", workspaces=[f"shared={shared}"])
    assert not result.succeeded
    tamper = view.said("tamper")
    assert tamper[0] == "v1"
    assert any("Read-only file system" in line for line in tamper)
    assert "still here" not in tamper  # the write failed, and with it the step (set -e)
    assert (shared / "version").read_text() == "v1\n"  # the host directory behind /workspace/out
    store = store_opener(None)()
    try:
        stored, _children = get_run(store, "guarded-run")
    finally:
        store.close()
    assert stored.manifest["metadata"]["annotations"][SANDBOX_ANNOTATION] == "namespace"


PATHS_MODE = """\
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: classic}
spec:
  workspaces: [{name: source, emptyDir: {}}]
  taskSpec:
    workspaces: [{name: source}]
    results: [{name: out}]
    steps:
      - name: use-variables
        image: busybox
        script: |
          #!/bin/sh
          echo made > $(workspaces.source.path)/file
          printf '%s' "$(cat $(workspaces.source.path)/file)" > $(results.out.path)
          test -d /workspace/source || echo "no literal /workspace here"
"""


def test_the_paths_mode_runs_todays_examples(tmp_path: Path) -> None:
    result, view = _run(tmp_path, PATHS_MODE, sandbox="paths")
    assert result.succeeded, view.lines
    assert _results(result) == {"out": "made"}
    if not Path("/workspace/source").exists():
        assert view.said("use-variables") == ["no literal /workspace here"]
    assert view.notices[0] == (
        "local steps run without a namespace sandbox (the paths mode was asked for): $(...path) "
        "variables are host directories and literal /workspace or /tekton paths do not exist"
    )


def test_the_cli_says_which_mode_ran(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(PATHS_MODE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "GITLOOP_SANDBOX": "paths"}
    for sandbox, words in (
        ([], "local steps run without a namespace sandbox (the paths mode was asked for)"),
        (["--sandbox", "namespace"], "local steps run in a namespace sandbox (bubblewrap)"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "gitloop", "task", "run", "-f", str(path), *sandbox],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert sum(words in line for line in done.stderr.splitlines()) == 1, done.stderr
