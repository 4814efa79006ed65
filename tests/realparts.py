"""The real parts tests need, and what happens when one is missing.

``missing`` is the one rule for an absent part (podman, PostgreSQL, a browser, ssh-keygen, gnupg, the
local cluster): under CI (``CI=true``) the test **fails**, because ``make test`` installs every part and a
missing one is a broken install step that a skip would hide; on a developer's machine it skips.

``mini_image`` builds the smallest image the podman tests run in from what every machine of this kind has:
the host's ``dash``, ``sleep`` and ``cat`` and the shared libraries ``ldd`` names for them, each symlink
resolved to the file it points at (Debian's ``/lib64/ld-linux-x86-64.so.2`` is a symlink, and an archive of
the link alone gives every container ``exec /bin/sh: no such file or directory``). The tag is a digest of
the files' contents, so an image left by an earlier run is reused only when it is byte for byte the one
this run would build.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

import pytest

from gitloop.executors.podman import CONTAINERS_CONF, podman_available

MINI_REPOSITORY = "localhost/gitloop-test/mini"
MINI_PROGRAMS = {"/bin/dash": "bin/sh", "/bin/sleep": "bin/sleep", "/bin/cat": "bin/cat"}
_LDD_PATH = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x[0-9a-f]+\)")


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def missing(why: str) -> NoReturn:
    """A part the test needs is not here: fail under CI, skip elsewhere."""
    if under_ci():
        pytest.fail(f"{why} (CI=true: make test must install it; a missing part fails)", pytrace=False)
    pytest.skip(why)


def require_program(name: str, package: str) -> str:
    """The path of ``name`` on PATH, or ``missing`` naming the Debian package that brings it."""
    found = shutil.which(name)
    if found is None:
        missing(f"{name} is not installed (apt-get install {package})")
    return found


def shared_libraries(program: str) -> list[str]:
    """The absolute paths ``ldd`` lists for ``program`` (its loader included), in ldd's order."""
    ldd = require_program("ldd", "libc-bin")
    done = subprocess.run([ldd, program], capture_output=True, text=True, check=True, timeout=30)
    return [m.group(1) for m in map(_LDD_PATH.search, done.stdout.splitlines()) if m]


def mini_image_files() -> dict[str, str]:
    """Path inside the image → host file (symlinks resolved) for the mini image."""
    files: dict[str, str] = {}
    for program, target in MINI_PROGRAMS.items():
        if not Path(program).exists():
            missing(f"{program} is not on this machine")
        files[target] = str(Path(program).resolve())
        for library in shared_libraries(program):
            files[library.lstrip("/")] = str(Path(library).resolve())
    return files


def mini_image_archive(files: Mapping[str, str]) -> tuple[bytes, str]:
    """A reproducible tar of ``files`` plus a world-writable ``/tmp``, and its content tag."""
    buffer = io.BytesIO()
    digest = hashlib.sha256()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for target in sorted(files):
            data = Path(files[target]).read_bytes()
            digest.update(f"{target}\0{len(data)}\0".encode())
            digest.update(data)
            info = tarfile.TarInfo(target)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo("tmp")
        info.type, info.mode = tarfile.DIRTYPE, 0o1777
        tar.addfile(info)
    return buffer.getvalue(), digest.hexdigest()[:16]


def mini_image(env: Mapping[str, str], work: Path) -> str:
    """The mini image's reference, imported into podman unless that exact content is there already."""
    podman = require_program("podman", "podman")
    archive, tag = mini_image_archive(mini_image_files())
    image = f"{MINI_REPOSITORY}:{tag}"
    exists = subprocess.run([podman, "image", "exists", image], env=dict(env), check=False, timeout=60)
    if exists.returncode != 0:
        path = work / "mini.tar"
        path.write_bytes(archive)
        subprocess.run(
            [podman, "import", str(path), image], env=dict(env), check=True, capture_output=True, timeout=300
        )
    return image


def podman_setup(work: Path) -> tuple[dict[str, str], str]:
    """The environment podman runs in here (``CONTAINERS_CONF`` written under ``work``) and the mini
    image's reference; ``missing`` where podman is not installed or does not run."""
    why = podman_available()
    if why:
        missing(why)
    conf = work / "containers.conf"
    conf.write_text(CONTAINERS_CONF)
    env = {**os.environ, "CONTAINERS_CONF": str(conf)}
    return env, mini_image(env, work)


def marked_processes(marker: str) -> list[int]:
    """The live processes (zombies do not count) whose environment holds ``marker``: ``ps e | grep``,
    how the tests find every process a step started, background children included."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if marker.encode() in environ and state != "Z":
            found.append(int(entry.name))
    return found
