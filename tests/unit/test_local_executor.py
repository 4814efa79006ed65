"""The local executor on its own: real processes in a sandbox, killed as a group, results read back."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from gitloop.executors.local import LocalExecutor, base_environment
from gitloop.executors.watcher import kill_leftovers
from gitloop.ports import ContainerRequest, MountRequest, SandboxRequest, VolumeRequest


def _request(tmp_path: Path) -> SandboxRequest:
    return SandboxRequest(
        "tr",
        volumes=(
            VolumeRequest("src", "/workspace/src", host_path=str(tmp_path / "src"), sub_path="app"),
            VolumeRequest("creds", "/workspace/creds", files=(("token", b"s3cret", 0o400),), read_only=True),
        ),
        containers=("step-one", "step-two"),
    )


def test_steps_run_in_the_sandbox(tmp_path: Path) -> None:
    """The paths mode: ``$(...path)`` variables are the host directories themselves."""
    executor = LocalExecutor(
        tmp_path / "boxes", environ={"PATH": "/usr/bin:/bin", "SECRET_OF_HOST": "x"}, sandbox="paths"
    )
    lines: list[tuple[str, str]] = []

    async def scenario() -> None:
        paths = await executor.prepare(_request(tmp_path), result_limit=10)
        assert paths.workspaces["src"] == str(tmp_path / "src" / "app")
        assert Path(paths.workspaces["creds"], "token").read_bytes() == b"s3cret"
        step = ContainerRequest(
            "step-one",
            "busybox",
            script=f'#!/bin/sh\npwd\necho "$HOME $SECRET_OF_HOST $MINE $1"\nprintf 0123456789ABC > {paths.results}/big\n',
            args=("arg",),
            env={"MINE": "mine"},
            working_dir="/workspace/src/deeper",
            mounts=(MountRequest("src", "/workspace/src"),),
            stdout_path=str(tmp_path / "stdout.txt"),
        )
        outcome = await executor.run_step("tr", step, lambda name, line: lines.append((name, line)))
        assert outcome.exit_code == 0 and outcome.reason == ""
        assert outcome.results == {"big": "0123456789A"}  # read up to the limit + 1 byte
        assert Path(paths.steps, "step-one", "exitCode").read_text() == "0"
        await executor.release("tr")
        await executor.close()

    asyncio.run(scenario())
    assert lines == [
        ("step-one", str(tmp_path / "src" / "app" / "deeper")),
        ("step-one", f"{tmp_path / 'boxes' / 'tr' / 'home'}  mine arg"),
    ]
    assert (tmp_path / "stdout.txt").read_text().splitlines()[1].endswith(" mine arg")
    assert not (tmp_path / "boxes" / "tr").exists()
    assert (tmp_path / "src" / "app").is_dir()


def test_missing_program_and_missing_working_dir(tmp_path: Path) -> None:
    executor = LocalExecutor(tmp_path / "boxes")

    async def scenario() -> tuple[str, str]:
        await executor.prepare(_request(tmp_path), result_limit=10)
        missing = await executor.run_step(
            "tr", ContainerRequest("step-one", "x", command=("no-such-prog-xyz",)), print
        )
        nowhere = ContainerRequest("step-two", "x", command=("true",), working_dir="/no/such/dir/xyz")
        bad_dir = await executor.run_step("tr", nowhere, print)
        await executor.release("tr")
        await executor.close()
        assert missing.reason == bad_dir.reason == "StartFailed"
        return missing.message, bad_dir.message

    missing, bad_dir = asyncio.run(scenario())
    assert "'no-such-prog-xyz' was not found" in missing
    assert "working directory /no/such/dir/xyz does not exist" in bad_dir


def test_kill_stops_a_step_even_while_it_starts(tmp_path: Path) -> None:
    executor = LocalExecutor(tmp_path / "boxes", kill_grace=0.5)

    async def scenario() -> float:
        await executor.prepare(_request(tmp_path), result_limit=10)
        started = time.monotonic()
        run = asyncio.ensure_future(
            executor.run_step("tr", ContainerRequest("step-one", "x", command=("sleep", "30")), print)
        )
        await executor.kill_step("tr")  # before the process exists
        outcome = await run
        assert outcome.reason == "Killed" and outcome.exit_code in (143, 137)
        await executor.release("tr")
        await executor.close()
        return time.monotonic() - started

    assert asyncio.run(scenario()) < 5


def test_base_environment_keeps_only_what_steps_need() -> None:
    env = base_environment({"PATH": "/bin", "LC_ALL": "C", "HOME": "/root", "AWS_SECRET_ACCESS_KEY": "x"})
    assert env == {"PATH": "/bin", "LC_ALL": "C"}


def test_tools_come_first_on_the_path_and_nothing_else_is_shadowed(tmp_path: Path) -> None:
    tool = ("/bin/sh", "-c", 'echo "tool got: $*"', "tool")
    executor = LocalExecutor(tmp_path / "boxes", environ={"PATH": "/usr/bin:/bin"}, tools={"mytool": tool})
    lines: list[str] = []

    async def scenario() -> None:
        await executor.prepare(_request(tmp_path), result_limit=10)
        step = ContainerRequest("step-one", "x", script='#!/bin/sh\nmytool "a b" c\necho "$PATH"\n')
        outcome = await executor.run_step("tr", step, lambda name, line: lines.append(line))
        assert outcome.exit_code == 0
        await executor.release("tr")
        await executor.close()

    asyncio.run(scenario())
    assert lines == ["tool got: a b c", f"{tmp_path / 'boxes' / '.tools'}:/usr/bin:/bin"]
    assert sorted(p.name for p in (tmp_path / "boxes" / ".tools").iterdir()) == ["mytool"]


def test_leftover_steps_of_a_crashed_run_are_killed(tmp_path: Path) -> None:
    """The executor's process dies without releasing its sandbox (``kill -9``): ``kill_leftovers`` ends
    what it left running, and leaves alone a PID whose start time does not match."""
    executor = LocalExecutor(tmp_path / "boxes")

    async def scenario() -> int:
        await executor.prepare(_request(tmp_path), result_limit=10)
        run = asyncio.ensure_future(
            executor.run_step("tr", ContainerRequest("step-one", "x", command=("sleep", "60")), print)
        )
        record = tmp_path / "boxes" / "tr" / "pids" / "step-one"
        while not record.exists():
            await asyncio.sleep(0.01)
        pid = int(record.read_text().split()[0])
        (tmp_path / "boxes" / "tr" / "pids" / "reused").write_text(f"{os.getpid()} 1\n")
        assert kill_leftovers(tmp_path / "boxes") == 1
        outcome = await asyncio.wait_for(run, 10)
        assert outcome.exit_code == 137
        await executor.release("tr")
        await executor.close()
        return pid

    pid = asyncio.run(scenario())
    assert not Path(f"/proc/{pid}").exists()
