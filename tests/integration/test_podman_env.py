"""The podman executor gives a container its environment without putting a value on podman's command
line, which every user of the machine can read (``ps``, ``/proc/<pid>/cmdline``): Secret values reach
the step — a one-line value through a 0600 ``--env-file``, a multi-line one (an SSH key) through
podman's own environment — and never appear in any process's arguments while the step runs."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitloop.pipeline.state import PipelineRunState, TaskRunState
from gitloop.service.pipelines import RunRequest, execute, prepare_task_run
from realparts import podman_setup

pytestmark = pytest.mark.integration

SINGLE = f"gitloop-canary-{uuid.uuid4().hex}-single value = with # signs"
MULTI = f"-----BEGIN KEY-----\ngitloop-canary-{uuid.uuid4().hex}-multi\n-----END KEY-----"


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    env, image = podman_setup(tmp_path_factory.mktemp("podman-env"))
    yield env["CONTAINERS_CONF"], image


class _Quiet:
    def log(self, source: str, line: str) -> None:
        return None

    def changed(self, state: PipelineRunState | TaskRunState) -> None:
        return None

    def notice(self, message: str) -> None:
        return None


def _arguments() -> list[bytes]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found.append((entry / "cmdline").read_bytes())
            except OSError:
                continue
    return found


def test_secret_env_reaches_the_container_and_no_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, image: tuple[str, str]
) -> None:
    conf, ref = image
    monkeypatch.setenv("GITLOOP_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("CONTAINERS_CONF", conf)
    path = tmp_path / "taskrun.yaml"
    path.write_text(f"""\
apiVersion: v1
kind: Secret
metadata: {{name: creds}}
stringData:
  single: {json.dumps(SINGLE)}
  multi: {json.dumps(MULTI)}
---
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {{name: env-run}}
spec:
  taskSpec:
    results: [{{name: single}}, {{name: multi}}]
    steps:
      - name: show
        image: {ref}
        env:
          - {{name: SINGLE, valueFrom: {{secretKeyRef: {{name: creds, key: single}}}}}}
          - {{name: MULTI, valueFrom: {{secretKeyRef: {{name: creds, key: multi}}}}}}
        script: |
          sleep 2
          printf '%s' "$SINGLE" > $(results.single.path)
          printf '%s' "$MULTI" > $(results.multi.path)
""")
    prepared = prepare_task_run(RunRequest([path], executor="podman"))
    seen: list[bytes] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.extend(a for a in _arguments() if b"gitloop-canary" in a)
            done.wait(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = execute(prepared, _Quiet(), handle_signals=False)
    finally:
        done.set()
        watcher.join()
    assert result.succeeded, result.manifest["status"]
    results = {r["name"]: r["value"] for r in result.manifest["status"]["results"]}
    assert results == {"single": SINGLE, "multi": MULTI}
    leaked = [a for a in seen if SINGLE.encode() in a or b"-multi" in a]
    assert leaked == []
