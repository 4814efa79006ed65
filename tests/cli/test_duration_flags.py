"""``--timeout`` of ``pipeline run`` and ``task run``: a negative or malformed duration is a usage error
(exit 2, the option named, nothing run); zero and positive durations run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

GITLOOP = str(Path(sys.executable).parent / "gitloop")

TASK = """\
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: hello}
spec:
  steps:
    - {name: say, image: alpine, script: "echo hello"}
"""

PIPELINE = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: greet}
spec:
  tasks:
    - {name: hello, taskRef: {name: hello}}
"""


def _gitloop(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "task.yaml").write_text(TASK)
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "GITLOOP_STATE_DIR": str(tmp_path / "state")}
    return subprocess.run(
        [GITLOOP, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )


RUNS = {
    "pipeline": ("pipeline", "run", "-f", "task.yaml", "-f", "pipeline.yaml", "--pipeline", "greet"),
    "task": ("task", "run", "-f", "task.yaml"),
}


@pytest.mark.parametrize("command", sorted(RUNS))
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1s", "'-1s' is negative"),
        ("-5m", "'-5m' is negative"),
        ("soon", "invalid duration 'soon'"),
        ("10", "invalid duration '10'"),
    ],
)
def test_a_bad_timeout_is_a_usage_error(tmp_path: Path, command: str, value: str, message: str) -> None:
    done = _gitloop(tmp_path, *RUNS[command], "--timeout", value)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Invalid value for '--timeout'" in done.stderr and message in done.stderr, done.stderr
    assert "hello" not in done.stdout  # nothing ran


@pytest.mark.parametrize("command", sorted(RUNS))
@pytest.mark.parametrize("value", ["0", "1m30s"])
def test_zero_and_positive_timeouts_run(tmp_path: Path, command: str, value: str) -> None:
    done = _gitloop(tmp_path, *RUNS[command], "--timeout", value)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Succeeded" in done.stdout


@pytest.mark.parametrize(
    "command",
    [
        ("app", "wait", "-f", "app.yaml"),
        ("cluster", "up", "--name", "never-started"),
        ("demo", "--once"),
    ],
    ids=["app-wait", "cluster-up", "demo"],
)
@pytest.mark.parametrize("value", ["-1", "0", "soon"])
def test_the_seconds_timeouts_refuse_what_is_not_a_positive_number(
    tmp_path: Path, command: tuple[str, ...], value: str
) -> None:
    done = _gitloop(tmp_path, *command, "--timeout", value)
    assert done.returncode == 2, done.stderr
    assert "Invalid value for '--timeout'" in done.stderr
    assert not (tmp_path / "state" / "clusters").exists()
