"""Pipelines really run with the podman executor (podman is a real part: missing, it fails under CI).

The image is a tiny one made on the spot from the host's ``dash``, ``sleep`` and ``cat`` and the libraries
they load, symlinks resolved (``realparts.mini_image``), since nothing can be pulled here: results pass between tasks, a
workspace is mounted at its path (read-only where declared), a missing image fails the TaskRun with
``TaskRunImagePullFailed``, and a timeout stops the container.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gitloop.pipeline.state import PipelineRunState, TaskRunState
from gitloop.service.pipelines import RunRequest, RunResult, execute, prepare_pipeline_run
from realparts import podman_setup

pytestmark = pytest.mark.integration

IMAGE = "<test-image>"
"""Stands for the mini image in the pipeline texts below; ``_run`` puts the real reference in."""


@dataclass(frozen=True)
class Podman:
    env: dict[str, str]
    """The environment with ``CONTAINERS_CONF`` for podman."""
    image: str
    """The mini image, built from this machine's files."""


@pytest.fixture(scope="module")
def podman_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Podman]:
    yield Podman(*podman_setup(tmp_path_factory.mktemp("podman")))


class _Lines:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def log(self, source: str, line: str) -> None:
        self.lines.append((source, line))

    def changed(self, state: PipelineRunState | TaskRunState) -> None:
        return None

    def notice(self, message: str) -> None:
        return None


def _run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, podman: Podman, text: str, workspaces: list[str]
) -> tuple[RunResult, _Lines]:
    monkeypatch.setenv("GITLOOP_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("CONTAINERS_CONF", podman.env["CONTAINERS_CONF"])
    path = tmp_path / "pipeline.yaml"
    path.write_text(text.replace(IMAGE, podman.image))
    view = _Lines()
    prepared = prepare_pipeline_run(RunRequest([path], workspaces=workspaces, executor="podman"))
    return execute(prepared, view, handle_signals=False), view


PIPELINE = f"""\
apiVersion: tekton.dev/v1
kind: Task
metadata: {{name: echo}}
spec:
  params: [{{name: msg}}]
  workspaces: [{{name: w}}]
  results: [{{name: out}}]
  steps:
    - name: say
      image: {IMAGE}
      script: |
        echo "$(params.msg) in $(workspaces.w.path) home $HOME"
        printf '%s' "$(params.msg)+" > $(results.out.path)
        echo "$(params.msg)" >> $(workspaces.w.path)/log
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {{name: pod}}
spec:
  workspaces: [{{name: w}}]
  tasks:
    - {{name: a, taskRef: {{name: echo}}, params: [{{name: msg, value: hi}}], workspaces: [{{name: w}}]}}
    - {{name: b, taskRef: {{name: echo}}, params: [{{name: msg, value: "$(tasks.a.results.out)"}}], workspaces: [{{name: w}}]}}
    - name: read-only
      runAfter: [b]
      workspaces: [{{name: r, workspace: w}}]
      taskSpec:
        workspaces: [{{name: r, readOnly: true, mountPath: /data}}]
        steps:
          - name: try
            image: {IMAGE}
            script: |
              cat $(workspaces.r.path)/log
              if echo x > $(workspaces.r.path)/other 2>/dev/null; then exit 9; fi
              echo "read-only holds"
"""


def test_steps_run_in_their_image_with_workspaces_mounted(
    podman_env: Podman, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = tmp_path / "w"
    result, view = _run(tmp_path, monkeypatch, podman_env, PIPELINE, [f"w={w}"])
    assert result.succeeded, result.manifest["status"]
    assert ("a/say", "hi in /workspace/w home /tekton/home") in view.lines
    assert ("b/say", "hi+ in /workspace/w home /tekton/home") in view.lines
    assert ("read-only/try", "read-only holds") in view.lines
    assert (w / "log").read_text() == "hi\nhi+\n"


def test_missing_image_is_task_run_image_pull_failed(
    podman_env: Podman, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: nope}
spec:
  tasks:
    - name: pull
      taskSpec:
        steps: [{name: x, image: "localhost/gitloop-test/does-not-exist:1", script: "echo never"}]
"""
    result, _ = _run(tmp_path, monkeypatch, podman_env, text, [])
    assert not result.succeeded
    child = result.manifest["status"]["childReferences"][0]["name"]
    import gitloop.service.pipelines as service

    store = service.store_opener(None)()
    try:
        kept = store.get("TaskRun", child)
    finally:
        store.close()
    assert kept is not None
    condition = kept.doc["manifest"]["status"]["conditions"][0]  # type: ignore[index]
    assert condition["reason"] == "TaskRunImagePullFailed"
    assert "localhost/gitloop-test/does-not-exist:1" in condition["message"]


def test_timeout_stops_the_container(
    podman_env: Podman, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = f"""\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {{name: slow}}
spec:
  tasks:
    - name: sleepy
      timeout: 2s
      taskSpec:
        steps: [{{name: sleep, image: {IMAGE}, command: [sleep, "300"]}}]
"""
    started = time.monotonic()
    result, _ = _run(tmp_path, monkeypatch, podman_env, text, [])
    assert time.monotonic() - started < 30
    assert not result.succeeded
    podman = shutil.which("podman")
    assert podman is not None
    running = subprocess.run(
        [podman, "ps", "--format", "{{.Names}}"],
        env=podman_env.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "sleepy" not in running.stdout
