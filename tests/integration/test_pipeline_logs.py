"""Step logs through the real CLI: real steps print tens of MB, the store keeps only the per-step cap
(marked), ``gitloop pipeline logs`` reads any log in small memory, and ``logs -f`` follows a run that
is still going, exiting as the run ended (or 130 on Ctrl-C)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

GITLOOP = Path(sys.executable).parent / "gitloop"
LINES, WIDTH = 250_000, 200  # 50 MB of output
PRINTED = LINES * WIDTH + len("the end\n")

CHATTY = f"""\
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {{name: chatty}}
spec:
  taskSpec:
    steps:
      - name: print
        image: python
        script: |
          #!/usr/bin/env python3
          import sys
          line = "x" * {WIDTH - 1} + "\\n"
          for _ in range({LINES}):
              sys.stdout.write(line)
          sys.stdout.write("the end\\n")
"""

# Peak memory of one child: RUSAGE_CHILDREN of a fresh interpreter that ran nothing else.
_PEAK_RSS = """\
import resource, subprocess, sys
with open(sys.argv[1], "wb") as out:
    code = subprocess.run(sys.argv[2:], stdout=out, check=False).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "GITLOOP_STATE_DIR": str(tmp_path / "state")}


def _run(tmp_path: Path, env: dict[str, str], text: str, *flags: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    argv = [str(GITLOOP), "task", "run", "-f", str(path), *flags]
    return subprocess.run(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=300, check=False
    )


def _logs_and_peak_rss(env: dict[str, str], out: Path, *args: str) -> tuple[int, int]:
    """Exit code and peak RSS in bytes of ``gitloop pipeline logs ARGS`` printing into ``out``."""
    argv = [sys.executable, "-c", _PEAK_RSS, str(out), str(GITLOOP), "pipeline", "logs", *args]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=True)
    code, kib = done.stdout.split()
    return int(code), int(kib) * 1024


def _store_bytes(env: dict[str, str]) -> int:
    state = Path(env["GITLOOP_STATE_DIR"])
    return sum(p.stat().st_size for p in state.iterdir() if p.name.startswith("gitloop.db"))


def test_a_step_printing_50_mb_keeps_only_the_cap_and_says_so(tmp_path: Path, env: dict[str, str]) -> None:
    ran = _run(tmp_path, env, CHATTY)
    assert ran.returncode == 0, ran.stderr  # the step was drained to its end: it succeeded
    assert _store_bytes(env) < 6 << 20  # the 4 MiB default cap, not 50 MB (or 120 MB of rows)

    out = tmp_path / "logs.txt"
    code, peak = _logs_and_peak_rss(env, out, "chatty")
    assert code == 0
    assert peak < 150 << 20
    lines = out.read_text().splitlines()
    marker = re.fullmatch(
        r"\[chatty/print\] \[gitloop: log truncated after (\d+) bytes; (\d+) more bytes dropped\]", lines[-1]
    )
    assert marker is not None, lines[-1]
    kept, dropped = int(marker[1]), int(marker[2])
    assert (4 << 20) - WIDTH < kept <= 4 << 20
    assert kept + dropped == PRINTED
    assert lines[:-1] == [f"[chatty/print] {'x' * (WIDTH - 1)}"] * (kept // WIDTH)


def test_logs_of_any_size_are_read_in_small_memory(tmp_path: Path, env: dict[str, str]) -> None:
    ran = _run(tmp_path, env, CHATTY, "--log-limit", "0")
    assert ran.returncode == 0, ran.stderr
    assert _store_bytes(env) < 1.2 * PRINTED  # chunks: little more than the text itself

    out = tmp_path / "logs.txt"
    code, peak = _logs_and_peak_rss(env, out, "chatty")
    assert code == 0
    assert peak < 150 << 20, f"pipeline logs peaked at {peak >> 20} MiB"
    assert out.stat().st_size == PRINTED + (LINES + 1) * len("[chatty/print] ")
    with out.open() as got:
        assert sum(1 for _ in got) == LINES + 1


def test_a_bad_log_limit_is_a_usage_error(tmp_path: Path, env: dict[str, str]) -> None:
    ran = _run(tmp_path, env, CHATTY, "--log-limit", "lots")
    assert ran.returncode == 2
    assert "--log-limit" in ran.stderr and "Mi" in ran.stderr


def _slow(name: str, ticks: int, exit_code: int) -> str:
    return f"""\
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {{name: {name}}}
spec:
  taskSpec:
    steps:
      - name: tick
        image: busybox
        script: |
          #!/bin/sh
          for i in $(seq 1 {ticks}); do echo "tick $i"; sleep 0.4; done
          exit {exit_code}
"""


def _start(tmp_path: Path, env: dict[str, str], text: str) -> subprocess.Popen[bytes]:
    path = tmp_path / "slow.yaml"
    path.write_text(text)
    argv = [str(GITLOOP), "task", "run", "-f", str(path)]
    return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _follow(env: dict[str, str], name: str) -> subprocess.Popen[str]:
    """``logs NAME -f`` with its stdout to read line by line; its stderr goes to a file (``_rest``)."""
    argv = [str(GITLOOP), "pipeline", "logs", name, "-f"]
    errors = Path(env["GITLOOP_STATE_DIR"]).parent / f"{name}-follow.err"
    with errors.open("w") as sink:
        return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=sink, text=True)


def _rest(follow: subprocess.Popen[str], name: str, env: dict[str, str]) -> tuple[str, str]:
    """What ``follow`` prints until it exits (read through the same buffered pipe ``readline`` used:
    ``communicate`` would skip what that buffer already holds), and its stderr."""
    assert follow.stdout is not None
    rest = follow.stdout.read()
    follow.wait(timeout=60)
    return rest, (Path(env["GITLOOP_STATE_DIR"]).parent / f"{name}-follow.err").read_text()


def _stop(*processes: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    """Kill what still runs and close its pipes."""
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.communicate()


@pytest.mark.parametrize(("exit_code", "expected"), [(0, 0), (3, 1)])
def test_follow_streams_a_running_run_to_its_end(
    tmp_path: Path, env: dict[str, str], exit_code: int, expected: int
) -> None:
    run = _start(tmp_path, env, _slow("slowpoke", 8, exit_code))
    follow = _follow(env, "slowpoke")  # the run may not be in the store yet: -f waits for it
    try:
        assert follow.stdout is not None
        first = follow.stdout.readline()
        assert first == "[slowpoke/tick] tick 1\n"
        assert run.poll() is None  # the line came while the run was still going
        rest, errors = _rest(follow, "slowpoke", env)
        assert follow.returncode == expected, errors
        assert (first + rest).splitlines() == [f"[slowpoke/tick] tick {i}" for i in range(1, 9)]
        assert run.wait(timeout=60) == (0 if exit_code == 0 else 1)
    finally:
        _stop(follow, run)


def test_ctrl_c_stops_following_with_130_and_no_traceback(tmp_path: Path, env: dict[str, str]) -> None:
    run = _start(tmp_path, env, _slow("endless", 300, 0))
    follow = _follow(env, "endless")
    try:
        assert follow.stdout is not None
        assert follow.stdout.readline() == "[endless/tick] tick 1\n"
        follow.send_signal(signal.SIGINT)
        _, errors = _rest(follow, "endless", env)
        assert follow.returncode == 130
        assert "Traceback" not in errors
        assert run.poll() is None  # following never touches the run
    finally:
        run.send_signal(signal.SIGINT)  # cancels the run, which stops its step
        try:
            run.wait(timeout=60)
        except subprocess.TimeoutExpired:
            run.kill()
            run.wait()
        _stop(follow)


def test_follow_ends_when_the_run_s_gitloop_process_is_killed(tmp_path: Path, env: dict[str, str]) -> None:
    """``kill -9`` of ``task run``: the run never ends by itself; ``-f`` ends it Interrupted and exits 1."""
    run = _start(tmp_path, env, _slow("orphan", 300, 0))
    follow = _follow(env, "orphan")
    try:
        assert follow.stdout is not None
        assert follow.stdout.readline() == "[orphan/tick] tick 1\n"
        run.kill()
        run.wait()
        _, errors = _rest(follow, "orphan", env)
        assert follow.returncode == 1, errors
    finally:
        _stop(follow, run)
    got = subprocess.run(
        [str(GITLOOP), "pipeline", "get", "orphan"], env=env, capture_output=True, text=True, timeout=60
    )
    assert "reason: Interrupted" in got.stdout


def test_logs_of_an_unknown_run_are_a_usage_error(env: dict[str, str]) -> None:
    done = subprocess.run(
        [str(GITLOOP), "pipeline", "logs", "no-such-run"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "no run named 'no-such-run'" in done.stderr
