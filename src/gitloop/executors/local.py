"""The local executor: every step a host process, in its own process group, in a per-TaskRun sandbox.

Workspaces, results, step directories and home are real host directories (``executors.sandbox``). A
step's ``image`` is not used: the step runs the host's tools (``script`` with its shebang, or
``command`` + ``args``, found on ``PATH``); ``images_notice`` names the images left unused.
The sandbox mode is chosen once (``executors.namespace.choose_mode``), and decides what a step sees:

- ``namespace`` (bubblewrap works here): each step runs in a private mount namespace where Tekton's
  paths exist (``/workspace/<w>``, each ``mountPath``, ``/tekton/results``, ``/tekton/home``, ...),
  bound to the sandbox's directories, ``readOnly`` enforced; every ``$(...path)`` variable is the
  Tekton path, ``workingDir`` defaults to ``/workspace`` and ``HOME`` is ``/tekton/home``.
- ``paths`` (the fallback): every ``$(...path)`` variable is the host directory itself; a
  ``workingDir`` under a workspace's mount path is translated to the host directory behind it, and
  literal mount paths in scripts do not exist.

Steps see a small environment, not the caller's: ``PATH``, ``LANG``/``LC_*``, ``TZ``, ``TMPDIR``,
proxy variables, ``HOME`` set to the sandbox's home directory, then the step's own ``env``. ``tools``
puts named commands first on ``PATH`` (``{"gitloop": [sys.executable, "-m", "gitloop"]}``: a step's
``gitloop`` is the gitloop that runs it, wherever it is installed) as one-line shims in
``<root>/.tools``; nothing else of the caller's environment comes with them. Output is streamed line
by line. Killing a step (timeout, cancellation) sends SIGTERM to its whole process
group, then SIGKILL after ``kill_grace`` seconds; when a step's main process ends, what is left of its
group is killed too (a container's processes end with it). ``release`` stops sidecars the same way and
removes the sandbox.

Every started process is recorded in ``<sandbox>/pids/<container>`` (its PID and start time), and a
watcher (``executors.watcher``), started with the first sandbox and stopped by ``close``, kills them if
the process running them dies without releasing them (``kill -9``, a crash): no step outlives its run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import posixpath
import shlex
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gitloop.errors import PipelineError
from gitloop.executors import namespace as ns
from gitloop.executors.processes import (
    PIDS_DIR,
    STREAM_LIMIT,
    pump_lines,
    recorder,
    stop_process,
)
from gitloop.executors.sandbox import (
    SandboxDirs,
    make_sandbox,
    read_files,
    remove,
    translate,
    within,
)
from gitloop.executors.watcher import Watcher
from gitloop.ports import ContainerRequest, OutputSink, SandboxPaths, SandboxRequest, StepOutcome
from gitloop.processes import signal_group

PASSED_ENV = ("PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR", "http_proxy", "https_proxy", "no_proxy")
_PASSED_PREFIXES = ("LC_", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")


def base_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The part of ``environ`` (default: this process's) that steps inherit."""
    source = os.environ if environ is None else environ
    return {k: v for k, v in source.items() if k in PASSED_ENV or k.startswith(_PASSED_PREFIXES)}


TOOLS_DIR = ".tools"


def write_tool_shims(directory: Path, tools: Mapping[str, Sequence[str]]) -> None:
    """One executable ``#!/bin/sh`` file per tool in ``directory`` that runs its command line with the
    step's arguments (``exec``, so signals reach the tool itself)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, argv in tools.items():
        if not name or "/" in name or not argv:
            raise PipelineError(f"bad tool {name!r}: a plain command name and a command line are needed")
        shim = directory / name
        shim.write_text(f'#!/bin/sh\nexec {shlex.join(argv)} "$@"\n')
        shim.chmod(0o755)


@dataclass
class _Sandbox:
    dirs: SandboxDirs
    result_limit: int
    step: asyncio.subprocess.Process | None = None
    killed: bool = False
    """The current step was asked to stop (it may not have started yet)."""
    sidecars: list[asyncio.subprocess.Process] = field(default_factory=list)
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    table: dict[str, Path] = field(default_factory=dict)
    """In a namespace: the host path behind each mount of the last container started."""


class LocalExecutor:
    """Runs steps as host processes. ``root`` holds the sandboxes; ``environ`` is what steps inherit."""

    name = "local"

    def __init__(
        self,
        root: Path,
        *,
        environ: Mapping[str, str] | None = None,
        kill_grace: float = 2.0,
        tools: Mapping[str, Sequence[str]] | None = None,
        sandbox: str = ns.AUTO,
        bwrap: str | None = None,
    ) -> None:
        self.root = root
        self._bwrap = bwrap or shutil.which("bwrap") or "bwrap"
        self.mode, self.mode_reason = ns.choose_mode(sandbox, lambda: ns.namespace_problem(bwrap))
        self._root_args = ns.root_args(ns.root_entries()) if self.mode == ns.NAMESPACE else []
        self.images: set[str] = set()
        """The images of the containers run so far: none of them was used."""
        self.environ = base_environment(environ)
        self.kill_grace = kill_grace
        self._tools = dict(tools or {})
        self._shims_written = False
        if self._tools:
            shims = str(root / TOOLS_DIR)
            path = self.environ.get("PATH", os.defpath)
            self.environ["PATH"] = f"{shims}{os.pathsep}{path}" if path else shims
        self._sandboxes: dict[str, _Sandbox] = {}
        self._watcher = Watcher(root)

    def _get(self, sandbox: str) -> _Sandbox:
        found = self._sandboxes.get(sandbox)
        if found is None:
            raise PipelineError(f"no sandbox {sandbox!r} is prepared")
        return found

    async def prepare(self, sandbox: SandboxRequest, *, result_limit: int) -> SandboxPaths:
        await self._watcher.start()
        try:
            if self._tools and not self._shims_written:
                write_tool_shims(self.root / TOOLS_DIR, self._tools)
                self._shims_written = True
            dirs = make_sandbox(self.root, sandbox)
        except OSError as exc:
            raise PipelineError(f"cannot prepare the sandbox of {sandbox.name}: {exc}") from exc
        self._sandboxes[sandbox.name] = _Sandbox(dirs, result_limit)
        if self.mode == ns.NAMESPACE:  # the one place a mode decides what $(...path) variables say
            mounted = {v.name: v.mount_path for v in sandbox.volumes if v.mount_path}
            return SandboxPaths(ns.RESULTS, ns.STEPS, ns.HOME, ns.CREDS, mounted)
        return SandboxPaths(
            results=str(dirs.results),
            steps=str(dirs.steps),
            home=str(dirs.home),
            credentials=str(dirs.credentials),
            workspaces={name: str(path) for name, path in dirs.volumes.items()},
        )

    def mode_line(self) -> str:
        """One line saying which sandbox mode local steps run in, and what that means for paths."""
        if self.mode == ns.NAMESPACE:
            return (
                "local steps run in a namespace sandbox (bubblewrap): /workspace, /tekton/results, "
                "/tekton/home and each mountPath are the run's directories"
            )
        return (
            f"local steps run without a namespace sandbox ({self.mode_reason}): $(...path) variables "
            "are host directories and literal /workspace or /tekton paths do not exist"
        )

    def images_notice(self) -> str:
        """Once per run: the step images that were not used, ``""`` if none."""
        if not self.images:
            return ""
        return (
            f"the local executor ran host tools, not the step images {', '.join(sorted(self.images))}; "
            "--executor podman runs steps in their images"
        )

    def _argv(self, box: _Sandbox, container: ContainerRequest) -> list[str] | str:
        """The command line of a container, or why it cannot run locally."""
        if container.script:
            script = box.dirs.scripts / container.name
            script.write_text(container.script)
            script.chmod(0o755)
            if self.mode == ns.NAMESPACE:
                return [f"{ns.SCRIPTS}/{container.name}", *container.args]
            return [str(script), *container.args]
        if container.command:
            return [*container.command, *container.args]
        return (
            f'"{container.name}" has no command or script: the local executor cannot run the entrypoint of '
            f"image {container.image!r} (--executor podman does); give the step a command or a script"
        )

    def _cwd(self, box: _Sandbox, container: ContainerRequest) -> Path | str:
        if not container.working_dir:
            return box.dirs.workspace
        path = Path(translate(container.working_dir, box.dirs.mounts))
        home = "/tekton/home"
        if container.working_dir.startswith(home):
            path = Path(str(box.dirs.home) + container.working_dir[len(home) :])
        inside = [box.dirs.root, *box.dirs.volumes.values()]
        if any(path.is_relative_to(p) for p in inside):
            path.mkdir(parents=True, exist_ok=True)
        if not path.is_dir():
            return f'"{container.name}": working directory {container.working_dir} does not exist on this machine'
        return path

    def _env(self, box: _Sandbox, container: ContainerRequest) -> dict[str, str]:
        home = ns.HOME if self.mode == ns.NAMESPACE else str(box.dirs.home)
        return {**self.environ, "HOME": home, **container.env}

    def _binds(self, box: _Sandbox, container: ContainerRequest) -> list[ns.Bind] | str:
        dirs = box.dirs
        own = {
            ns.RESULTS: dirs.results,
            ns.STEPS: dirs.steps,
            ns.HOME: dirs.home,
            ns.CREDS: dirs.credentials,
            ns.SCRIPTS: dirs.scripts,
            ns.WORKSPACE: dirs.workspace,
        }
        mounts: list[ns.Bind] = []
        for mount in container.mounts:
            host = dirs.volumes.get(mount.name)
            if host is not None:
                source = within(host, mount.sub_path)
                source.mkdir(parents=True, exist_ok=True)
                mounts.append(ns.Bind(source, mount.mount_path, mount.read_only))
        chosen = ns.binds(own, mounts, os.path.lexists)
        return chosen if isinstance(chosen, list) else f'"{container.name}": {chosen}'

    def _namespaced(
        self, box: _Sandbox, container: ContainerRequest, argv: list[str]
    ) -> tuple[list[str], dict[str, Path]] | str:
        """The ``bwrap`` command line of a container and the host path behind each of its mounts."""
        chosen = self._binds(box, container)
        if isinstance(chosen, str):
            return chosen
        table = {b.target: b.source for b in chosen}
        working = posixpath.join(ns.WORKSPACE, container.working_dir or ns.WORKSPACE)
        host = Path(translate(working, table))
        if str(host) != working.rstrip("/"):
            host.mkdir(parents=True, exist_ok=True)
        elif not host.is_dir():
            return f'"{container.name}": working directory {working} does not exist on this machine'
        missing = self._missing_program(container, argv[0], working, table)
        if missing:
            return missing
        return ns.command_line(self._bwrap, self._root_args, chosen, working, argv), table

    def _missing_program(
        self, container: ContainerRequest, program: str, working: str, table: dict[str, Path]
    ) -> str:
        """Why a container's program (or its script's interpreter) is not there, ``""`` if it is: in a
        namespace it is bubblewrap that would fail to start it, so it is looked for first."""
        what = f"executable {program!r}"
        if container.script:
            first = container.script.split("\n", 1)[0]
            words = first[2:].split() if first.startswith("#!") else []
            if not words:
                return ""
            program, what = words[0], "the interpreter of its script"
        path = self.environ.get("PATH", os.defpath)
        if "/" in program:
            found = Path(translate(posixpath.join(working, program), table)).exists()
        else:
            found = shutil.which(program, path=container.env.get("PATH", path)) is not None
        return "" if found else f'"{container.name}" could not start: {what} was not found (PATH={path})'

    async def _spawn(
        self, box: _Sandbox, container: ContainerRequest
    ) -> tuple[asyncio.subprocess.Process | None, str]:
        if container.image:
            self.images.add(container.image)
        argv = self._argv(box, container)
        if isinstance(argv, str):
            return None, argv
        if self.mode == ns.NAMESPACE:
            wrapped = self._namespaced(box, container, argv)
            if isinstance(wrapped, str):
                return None, wrapped
            argv, box.table = wrapped
            cwd: Path | str = box.dirs.workspace
        else:
            cwd = self._cwd(box, container)
        if isinstance(cwd, str):
            return None, cwd
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=cwd,
                env=self._env(box, container),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                preexec_fn=recorder(box.dirs.root / PIDS_DIR / container.name),
                limit=STREAM_LIMIT,
            )
        except FileNotFoundError:
            what = "the interpreter of its script" if container.script else f"executable {argv[0]!r}"
            return (
                None,
                f'"{container.name}" could not start: {what} was not found (PATH={self.environ.get("PATH", "")})',
            )
        except OSError as exc:
            return None, f'"{container.name}" could not start {argv[0]!r}: {exc.strerror}'
        return process, ""

    async def start_sidecars(
        self, sandbox: str, sidecars: Sequence[ContainerRequest], output: OutputSink
    ) -> StepOutcome | None:
        box = self._get(sandbox)
        for sidecar in sidecars:
            started = time.time()
            process, problem = await self._spawn(box, sidecar)
            if process is None:
                return StepOutcome(-1, started, time.time(), "StartFailed", problem)
            box.sidecars.append(process)
            for stream in (process.stdout, process.stderr):
                box.readers.append(asyncio.create_task(pump_lines(stream, sidecar.name, output, None)))
        return None

    async def run_step(self, sandbox: str, step: ContainerRequest, output: OutputSink) -> StepOutcome:
        box = self._get(sandbox)
        started = time.time()
        process, problem = await self._spawn(box, step)
        if process is None:
            box.killed = False
            return StepOutcome(-1, started, time.time(), "StartFailed", problem)
        box.step = process
        if box.killed:  # killed while it was starting
            await stop_process(process, self.kill_grace)
        with contextlib.ExitStack() as files:
            copies = [
                files.enter_context(Path(translate(path, box.table)).open("wb")) if path else None
                for path in (step.stdout_path, step.stderr_path)
            ]
            pumps = [
                asyncio.create_task(pump_lines(stream, step.name, output, copy))
                for stream, copy in zip((process.stdout, process.stderr), copies, strict=True)
            ]
            code = await process.wait()
            signal_group(process.pid)  # what the step left behind ends with it
            _done, stuck = await asyncio.wait(pumps, timeout=self.kill_grace)
            for pump in stuck:  # a process that left the group still holds the pipe
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
        box.step = None
        killed, box.killed = box.killed, False
        exit_code = 128 - code if code < 0 else code
        (box.dirs.steps / step.name / "exitCode").write_text(str(exit_code))
        return StepOutcome(
            exit_code=exit_code,
            started=started,
            finished=time.time(),
            reason="Killed" if killed else "",
            results=read_files(box.dirs.results, box.result_limit),
            step_results=read_files(box.dirs.steps / step.name / "results", box.result_limit),
        )

    async def kill_step(self, sandbox: str) -> None:
        box = self._sandboxes.get(sandbox)
        if box is None:
            return
        box.killed = True  # also stops a step that is still starting
        if box.step is not None:
            await stop_process(box.step, self.kill_grace)

    async def release(self, sandbox: str) -> None:
        box = self._sandboxes.pop(sandbox, None)
        if box is None:
            return
        if box.step is not None:
            box.killed = True
            await stop_process(box.step, self.kill_grace)
        await asyncio.gather(*(stop_process(p, self.kill_grace) for p in box.sidecars))
        for reader in box.readers:
            reader.cancel()
        await asyncio.gather(*box.readers, return_exceptions=True)
        remove(box.dirs.root)

    async def close(self) -> None:
        """Release every sandbox still open (an interrupted run), then stop the watcher."""
        for name in list(self._sandboxes):
            await self.release(name)
        await self._watcher.stop()
