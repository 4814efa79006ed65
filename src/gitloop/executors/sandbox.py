"""The directory layout of a TaskRun sandbox on this machine, shared by the local and podman executors.

``<root>/<sandbox>/`` holds ``results/`` (``$(results.r.path)``), ``steps/<container>/`` (``exitCode``
and ``results/``), ``home/``, ``credentials/``, ``scripts/`` (each step's script as a file),
``workspace/`` (the default working directory) and ``volumes/<name>/`` (emptyDir, secret and
configMap volumes). Workspaces bound to host directories stay where they are.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gitloop.errors import PipelineError
from gitloop.ports import SandboxRequest, VolumeRequest


@dataclass
class SandboxDirs:
    """The host directories of one prepared sandbox."""

    root: Path
    volumes: dict[str, Path] = field(default_factory=dict)
    """Each volume's host directory (after ``subPath``), by volume name."""
    mounts: dict[str, Path] = field(default_factory=dict)
    """Host directory behind each mount path a container would see (``/workspace/src`` -> host)."""

    @property
    def results(self) -> Path:
        return self.root / "results"

    @property
    def steps(self) -> Path:
        return self.root / "steps"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def credentials(self) -> Path:
        return self.root / "credentials"

    @property
    def scripts(self) -> Path:
        return self.root / "scripts"

    @property
    def workspace(self) -> Path:
        return self.root / "workspace"


def within(base: Path, sub_path: str, what: str = "subPath") -> Path:
    """``base/sub_path``, refused (``PipelineError``) unless it resolves to a place under ``base``: the
    specs check every such name already; this is the last check before the host is written."""
    target = (base / sub_path).resolve() if sub_path else base
    if sub_path and not target.is_relative_to(base.resolve()):
        raise PipelineError(f"{what} {sub_path!r} leaves its directory")
    return target


def _child(base: Path, name: str, what: str) -> Path:
    """``base/name`` for a name that must be one directory right below ``base``."""
    if not name or "/" in name or name in (".", ".."):
        raise PipelineError(f"{what} {name!r} cannot name a directory")
    return within(base, name, what)


def _volume_dir(root: Path, volume: VolumeRequest) -> Path:
    if volume.host_path:
        base = Path(volume.host_path)
        try:
            base.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PipelineError(f"workspace {volume.name!r}: cannot use {base}: {exc.strerror}") from exc
    else:
        base = _child(root / "volumes", volume.name, "workspace")
        base.mkdir(parents=True, exist_ok=True)
        for rel, data, mode in volume.files:
            path = within(base, rel, "file")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            path.chmod(mode & 0o777)
    target = within(base, volume.sub_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


def make_sandbox(root: Path, request: SandboxRequest) -> SandboxDirs:
    """Create the sandbox of ``request`` under ``root``."""
    dirs = SandboxDirs(_child(root, request.name, "sandbox"))
    if dirs.root.exists():
        shutil.rmtree(dirs.root)
    for sub in (dirs.results, dirs.home, dirs.credentials, dirs.scripts, dirs.workspace):
        sub.mkdir(parents=True, exist_ok=True)
    for container in request.containers:
        (_child(dirs.steps, container, "container") / "results").mkdir(parents=True, exist_ok=True)
    for volume in request.volumes:
        path = _volume_dir(dirs.root, volume)
        dirs.volumes[volume.name] = path
        if volume.mount_path:
            dirs.mounts[volume.mount_path.rstrip("/")] = path
    return dirs


def read_files(directory: Path, limit: int) -> dict[str, str]:
    """Each regular file of ``directory`` as text, read up to ``limit + 1`` bytes."""
    found: dict[str, str] = {}
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return found
    for entry in entries:
        if entry.is_file():
            with Path(entry.path).open("rb") as handle:
                found[entry.name] = handle.read(limit + 1).decode("utf-8", errors="replace")
    return found


def translate(path: str, mounts: Mapping[str, Path]) -> str:
    """A container path under a mount (``/workspace/src/app``) as the host path behind it."""
    clean = path.rstrip("/") or "/"
    for mount in sorted(mounts, key=len, reverse=True):
        if clean == mount or clean.startswith(mount + "/"):
            return str(mounts[mount]) + clean[len(mount) :]
    return path


def remove(root: Path) -> None:
    """Delete a sandbox directory, read-only directories included."""
    if not root.exists():
        return
    for directory, _subdirs, _files in os.walk(root):
        try:
            os.chmod(directory, 0o700)  # noqa: PTH101
        except OSError:
            continue
    shutil.rmtree(root, ignore_errors=True)
