"""No step outlives the process running it: real processes, really killed.

A process running a step through the local executor is killed with SIGKILL (nothing of it can clean
up): the executor's watcher kills the step's process group, its background children included. A
recorded group whose leader has ended is still killed (its background job lives on), and a recorded
PID now used by another process is left alone.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from gitloop.executors.local import LocalExecutor
from gitloop.executors.processes import kill_recorded_groups, recorder
from gitloop.ports import SandboxRequest

RUNNER = textwrap.dedent("""\
    import asyncio, sys
    from pathlib import Path
    from gitloop.executors.local import LocalExecutor
    from gitloop.ports import ContainerRequest, SandboxRequest

    async def main() -> None:
        out = sys.argv[2]
        executor = LocalExecutor(Path(sys.argv[1]))
        await executor.prepare(SandboxRequest("tr", containers=("step-one",)), result_limit=10)
        script = (
            "#!/bin/sh\\n"
            f"sleep 300 &\\necho $! > {out}/child\\n"
            f"sh -c 'sleep 301; true' &\\necho $! > {out}/grandchild\\n"
            f"echo $$ > {out}/main\\nwait\\n"
        )
        await executor.run_step("tr", ContainerRequest("step-one", "x", script=script), lambda n, l: None)

    asyncio.run(main())
    """)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def _until_dead(pids: list[int], seconds: float = 10.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while (alive := [p for p in pids if _alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def _wait_for(paths: list[Path], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not all(p.exists() and p.read_text().strip() for p in paths):
        assert time.monotonic() < deadline, f"never written: {paths}"
        time.sleep(0.05)


def test_steps_die_with_the_process_running_them_even_on_sigkill(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    runner = subprocess.Popen([sys.executable, "-c", RUNNER, str(tmp_path / "boxes"), str(out)])
    try:
        files = [out / "main", out / "child", out / "grandchild"]
        _wait_for(files)
        pids = [int(f.read_text()) for f in files]
        assert all(_alive(p) for p in pids)
    finally:
        runner.send_signal(signal.SIGKILL)
        runner.wait(10)
    left = _until_dead(pids)
    for pid in left:  # do not leave them behind if the test fails
        os.kill(pid, signal.SIGKILL)
    assert not left, f"step processes {left} outlived the process running them"


def test_a_recorded_group_is_killed_after_its_leader_ended(tmp_path: Path) -> None:
    pid_file = tmp_path / "job"
    leader = subprocess.Popen(
        ["/bin/sh", "-c", f"sleep 300 & echo $! > {pid_file}; sleep 0.3"],
        start_new_session=True,
        preexec_fn=recorder(tmp_path / "pids" / "step"),
    )
    leader.wait(10)
    _wait_for([pid_file])
    job = int(pid_file.read_text())
    assert _alive(job), "the background job outlives its leader"
    (tmp_path / "pids" / "reused").write_text(f"{os.getpid()} 1\n")  # our PID, another start time
    try:
        assert kill_recorded_groups(sorted((tmp_path / "pids").iterdir())) == 1
        assert not _until_dead([job], 5)
    finally:
        if _alive(job):
            os.kill(job, signal.SIGKILL)


def _watchers(root: Path) -> list[int]:
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0") if entry.name.isdigit() else []
        except OSError:
            continue
        if b"gitloop.executors.watcher" in argv and str(root).encode() in argv and _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def test_one_watcher_per_run_however_many_sandboxes_start_at_once(tmp_path: Path) -> None:
    """A second watcher would be dropped unstopped, and a dropped watcher kills the run's steps."""
    root = tmp_path / "boxes"
    executor = LocalExecutor(root)

    async def scenario() -> list[int]:
        await asyncio.gather(
            *(
                executor.prepare(SandboxRequest(f"tr-{i}", containers=("step-one",)), result_limit=10)
                for i in range(4)
            )
        )
        running = _watchers(root)
        await executor.close()
        return running

    assert len(asyncio.run(scenario())) == 1
    assert not _until_dead(_watchers(root), 5), "close stops the watcher"
