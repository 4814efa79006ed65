"""The watcher of a run's steps: when the process running them dies, even by ``kill -9``, it kills them.

An executor starts one watcher when it prepares its first sandbox (``Watcher.start``), a small
``python -m gitloop.executors.watcher ROOT`` process in a session of its own (a closed terminal's
SIGHUP and a Ctrl-C do not reach it) whose standard input is a pipe from the executor; nothing is ever
written to it. When the pipe closes, the process holding its other end is gone, however it died, and
the watcher kills what it left under ``ROOT`` (``kill_leftovers``): the process group of every recorded
step and sidecar, with whatever they started in the background, and every recorded podman container.
Then it exits. When the run ends normally, ``stop`` kills the watcher first.

``kill_leftovers`` is also how a later gitloop process ends what a dead runner left behind
(``gitloop.service.interrupted``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from gitloop.errors import PipelineError
from gitloop.executors.processes import CONTAINERS_DIR, PIDS_DIR, kill_recorded_groups

CONTAINERS_CONF_FILE = "containers.conf"
"""The podman executor's private ``containers.conf``, directly under its root."""


def recorded_containers(root: Path) -> list[str]:
    """The names of the podman containers recorded under the sandboxes of ``root``."""
    names: list[str] = []
    for record in sorted(root.glob(f"*/{CONTAINERS_DIR}/*")):
        with contextlib.suppress(OSError):
            name = record.read_text().strip()
            if name:
                names.append(name)
    return names


def remove_containers(root: Path, names: Sequence[str]) -> bool:
    """``podman rm --force`` the containers ``names`` (at once, no stop timeout); whether podman ran."""
    podman = shutil.which("podman")
    if not names or podman is None:
        return False
    env = dict(os.environ)
    conf = root / CONTAINERS_CONF_FILE
    if "CONTAINERS_CONF" not in env and conf.is_file():
        env["CONTAINERS_CONF"] = str(conf)
    try:
        subprocess.run(
            [podman, "rm", "--force", "--ignore", "--time", "0", *names],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def kill_leftovers(root: Path) -> int:
    """Kill every step and sidecar still running from the sandboxes under ``root`` of a runner that is
    gone: each recorded process group (SIGKILL; a recorded PID now used by another process is left
    alone) and each recorded podman container. How many groups and containers were ended."""
    killed = kill_recorded_groups(sorted(root.glob(f"*/{PIDS_DIR}/*")))
    names = recorded_containers(root)
    if remove_containers(root, names):
        killed += len(names)
    return killed


class Watcher:
    """The watcher of the sandboxes under ``root``: started once by ``start`` (however many TaskRuns
    prepare their sandboxes at the same time), told the run ended by ``stop``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Start the watcher unless it runs; ``PipelineError`` if it cannot run."""
        async with self._lock:
            if self._process is not None:
                return
            try:
                self._process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    __name__,
                    str(self.root),
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                    start_new_session=True,
                )
            except OSError as exc:
                raise PipelineError(
                    f"cannot start the watcher of the steps ({sys.executable}): {exc}"
                ) from exc

    async def stop(self) -> None:
        """The run ended normally: end the watcher (SIGKILL, at once: it holds nothing and does
        nothing unless it reads the end of its pipe, so this never touches a step)."""
        async with self._lock:
            process, self._process = self._process, None
            if process is None:
                return
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            if process.stdin is not None:
                process.stdin.close()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gitloop.executors.watcher ROOT``: wait on standard input, see the module doc."""
    args = sys.argv[1:] if argv is None else list(argv)
    if len(args) != 1:
        sys.stderr.write("usage: python -m gitloop.executors.watcher ROOT\n")
        return 2
    for number in (signal.SIGHUP, signal.SIGINT):
        signal.signal(number, signal.SIG_IGN)
    sys.stdin.buffer.read()  # returns when the executor's end of the pipe closes
    kill_leftovers(Path(args[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
