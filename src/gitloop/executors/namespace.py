"""Tekton's filesystem for local steps: the ``bwrap`` (bubblewrap) command line that runs one step in a
private mount namespace over the host's own files, and the probe that says whether this machine can.

Inside, a step sees the host as it is (every top-level entry of ``/`` bound read-write, ``/dev`` and
``/proc`` the host's, so tools, networks and ``kill`` behave as they do outside) plus the paths Tekton
guarantees a step, each bound to a directory of its sandbox (``executors.sandbox``):
``/workspace`` (the default working directory), each workspace and volume at its ``mountPath``
(``--ro-bind`` when ``readOnly``: a write fails with EROFS), ``/tekton/results``, ``/tekton/steps``,
``/tekton/home``, ``/tekton/creds`` and ``/tekton/scripts`` (read-only). The new root is bubblewrap's
own tmpfs, so mount points that do not exist on the host (``/workspace``, ``/tekton``, ``/cache``) are
made there and nothing is ever created on the host's root; a ``mountPath`` inside a host directory
(``/etc/x``) must therefore already exist there. The step stays in the caller's PID namespace and process group:
killing the group kills it, as in the ``paths`` mode; ``--die-with-parent`` ends it with its runner.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from gitloop.errors import UsageError

RESULTS, STEPS, HOME, CREDS, SCRIPTS, WORKSPACE = (
    "/tekton/results",
    "/tekton/steps",
    "/tekton/home",
    "/tekton/creds",
    "/tekton/scripts",
    "/workspace",
)
OWN_ROOTS = ("tekton", "workspace")
"""Top-level names the sandbox provides itself, whatever the host has there."""
_SPECIAL_ROOTS = ("dev", "proc")

NAMESPACE, PATHS, AUTO = "namespace", "paths", "auto"
MODES = (AUTO, NAMESPACE, PATHS)
"""``--sandbox`` / ``GITLOOP_SANDBOX``: ``auto`` (namespace where it works, else paths)."""


@dataclass(frozen=True)
class Bind:
    """A host directory (or file) ``source`` shown at ``target`` inside the namespace."""

    source: Path
    target: str
    read_only: bool = False


def root_entries(root: Path = Path("/")) -> list[tuple[str, str]]:
    """The top-level entries of the host's ``/`` as ``(name, symlink target or "")``, sorted."""
    found: list[tuple[str, str]] = []
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        found.append((entry.name, str(Path(entry.path).readlink()) if entry.is_symlink() else ""))
    return found


def root_args(entries: Iterable[tuple[str, str]]) -> list[str]:
    """The arguments that rebuild the host's ``/`` on bubblewrap's tmpfs root: each top-level entry
    bound (a symlink recreated as one), the host's ``/dev`` and ``/proc``, and ``/tekton`` and
    ``/workspace`` left to the sandbox."""
    args: list[str] = []
    for name, link in entries:
        if name in OWN_ROOTS or name in _SPECIAL_ROOTS:
            continue
        if link:
            args += ["--symlink", link, f"/{name}"]
        else:
            args += ["--bind", f"/{name}", f"/{name}"]
    return [*args, "--dev-bind", "/dev", "/dev", "--bind", "/proc", "/proc"]


def placement_problem(target: str, exists: Callable[[str], bool], inside: Iterable[str] = ()) -> str:
    """Why ``target`` cannot be a mount point without writing to the host (``""`` when it can): inside
    the sandbox's own trees or another mount (``inside``), under a top-level directory the host lacks
    (``/kaniko/.docker``), or a path that the host already has."""
    clean = "/" + target.strip("/")
    if clean == "/":
        return "the root cannot be a mount path"
    parts = clean[1:].split("/")
    if parts[0] in OWN_ROOTS or not exists(f"/{parts[0]}") or exists(clean):
        return ""  # on the sandbox's own tmpfs (a top-level name the host lacks), or there already
    if any(clean.startswith(other.rstrip("/") + "/") for other in inside):
        return ""
    return (
        f"mount path {clean} does not exist on this machine: the namespace sandbox mounts under "
        "/workspace and /tekton, at a new top-level directory or at a path the host has"
    )


def binds(
    sandbox: Mapping[str, Path], mounts: Iterable[Bind], exists: Callable[[str], bool]
) -> list[Bind] | str:
    """Every bind of one step, outermost first (``/workspace`` before ``/workspace/src``), or why a
    mount cannot be placed. ``sandbox`` is the host directory behind each of Tekton's own paths."""
    chosen = [Bind(sandbox[path], path, path == SCRIPTS) for path in (RESULTS, STEPS, HOME, CREDS, SCRIPTS)]
    listed = list(mounts)
    if not any(m.target.rstrip("/") == WORKSPACE for m in listed):
        chosen.insert(0, Bind(sandbox[WORKSPACE], WORKSPACE))
    for mount in listed:
        problem = placement_problem(mount.target, exists, (m.target for m in listed))
        if problem:
            return problem
        chosen.append(Bind(mount.source, "/" + mount.target.strip("/"), mount.read_only))
    return sorted(chosen, key=lambda b: b.target.count("/") - (b.target == "/"))


def bind_args(chosen: Iterable[Bind]) -> list[str]:
    args: list[str] = []
    for bind in chosen:
        args += ["--ro-bind" if bind.read_only else "--bind", str(bind.source), bind.target]
    return args


def command_line(
    bwrap: str, base: list[str], chosen: Iterable[Bind], working_dir: str, argv: list[str]
) -> list[str]:
    """The whole ``bwrap`` command line of one step."""
    return [bwrap, "--die-with-parent", *base, *bind_args(chosen), "--chdir", working_dir, "--", *argv]


_probed: dict[str, str] = {}


def namespace_problem(bwrap: str | None = None) -> str:
    """``""`` when a step can run in a namespace sandbox here, else why not (bubblewrap missing, or
    its probe failing: user namespaces disabled, a seccomp policy). Probed once per process."""
    binary = bwrap or shutil.which("bwrap")
    if binary is None:
        return "bubblewrap is not installed (apt-get install bubblewrap)"
    if binary in _probed:
        return _probed[binary]
    with tempfile.TemporaryDirectory(prefix="gitloop-probe-") as scratch:
        base = root_args(root_entries())
        probe = [Bind(Path(scratch), WORKSPACE), Bind(Path(scratch), RESULTS, read_only=True)]
        argv = command_line(binary, base, probe, WORKSPACE, ["/bin/sh", "-c", "test -d /tekton/results"])
        try:
            done = subprocess.run(argv, capture_output=True, timeout=30, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            problem = f"bubblewrap does not run: {exc}"
        else:
            error = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
            problem = (
                f"bubblewrap cannot make a namespace here: {error[-1] if error else f'exit {done.returncode}'}"
                if done.returncode
                else ""
            )
    _probed[binary] = problem
    return problem


def choose_mode(requested: str, problem: Callable[[], str] = namespace_problem) -> tuple[str, str]:
    """The mode local steps run in for ``requested`` (one of ``MODES``), and why the namespace mode is
    not used (``""`` when it is). Asking for ``namespace`` where it cannot work is a ``UsageError``."""
    if requested not in MODES:
        raise UsageError(f"sandbox {requested!r}: use one of {', '.join(MODES)}")
    if requested == PATHS:
        return PATHS, "the paths mode was asked for"
    why = problem()
    if not why:
        return NAMESPACE, ""
    if requested == NAMESPACE:
        raise UsageError(f"the namespace sandbox is not available: {why}")
    return PATHS, why
