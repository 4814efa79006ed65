"""Process groups and their output, shared by the executors: stop a group gracefully, pump its lines."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from typing import IO

from gitloop.ports import OutputSink

STREAM_LIMIT = 1 << 20
"""The longest line read at once (``limit`` of the subprocess streams)."""


def kill_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


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
