"""The application directory inside a checkout, kept inside it, and scratch copies of the checkout.

A source's ``path`` is relative to the repository root (a leading ``/`` too, as in Argo CD) and must
resolve, symbolic links followed, to a directory inside the root. Tools that edit files (Kustomize's
overrides, Helm's dependency build) work on a copy, so the checkout is never changed.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from gitloop.errors import RenderError


@dataclass(frozen=True)
class AppDir:
    """An app directory: the checkout's root and the directory, both with symbolic links resolved,
    and the directory relative to the root as the source names it (``"."`` for the root)."""

    root: Path
    path: Path
    rel: str

    def moved(self, new_root: Path) -> AppDir:
        """The same app directory inside a copy of the checkout at ``new_root``."""
        root = new_root.resolve()
        return AppDir(root=root, path=root / self.rel if self.rel != "." else root, rel=self.rel)


def resolve_app_dir(root: Path, path: str) -> AppDir:
    """``path`` inside ``root``; ``RenderError`` if it escapes the root or is not a directory."""
    try:
        real_root = root.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise RenderError(f"repository checkout {root} does not exist") from exc
    candidate = real_root / path.lstrip("/")
    try:
        real = candidate.resolve()
    except (OSError, RuntimeError) as exc:
        raise RenderError(f"app path {path!r} cannot be resolved: {exc}") from exc
    if not within(real, real_root):
        raise RenderError(f"app path {path!r} is outside the repository")
    if not real.exists():
        raise RenderError(f"app path does not exist: {path or '.'}")
    if not real.is_dir():
        raise RenderError(f"app path is not a directory: {path}")
    rel = real.relative_to(real_root).as_posix() if real != real_root else "."
    return AppDir(root=real_root, path=real, rel=rel)


def within(path: Path, root: Path) -> bool:
    """Whether ``path`` is ``root`` or below it (both already resolved)."""
    return path == root or root in path.parents


def copy_checkout(root: Path, dest: Path) -> Path:
    """Copy the checkout at ``root`` (without ``.git``) to ``dest``, symbolic links as links."""
    try:
        shutil.copytree(root, dest, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    except (OSError, shutil.Error) as exc:
        raise RenderError(f"cannot copy {root} to a scratch directory: {exc}") from exc
    return dest
