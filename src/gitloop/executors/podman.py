"""The podman executor: every step runs in its image (``podman run --rm``) with the workspaces mounted.

The sandbox lives on the host (``executors.sandbox``) and is mounted where Tekton puts things:
``/tekton/results``, ``/tekton/steps``, ``/tekton/home`` (also ``HOME``), ``/tekton/scripts`` (each
step's script, run as the container's entrypoint), ``/tekton/creds``, ``/workspace`` (the default
working directory), and each workspace at its mount path (``/workspace/<name>``; ``:ro`` when read-only),
so ``$(workspaces.<w>.path)`` and the other ``$(...path)`` variables are container paths. Containers
use the host's network (a step reaches servers on 127.0.0.1, as the local executor's do).

An image that is not present is pulled first; one that cannot be had fails the TaskRun with
``TaskRunImagePullFailed``. Podman is run with a
private ``containers.conf`` (runtime ``runc``, capped ulimits: see LOCAL-INFRA.md) unless
``CONTAINERS_CONF`` is already set. Killing a step stops its container (SIGTERM, then SIGKILL after
``kill_grace``); ``release`` stops the sidecars and removes the sandbox.

Each container's name is recorded in ``<sandbox>/containers/`` before it starts, and its ``podman run``
process in ``<sandbox>/pids/``: if the process running the steps dies without releasing them, the
watcher (``executors.watcher``, stopped by ``close``) removes the containers (``conmon`` would keep
them running) and kills the ``podman run`` processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gitloop.errors import PipelineError
from gitloop.executors.processes import (
    CONTAINERS_DIR,
    PIDS_DIR,
    STREAM_LIMIT,
    pump_lines,
    record_container,
    recorder,
    stop_process,
)
from gitloop.executors.sandbox import SandboxDirs, make_sandbox, read_files, remove, translate, within
from gitloop.executors.watcher import CONTAINERS_CONF_FILE, Watcher
from gitloop.ports import ContainerRequest, OutputSink, SandboxPaths, SandboxRequest, StepOutcome

CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
"""
RESULTS, STEPS, HOME, CREDS, SCRIPTS, WORKSPACE = (
    "/tekton/results",
    "/tekton/steps",
    "/tekton/home",
    "/tekton/creds",
    "/tekton/scripts",
    "/workspace",
)


def podman_available() -> str:
    """``""`` when podman is installed and answers, else why not."""
    binary = shutil.which("podman")
    if binary is None:
        return "podman is not installed (apt-get install podman runc)"
    try:
        subprocess.run([binary, "--version"], capture_output=True, check=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"podman does not run: {exc}"
    return ""


@dataclass
class _Sandbox:
    dirs: SandboxDirs
    result_limit: int
    step: asyncio.subprocess.Process | None = None
    step_container: str = ""
    killed: bool = False
    sidecars: list[tuple[str, asyncio.subprocess.Process]] = field(default_factory=list)
    mounts: dict[str, Path] = field(default_factory=dict)
    """Host directory behind each container path of the last container started."""
    readers: list[asyncio.Task[None]] = field(default_factory=list)


ENV_DIR = "env"
"""``<sandbox>/env/<container>``: the container's environment as a 0600 ``--env-file`` (not mounted)."""


def container_env(
    env_file: Path, env: Mapping[str, str], podman_env: Mapping[str, str]
) -> tuple[list[str], dict[str, str]]:
    """The arguments that give a container ``env`` without putting a value on podman's command line
    (which every user of the machine can read in ``ps``): one ``--env-file`` of ``NAME=value`` lines,
    and for a value with a line break (which that file cannot hold) ``-e NAME`` with the value in
    podman's own environment — unless podman needs that variable itself, when it stays an argument."""
    lines: list[str] = []
    args: list[str] = []
    extra: dict[str, str] = {}
    for key, value in env.items():
        if "\n" not in value and "\r" not in value:
            lines.append(f"{key}={value}\n")
        elif key in podman_env:
            args += ["-e", f"{key}={value}"]
        else:
            args += ["-e", key]
            extra[key] = value
    env_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.writelines(lines)
    return ["--env-file", str(env_file), *args], extra


class PodmanExecutor:
    """Runs steps as podman containers; ``root`` holds the sandboxes on the host."""

    name = "podman"

    def __init__(self, root: Path, *, podman: str = "podman", kill_grace: float = 2.0) -> None:
        self.root = root
        self.podman = podman
        self.kill_grace = kill_grace
        self.env = dict(os.environ)
        if "CONTAINERS_CONF" not in self.env:
            conf = root / CONTAINERS_CONF_FILE
            conf.parent.mkdir(parents=True, exist_ok=True)
            conf.write_text(CONTAINERS_CONF)
            self.env["CONTAINERS_CONF"] = str(conf)
        self._sandboxes: dict[str, _Sandbox] = {}
        self._images: dict[str, str] = {}
        self._watcher = Watcher(root)

    def _get(self, sandbox: str) -> _Sandbox:
        found = self._sandboxes.get(sandbox)
        if found is None:
            raise PipelineError(f"no sandbox {sandbox!r} is prepared")
        return found

    async def _podman(self, *args: str, timeout: float = 300) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            self.podman,
            *args,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            out, _ = await asyncio.wait_for(process.communicate(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            return -1, f"podman {args[0]} did not finish in {timeout:.0f}s"
        return process.returncode or 0, out.decode("utf-8", errors="replace").strip()

    async def prepare(self, sandbox: SandboxRequest, *, result_limit: int) -> SandboxPaths:
        await self._watcher.start()
        try:
            dirs = make_sandbox(self.root, sandbox)
        except OSError as exc:
            raise PipelineError(f"cannot prepare the sandbox of {sandbox.name}: {exc}") from exc
        self._sandboxes[sandbox.name] = _Sandbox(dirs, result_limit)
        workspaces = {v.name: v.mount_path for v in sandbox.volumes if v.mount_path}
        return SandboxPaths(RESULTS, STEPS, HOME, CREDS, workspaces)

    async def _image(self, image: str) -> str:
        """``""`` when ``image`` is present (pulling it if need be), else why it cannot be had."""
        if image in self._images:
            return self._images[image]
        code, _ = await self._podman("image", "exists", image, timeout=60)
        problem = ""
        if code != 0:
            code, out = await self._podman("pull", "--quiet", image)
            if code != 0:
                problem = out.splitlines()[-1] if out else f"podman pull {image} failed"
        self._images[image] = problem
        return problem

    def _run_args(
        self, box: _Sandbox, container: ContainerRequest, name: str
    ) -> tuple[list[str], dict[str, str]]:
        """The ``podman run`` arguments, and what to add to podman's own environment for them."""
        dirs = box.dirs
        args = ["run", "--rm", "--name", name, "--network", "host", "--pull", "never"]
        mounts = [
            (dirs.results, RESULTS, False),
            (dirs.steps, STEPS, False),
            (dirs.home, HOME, False),
            (dirs.credentials, CREDS, False),
            (dirs.scripts, SCRIPTS, True),
        ]
        if not any(m.mount_path.rstrip("/") == WORKSPACE for m in container.mounts):
            mounts.append((dirs.workspace, WORKSPACE, False))
        for mount in container.mounts:
            host = dirs.volumes.get(mount.name)
            if host is not None:
                mounts.append((within(host, mount.sub_path), mount.mount_path, mount.read_only))
        box.mounts = {target.rstrip("/"): Path(host) for host, target, _ in mounts}
        for host, target, read_only in mounts:
            args += ["-v", f"{host}:{target}" + (":ro" if read_only else "")]
        env_args, podman_env = container_env(
            dirs.root / ENV_DIR / container.name, {"HOME": HOME, **container.env}, self.env
        )
        args += [*env_args, "-w", container.working_dir or WORKSPACE]
        if container.script:
            script = dirs.scripts / container.name
            script.write_text(container.script)
            script.chmod(0o755)
            entry = ["--entrypoint", f"{SCRIPTS}/{container.name}", container.image, *container.args]
            return [*args, *entry], podman_env
        if container.command:
            first, *rest = container.command
            return [*args, "--entrypoint", first, container.image, *rest, *container.args], podman_env
        return [*args, container.image, *container.args], podman_env

    async def _start(
        self, box: _Sandbox, container: ContainerRequest, name: str
    ) -> tuple[asyncio.subprocess.Process | None, StepOutcome | None]:
        started = time.time()
        problem = await self._image(container.image)
        if problem:
            message = (
                f'the step "{container.name.removeprefix("step-")}" failed to pull the image '
                f'"{container.image}": {problem}'
            )
            return None, StepOutcome(-1, started, time.time(), "ImagePullFailed", message)
        record_container(box.dirs.root / CONTAINERS_DIR / container.name, name)
        args, podman_env = self._run_args(box, container, name)
        process = await asyncio.create_subprocess_exec(
            self.podman,
            *args,
            env={**self.env, **podman_env},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            preexec_fn=recorder(box.dirs.root / PIDS_DIR / container.name),
            limit=STREAM_LIMIT,
        )
        return process, None

    def _container_name(self, sandbox: str, container: str) -> str:
        return f"gitloop-{sandbox}-{container}"[:250]

    async def start_sidecars(
        self, sandbox: str, sidecars: Sequence[ContainerRequest], output: OutputSink
    ) -> StepOutcome | None:
        box = self._get(sandbox)
        for sidecar in sidecars:
            name = self._container_name(sandbox, sidecar.name)
            process, failure = await self._start(box, sidecar, name)
            if process is None:
                return failure
            box.sidecars.append((name, process))
            for stream in (process.stdout, process.stderr):
                box.readers.append(asyncio.create_task(pump_lines(stream, sidecar.name, output, None)))
        return None

    async def run_step(self, sandbox: str, step: ContainerRequest, output: OutputSink) -> StepOutcome:
        box = self._get(sandbox)
        started = time.time()
        name = self._container_name(sandbox, step.name)
        process, failure = await self._start(box, step, name)
        if process is None:
            assert failure is not None
            box.killed = False
            return failure
        box.step, box.step_container = process, name
        if box.killed:  # killed while its image was checked or its container was starting
            await self._stop_container(name, process)
        errors: list[str] = []

        def collect(container: str, line: str) -> None:
            errors.append(line)
            output(container, line)

        with contextlib.ExitStack() as files:
            copies = [
                files.enter_context(Path(translate(p, box.mounts)).open("wb")) if p else None
                for p in (step.stdout_path, step.stderr_path)
            ]
            await asyncio.gather(
                pump_lines(process.stdout, step.name, output, copies[0]),
                pump_lines(process.stderr, step.name, collect, copies[1]),
            )
            code = await process.wait()
        box.step = None
        killed, box.killed = box.killed, False
        (box.dirs.steps / step.name / "exitCode").write_text(str(code))
        reason, message = ("Killed" if killed else ""), ""
        if code in (125, 126, 127) and not killed and errors and "Error:" in errors[-1]:
            reason, message = "StartFailed", f'"{step.name}" could not start: {errors[-1]}'
        return StepOutcome(
            exit_code=code,
            started=started,
            finished=time.time(),
            reason=reason,
            message=message,
            results=read_files(box.dirs.results, box.result_limit),
            step_results=read_files(box.dirs.steps / step.name / "results", box.result_limit),
        )

    async def _stop_container(self, name: str, process: asyncio.subprocess.Process) -> None:
        await self._podman("stop", "--time", str(int(self.kill_grace)), name, timeout=self.kill_grace + 30)
        await stop_process(process, self.kill_grace)

    async def kill_step(self, sandbox: str) -> None:
        box = self._sandboxes.get(sandbox)
        if box is None:
            return
        box.killed = True  # also stops a step that is still starting
        if box.step is not None:
            await self._stop_container(box.step_container, box.step)

    async def release(self, sandbox: str) -> None:
        box = self._sandboxes.pop(sandbox, None)
        if box is None:
            return
        if box.step is not None:
            box.killed = True
            await self._stop_container(box.step_container, box.step)
        await asyncio.gather(*(self._stop_container(n, p) for n, p in box.sidecars))
        for reader in box.readers:
            reader.cancel()
        await asyncio.gather(*box.readers, return_exceptions=True)
        remove(box.dirs.root)

    async def close(self) -> None:
        """Release every sandbox still open (an interrupted run), then stop the watcher."""
        for name in list(self._sandboxes):
            await self.release(name)
        await self._watcher.stop()
