"""Recorded processes: start-time identity, stale detection, stopping whole process groups."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from gitloop.localinfra import processes


def test_start_time_of_self_and_absent_pid() -> None:
    assert processes.start_time(os.getpid()) is not None
    assert processes.start_time(2**22 + 11) is None


def test_spawn_then_stop_kills_the_group(tmp_path: Path) -> None:
    # The child starts a grandchild in the same process group; stop() must end both.
    code = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); print('up', flush=True); time.sleep(60)"
    rec = processes.spawn("sleeper", [sys.executable, "-c", code], tmp_path / "log" / "s.log")
    assert processes.alive(rec)
    assert rec.to_json()["role"] == "sleeper"
    assert processes.Recorded.from_json(rec.to_json()) == rec
    processes.stop([rec], grace=5)
    assert not processes.alive(rec)


def test_reused_pid_is_not_ours() -> None:
    me = processes.Recorded("x", os.getpid(), (processes.start_time(os.getpid()) or 0) + 1, "/dev/null")
    assert not processes.alive(me)
    processes.stop([me])  # must not signal a process that is not ours
    assert processes.start_time(os.getpid()) is not None


def test_free_ports_are_distinct() -> None:
    ports = processes.free_ports(5)
    assert len(set(ports)) == 5 and all(p > 0 for p in ports)
