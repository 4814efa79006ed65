"""Hostile YAML through the real ``gitloop`` command: a billion-laughs file, a file nested 1,000 deep and
an oversized file give exit 2 in bounded time, naming the file and the limit, never a traceback, in
every command that reads a user's YAML (``pipeline run``, ``task run``, ``health``, ``image set``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

HOSTILE = Path(__file__).parent.parent / "spec" / "testdata" / "hostile"

# case -> (how the file is made, words stderr must hold)
CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "billion-laughs": (
        lambda path: shutil.copy(HOSTILE / "billion-laughs.yaml", path),
        "YAML aliases expand to more than 100000 nodes (the limit; set GITLOOP_MAX_ALIAS_NODES",
    ),
    "nested-1000": (
        lambda path: shutil.copy(HOSTILE / "deep-flow.yaml", path),
        "nests deeper than 100 levels (the limit; set GITLOOP_MAX_INPUT_DEPTH",
    ),
    "oversized": (
        lambda path: path.write_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n"
            + "".join(f"  k{i}: {'x' * 100}\n" for i in range(90_000)),
            encoding="utf-8",
        ),
        "more than 8388608 (the limit; set GITLOOP_MAX_INPUT_BYTES",
    ),
}

COMMANDS: dict[str, list[str]] = {
    "pipeline-run": ["pipeline", "run", "-f", "{file}"],
    "task-run": ["task", "run", "-f", "{file}"],
    "health": ["health", "-f", "{file}"],
    "image-set": ["image", "set", "--dir", "{dir}", "--file", "{name}", "--image", "busybox=busybox:2"],
}


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@localhost", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_file_exits_2_naming_the_file_and_the_limit(case: str, command: str, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    name = f"{case}.yaml"
    make, words = CASES[case]
    make(repo / name)
    if command == "image-set":
        _git(repo, "init", "-q", "-b", "main")
        _git(repo, "add", name)
        _git(repo, "commit", "-q", "-m", "hostile")
    args = [a.format(file=repo / name, dir=repo, name=name) for a in COMMANDS[command]]
    env = {**os.environ, "GITLOOP_STATE_DIR": str(tmp_path / "state"), "NO_COLOR": "1"}
    for variable in ("GITLOOP_MAX_INPUT_BYTES", "GITLOOP_MAX_INPUT_DEPTH", "GITLOOP_MAX_ALIAS_NODES"):
        env.pop(variable, None)

    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "gitloop", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    elapsed = time.monotonic() - started

    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert name in proc.stderr
    assert words in proc.stderr
    assert len(proc.stderr) < 1000
    assert elapsed < 15, f"took {elapsed:.1f}s"
