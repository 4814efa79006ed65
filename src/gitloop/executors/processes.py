"""Process groups and their output, shared by the executors: stop a group gracefully, pump its lines,
and record a group's leader (PID and start time) so a later process can kill what a crash left behind.

Records live in each sandbox: ``pids/<container>`` (``<pid> <start time>`` of the group leader) and,
for the podman executor, ``containers/<container>`` (the container's name)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

from gitloop.ports import OutputSink
from gitloop.processes import signal_group, terminate_group

STREAM_LIMIT = 1 << 20
"""The longest line read at once (``limit`` of the subprocess streams)."""
PIDS_DIR = "pids"
CONTAINERS_DIR = "containers"


def start_time(pid: int) -> str:
    """The start time of process ``pid`` in clock ticks since boot (``/proc/<pid>/stat``), ``""`` if
    unknown: with the PID, it names one process even after the PID is reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else ""


def recorder(path: Path) -> Callable[[], None]:
    """A ``preexec_fn`` that writes ``<pid> <start time>`` of the new process to ``path`` from inside
    it, after ``setsid`` and before ``exec``: a step is recorded before it runs any code of its own,
    so a runner killed the instant after starting it still leaves the record its watcher needs. It
    makes only ``os`` calls (no lock another thread could hold at the fork) and never raises."""
    target = os.fsencode(path)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)

    def record() -> None:
        try:
            stat_fd = os.open(b"/proc/self/stat", os.O_RDONLY)
            try:
                stat = os.read(stat_fd, 4096)
            finally:
                os.close(stat_fd)
            fields = stat.rpartition(b")")[2].split()
            started = fields[19] if len(fields) > 19 else b""
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, b"%d %s\n" % (os.getpid(), started))
            finally:
                os.close(fd)
        except OSError:
            return

    return record


def record_container(path: Path, name: str) -> None:
    """Write the name of a podman container about to be started to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{name}\n")


def read_record(path: Path) -> tuple[int, str] | None:
    """The ``(pid, start time)`` written by ``recorder``; ``None`` if unreadable."""
    try:
        pid_text, _, started = path.read_text().strip().partition(" ")
        return int(pid_text), started
    except (OSError, ValueError):
        return None


def kill_recorded_groups(records: Iterable[Path]) -> int:
    """SIGKILL the process group of each recorded leader; how many groups were signalled.

    A group is killed when its leader still runs (same PID, same start time) and also when the leader
    is gone: members of its group may live on (a step's background job), and Linux does not hand out
    a PID again while a process group of that number exists, so the group is still the step's. A
    recorded PID now used by another process (its start time differs), or a record without a start
    time, is left alone."""
    killed = 0
    for record in records:
        found = read_record(record)
        if found is None:
            continue
        pid, started = found
        now = start_time(pid)
        if pid > 1 and started and now in (started, "") and signal_group(pid):
            killed += 1
    return killed


async def stop_process(process: asyncio.subprocess.Process, grace: float) -> None:
    """SIGTERM to the process group, SIGKILL after ``grace`` if the main process is still there."""
    terminate_group(process.pid)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), grace)
    signal_group(process.pid)
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
