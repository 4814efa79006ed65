"""Background processes that gitloop starts and later stops: by recorded PID only, never by name.

A recorded process is (pid, start time in clock ticks since boot, from ``/proc/PID/stat``), so a PID
that the kernel has since handed to another program is recognised as stale and left alone.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gitloop.processes import signal_group, terminate_group


@dataclass(frozen=True)
class Recorded:
    """A process gitloop started: its role, PID, start time and log file."""

    role: str
    pid: int
    start_time: int
    log: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Recorded:
        return cls(str(data["role"]), int(data["pid"]), int(data["start_time"]), str(data["log"]))


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot, or ``None`` if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after its closing ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    state = fields[0]
    if state in ("Z", "X"):
        return None
    return int(fields[19])


def alive(proc: Recorded) -> bool:
    """True if the recorded process is still the one gitloop started."""
    return start_time(proc.pid) == proc.start_time


def spawn(
    role: str,
    argv: Sequence[str],
    log: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Recorded:
    """Start ``argv`` detached in its own session, output appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    started = start_time(proc.pid)
    # The Popen object is dropped on purpose: the process outlives this one. Mark it as reaped for
    # Python's bookkeeping so no ResourceWarning is raised; the kernel reparents it when we exit.
    proc.returncode = 0
    return Recorded(role, proc.pid, started if started is not None else -1, str(log))


def stop(procs: Sequence[Recorded], *, grace: float = 10.0) -> None:
    """SIGTERM each live recorded process group, then SIGKILL what is left after ``grace`` seconds."""
    live = [p for p in procs if alive(p)]
    for p in live:
        terminate_group(p.pid)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(p) for p in live):
        _reap(live)
        time.sleep(0.05)
    for p in live:
        if alive(p):
            signal_group(p.pid)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(p) for p in live):
        _reap(live)
        time.sleep(0.05)


def _reap(procs: Sequence[Recorded]) -> None:
    """Collect exit statuses of our own children so they do not linger as zombies."""
    for p in procs:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(p.pid, os.WNOHANG)


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports on 127.0.0.1 that were free a moment ago."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()
