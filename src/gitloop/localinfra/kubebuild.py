"""Kubernetes control-plane binaries for the local cluster: found in the cache, or built once from
Debian's ``kubernetes`` source package (offline, vendored) by ``build-kubernetes.sh``.

The build takes about ten minutes on two cores; its log is kept under the cache on failure. Builds are
serialised by an ``flock`` beside the work directory: a second ``gitloop cluster up`` (or test session)
started meanwhile waits for the first and then uses its binaries, instead of wiping its work directory.
The build script inherits the lock, so a build whose gitloop was killed still holds it until it ends; one
interrupted inside gitloop (Ctrl-C, a test's timeout) is killed with its whole process group.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from gitloop.errors import InfraError, UsageError
from gitloop.localinfra.paths import cache_dir
from gitloop.processes import signal_group

KUBE_VERSION = "v1.20.2"
CONTROL_PLANE = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubemark")
BUILD_STEPS = 7

Progress = Callable[[int, int, str], None]
"""Called with (step, of steps, description) as the build moves on."""


@dataclass(frozen=True)
class Binaries:
    """Paths of the programs a local control plane runs."""

    apiserver: Path
    controller_manager: Path
    scheduler: Path
    kubemark: Path
    etcd: Path


def binaries_dir() -> Path:
    return cache_dir() / f"k8s-{KUBE_VERSION}" / "bin"


def cached() -> bool:
    d = binaries_dir()
    return all((d / b).is_file() for b in CONTROL_PLANE)


def _etcd() -> Path:
    found = shutil.which("etcd") or ("/usr/bin/etcd" if Path("/usr/bin/etcd").is_file() else None)
    if not found:
        raise InfraError(
            "etcd is not installed: apt-get install etcd-server (or run `gitloop cluster build`)"
        )
    return Path(found)


def locate() -> Binaries:
    """The cached binaries; ``InfraError`` if they have not been built yet."""
    if not cached():
        raise InfraError(f"Kubernetes {KUBE_VERSION} binaries are not built yet: run `gitloop cluster build`")
    d = binaries_dir()
    return Binaries(
        apiserver=d / "kube-apiserver",
        controller_manager=d / "kube-controller-manager",
        scheduler=d / "kube-scheduler",
        kubemark=d / "kubemark",
        etcd=_etcd(),
    )


@contextlib.contextmanager
def _build_lock() -> Iterator[int]:
    """Hold the build lock; yields its file descriptor (released once every holder of it has closed it)."""
    path = cache_dir() / "build" / "k8s.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield handle.fileno()


def build(progress: Progress | None = None) -> Binaries:
    """Build and cache the binaries unless they are cached already; returns where they are."""
    if cached() and shutil.which("etcd"):
        return locate()
    with _build_lock() as lock:
        if cached() and shutil.which("etcd"):  # built by whoever held the lock before us
            return locate()
        return _build(progress, lock)


def _build(progress: Progress | None, lock: int) -> Binaries:
    if not shutil.which("apt-get"):
        raise UsageError(
            "gitloop builds its local Kubernetes control plane from Debian's source packages, and this "
            "machine has no apt-get. Point gitloop at an existing cluster instead: --kubeconfig FILE or "
            "KUBECONFIG (kind, k3d, minikube or a cloud cluster)."
        )
    out = binaries_dir().parent
    work = cache_dir() / "build" / "k8s"
    log_path = cache_dir() / "build" / "k8s-build.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    script = resources.files("gitloop.localinfra") / "build-kubernetes.sh"
    with resources.as_file(script) as script_path, log_path.open("w") as log:
        proc = subprocess.Popen(
            ["bash", str(script_path), str(out), str(work)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            pass_fds=(lock,),
        )
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                log.write(line)
                if line.startswith("::step ") and progress is not None:
                    _, number, description = line.rstrip("\n").split(" ", 2)
                    progress(int(number), BUILD_STEPS, description)
            code = proc.wait()
        except BaseException:
            signal_group(proc.pid)
            proc.wait()
            raise
    if code != 0:
        tail = "".join(log_path.read_text(errors="replace").splitlines(keepends=True)[-15:])
        raise InfraError(
            f"building Kubernetes {KUBE_VERSION} failed (exit {code}); the full log is kept at {log_path}\n{tail}"
        )
    log_path.unlink(missing_ok=True)
    return locate()
