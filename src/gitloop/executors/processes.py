"""Process groups and their output, shared by the executors: stop a group gracefully, pump its lines,
and record a group's leader (PID and start time) so a later process can kill what a crash left behind."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from gitloop.ports import OutputSink

STREAM_LIMIT = 1 << 20
"""The longest line read at once (``limit`` of the subprocess streams)."""


def kill_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def start_time(pid: int) -> str:
    """The start time of process ``pid`` in clock ticks since boot (``/proc/<pid>/stat``), ``""`` if
    unknown: with the PID, it names one process even after the PID is reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else ""


def record_process(path: Path, pid: int) -> None:
    """Write ``<pid> <start time>`` of a process group's leader to ``path`` (best effort)."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{pid} {start_time(pid)}\n")


def kill_recorded_groups(records: Iterable[Path]) -> int:
    """SIGKILL the process group of each recorded leader that still runs (same PID, same start time);
    how many were killed. A record without a start time cannot be checked and is skipped."""
    killed = 0
    for record in records:
        try:
            pid_text, _, started = record.read_text().strip().partition(" ")
            pid = int(pid_text)
        except (OSError, ValueError):
            continue
        if pid > 1 and started and start_time(pid) == started:
            kill_group(pid, signal.SIGKILL)
            killed += 1
    return killed


async def stop_process(process: asyncio.subprocess.Process, grace: float) -> None:
    """SIGTERM to the process group, SIGKILL after ``grace`` if the main process is still there."""
    kill_group(process.pid, signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), grace)
    kill_group(process.pid, signal.SIGKILL)
    await process.wait()


async def pump_lines(
    stream: asyncio.StreamReader | None, name: str, output: OutputSink, copy: IO[bytes] | None
) -> None:
    """Hand each line of ``stream`` to ``output`` as ``name`` (and copy the bytes to ``copy``)."""
    if stream is None:
        return
    while True:
        try:
            line = await stream.readline()
        except ValueError:  # a line longer than the stream's limit: pass it on in pieces
            line = await stream.read(STREAM_LIMIT)
        if not line:
            return
        if copy is not None:
            copy.write(line)
        output(name, line.decode("utf-8", errors="replace").rstrip("\r\n"))
