"""The catalog's default step image, ``localhost/gitloop/tools:latest``, built locally with podman.

The built-in catalog Tasks (git-clone, git-cli, kaniko, gitloop-image-update) name this image for their
steps, so they run under the podman executor as they do on the host. Nothing can be pulled from a
public registry here, so the image is made from parts this machine has:

1. a Debian base, ``localhost/debian:bookworm``: ``debootstrap --variant=minbase bookworm`` from the
   Debian mirror the machine's own apt sources name, imported with ``podman import`` (kept and reused);
2. on it, with ``apt-get`` from that same mirror: git, sh, python3 (kaniko's build step is Python),
   openssh-client (ssh remotes) and ca-certificates;
3. gitloop itself and its dependencies as wheels built on the host (``pip wheel`` of the source
   checkout, resolved through the host's own pip configuration) and installed into ``/opt/gitloop``
   with ``--no-index``: the image is self-contained, nothing is mounted from the host. Bookworm's
   python3 is 3.11.2 and gitloop asks for 3.11.4 (tarfile's extraction filters, used only by the CD
   side's git exports and by ``make tools``, never by a catalog step), so pip is told to install it
   anyway (``--ignore-requires-python``); the build checks that ``gitloop image set`` runs;
4. ``yq``: mikefarah-compatible, from the pure-Python yaqpy wheel, under that name;
5. helm and kubectl (kustomize built in) from ``make tools`` (``gitloop.render.tools``).

The build is idempotent: the digest of its inputs (the Containerfile, the mirror, the gitloop source
files, the helm/kubectl binaries) is recorded as the image's ``dev.gitloop.inputs`` label, and an image
whose label matches is kept. ``python -m gitloop.localinfra.images [--force]`` (``make tools-image``)
builds it from the command line; a missing podman or debootstrap exits 2, a failed build 1.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from gitloop.errors import GitloopError, InfraError, UsageError
from gitloop.executors.podman import CONTAINERS_CONF
from gitloop.localinfra.paths import cache_dir
from gitloop.render.tools import ensure_tools

TOOLS_IMAGE = "localhost/gitloop/tools:latest"
BASE_IMAGE = "localhost/debian:bookworm"
SUITE = "bookworm"
INPUTS_LABEL = "dev.gitloop.inputs"
BUILDER_VERSION = "1"
"""Raised when the way the image is made changes, so images built the old way are rebuilt."""
APT_PACKAGES = ("git", "python3", "python3-venv", "openssh-client", "ca-certificates")
PYTHON_REQUIREMENTS = ("yaqpy>=0.8,<1",)
_TIMEOUT = 1200.0

Progress = Callable[[str], None]

CONTAINERFILE = """\
FROM {base}
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
RUN apt-get update -q \\
 && apt-get install -y -q --no-install-recommends {packages} \\
 && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY bin/ /usr/local/bin/
RUN --mount=type=bind,source=wheels,target=/tmp/wheels python3 -m venv /opt/gitloop \\
 && /opt/gitloop/bin/pip install -q --no-index --no-cache-dir --ignore-requires-python \\
      --find-links /tmp/wheels gitloop {python} \\
 && ln -s /opt/gitloop/bin/gitloop /usr/local/bin/gitloop \\
 && ln -s /opt/gitloop/bin/yaqpy /usr/local/bin/yq
RUN git --version && python3 --version && gitloop image set --help >/dev/null && yq --version \\
 && kubectl version --client && helm version --short
LABEL {label}="{digest}"
WORKDIR /workspace
CMD ["/bin/sh"]
"""


@dataclass(frozen=True)
class Outcome:
    """What ``ensure_tools_image`` did: the image, its inputs' digest, and whether it was (re)built."""

    image: str
    digest: str
    built: bool


def debian_mirror(sources: Iterable[tuple[str, str]], suite: str = SUITE) -> str:
    """The Debian mirror that serves ``suite``'s main component, from apt sources given as (file name,
    text) pairs: deb822 ``*.sources`` stanzas (``URIs:``/``Suites:``) or one-line ``deb URI SUITE ...``
    entries. ``UsageError`` naming the files read when none does."""
    names: list[str] = []
    for name, text in sources:
        names.append(name)
        for uri, suites, components in _entries(name, text):
            if suite in suites and "main" in components and uri.startswith(("http://", "https://")):
                return uri.rstrip("/")
    read = ", ".join(names) or "no apt source files"
    raise UsageError(f"no apt source serves Debian {suite} main (read: {read}); debootstrap needs a mirror")


def _entries(name: str, text: str) -> list[tuple[str, list[str], list[str]]]:
    """(uri, suites, components) of each ``deb`` source in one file."""
    found: list[tuple[str, list[str], list[str]]] = []
    if name.endswith(".sources"):
        for stanza in re.split(r"\n\s*\n", text):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line or line[:1].isspace():
                    continue
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.strip()
            if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes") == "no":
                continue
            suites, components = fields.get("suites", "").split(), fields.get("components", "").split()
            found += [(uri, suites, components) for uri in fields.get("uris", "").split()]
        return found
    for line in text.splitlines():
        words = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()
        if len(words) >= 3 and words[0] == "deb":
            found.append((words[1], [words[2]], words[3:]))
    return found


def system_mirror(apt_dir: Path = Path("/etc/apt")) -> str:
    """The mirror this machine's apt uses for Debian bookworm."""
    files = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*"))]
    readable = [p for p in files if p.is_file() and p.name.endswith((".list", ".sources"))]
    return debian_mirror((str(p), p.read_text(encoding="utf-8", errors="replace")) for p in readable)


def containerfile(digest: str) -> str:
    """The Containerfile of the tools image, labelled with its inputs' digest."""
    return CONTAINERFILE.format(
        base=BASE_IMAGE,
        packages=" ".join(APT_PACKAGES),
        python=" ".join(f"'{r}'" for r in PYTHON_REQUIREMENTS),
        label=INPUTS_LABEL,
        digest=digest,
    )


def source_root() -> Path:
    """The gitloop source checkout this module runs from (where ``pip wheel`` builds gitloop)."""
    root = Path(__file__).resolve().parents[3]
    if not (root / "pyproject.toml").is_file() or not (root / "src" / "gitloop").is_dir():
        raise UsageError(
            f"the tools image installs gitloop from its source checkout, and {root} is not one: "
            "run it from a clone of gitloop (pip install -e .)"
        )
    return root


def inputs_digest(root: Path, mirror: str, binaries: Iterable[Path]) -> str:
    """sha256 over everything the image is made of: the builder, the mirror, the Containerfile, the
    gitloop sources (``pyproject.toml`` and ``src/gitloop``, caches left out) and the binaries."""
    digest = hashlib.sha256()
    digest.update(f"{BUILDER_VERSION}\0{mirror}\0{containerfile('')}\0".encode())
    files = [root / "pyproject.toml"]
    files += sorted(
        p
        for p in (root / "src" / "gitloop").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith((".pyc", ".pyo"))
    )
    for path in [*files, *binaries]:
        name = str(path.relative_to(root)) if path.is_relative_to(root) else path.name
        digest.update(f"{name}\0{path.stat().st_size}\0".encode())
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def podman_env(work: Path) -> dict[str, str]:
    """The environment podman runs in: the caller's, with the private ``containers.conf`` (runc, capped
    ulimits) unless ``CONTAINERS_CONF`` is set already."""
    env = dict(os.environ)
    if "CONTAINERS_CONF" not in env:
        conf = work / "containers.conf"
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(CONTAINERS_CONF)
        env["CONTAINERS_CONF"] = str(conf)
    return env


def _program(name: str, package: str) -> str:
    found = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/sbin") / name) if p.is_file()), None
    )
    if found is None:
        raise UsageError(f"{name} is not installed (apt-get install {package}); the tools image needs it")
    return found


def _run(args: list[str], env: Mapping[str, str], what: str) -> str:
    try:
        done = subprocess.run(
            args, env=dict(env), capture_output=True, text=True, timeout=_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InfraError(f"{what}: {exc}") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise InfraError(f"{what} failed (exit {done.returncode}):\n{tail}")
    return done.stdout


def _inspect(podman: str, env: Mapping[str, str], image: str, template: str) -> str | None:
    """``podman image inspect --format template``; ``None`` when the image is not there."""
    done = subprocess.run(
        [podman, "image", "inspect", "--format", template, image],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else None


def image_label(podman: str, env: Mapping[str, str], image: str) -> str | None:
    """The image's inputs label; ``None`` when the image is not there ("" when it has no label)."""
    label = _inspect(podman, env, image, '{{ index .Labels "' + INPUTS_LABEL + '" }}')
    return "" if label == "<no value>" else label


def ensure_base(podman: str, env: Mapping[str, str], mirror: str, work: Path, progress: Progress) -> None:
    """``localhost/debian:bookworm`` from debootstrap, unless it is there already."""
    if image_label(podman, env, BASE_IMAGE) is not None:
        progress(f"base image {BASE_IMAGE} is present")
        return
    debootstrap = _program("debootstrap", "debootstrap")
    rootfs = work / "rootfs"
    progress(f"debootstrap --variant=minbase {SUITE} from {mirror} (about 30 s)")
    _run(
        [debootstrap, "--variant=minbase", SUITE, str(rootfs), mirror],
        env,
        f"debootstrap {SUITE} from {mirror} (is the mirror reachable?)",
    )
    progress(f"importing the root filesystem as {BASE_IMAGE}")
    archive = work / "rootfs.tar"
    _run(["tar", "-C", str(rootfs), "-cf", str(archive), "."], env, "tar of the debootstrap root")
    _run([podman, "import", str(archive), BASE_IMAGE], env, f"podman import {BASE_IMAGE}")
    archive.unlink()
    shutil.rmtree(rootfs, ignore_errors=True)


@contextlib.contextmanager
def _locked(workdir: Path, progress: Progress) -> Iterator[None]:
    """One build at a time on this machine (``make tools-image`` and a test session may overlap)."""
    with (workdir / ".lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress("another build of the tools image is running: waiting for it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def ensure_tools_image(
    *, force: bool = False, progress: Progress = print, image: str = TOOLS_IMAGE
) -> Outcome:
    """The tools image, built unless an image with the same inputs' digest is there; ``force`` builds
    it again without podman's layer cache (fresh Debian packages; the base image is kept)."""
    podman = _program("podman", "podman runc")
    root = source_root()
    mirror = system_mirror()
    progress("helm and kubectl from gitloop.render.tools (make tools)")
    tools = ensure_tools()
    binaries = {"helm": tools.helm, "kubectl": tools.kubectl}
    digest = inputs_digest(root, mirror, binaries.values())
    workdir = cache_dir() / "tools-image"
    workdir.mkdir(parents=True, exist_ok=True)
    env = podman_env(workdir)
    with _locked(workdir, progress):
        if not force and image_label(podman, env, image) == digest:
            progress(f"{image} is up to date (inputs {digest[:12]})")
            return Outcome(image, digest, built=False)
        previous = _inspect(podman, env, image, "{{.Id}}")
        with tempfile.TemporaryDirectory(prefix="build-", dir=workdir) as tmp:
            work = Path(tmp)
            ensure_base(podman, env, mirror, work, progress)
            context = work / "context"
            (context / "bin").mkdir(parents=True)
            for name, path in binaries.items():
                shutil.copy2(path, context / "bin" / name)
            progress("building the gitloop wheel and its dependencies' wheels (pip wheel)")
            _run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "wheel",
                    "-q",
                    "--wheel-dir",
                    str(context / "wheels"),
                    str(root),
                    *PYTHON_REQUIREMENTS,
                ],
                env,
                "pip wheel of gitloop and its dependencies",
            )
            (context / "Containerfile").write_text(containerfile(digest))
            progress(f"podman build {image} (apt-get from {mirror})")
            _run(
                [
                    podman,
                    "build",
                    "--network",
                    "host",
                    "--no-cache" if force else "--layers",
                    "--tag",
                    image,
                    "--file",
                    str(context / "Containerfile"),
                    str(context),
                ],
                env,
                f"podman build {image}",
            )
        if previous and previous != _inspect(podman, env, image, "{{.Id}}"):
            # The image this one replaces, now untagged; kept if a container or another tag still uses it.
            subprocess.run([podman, "rmi", previous], env=env, capture_output=True, timeout=120, check=False)
    progress(f"built {image} (inputs {digest[:12]})")
    return Outcome(image, digest, built=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m gitloop.localinfra.images [--force]``: exit 0 when the image is there, 2 for a
    missing prerequisite, 1 for a build that failed."""
    parser = argparse.ArgumentParser(
        prog="python -m gitloop.localinfra.images", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="rebuild without the layer cache even when the inputs are unchanged",
    )
    args = parser.parse_args(argv)
    try:
        outcome = ensure_tools_image(
            force=args.force, progress=lambda line: print(f"tools-image: {line}", flush=True)
        )
    except GitloopError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(outcome.image)
    return 0


if __name__ == "__main__":
    sys.exit(main())
