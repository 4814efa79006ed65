"""The adapters behind Task resolution: ``GitFiles`` for Tekton's git resolver, on the git mirrors.

``MirrorFiles`` reads one file of a remote repository at a revision through the ``GitRepo`` port:
fetch the mirror (once per URL for the life of the object), resolve the revision, export that commit
and read the file. The ``Resolver`` a run uses is built by ``gitloop.pipeline.inputs.resolver_for``.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from gitloop.errors import GitError
from gitloop.git import MirrorCache
from gitloop.ports import GitRepo


class MirrorFiles:
    """``GitFiles`` on ``GitRepo`` mirrors: ``repo_for(url)`` gives the (shared) mirror of a URL."""

    def __init__(self, repo_for: Callable[[str], GitRepo]) -> None:
        self._repo_for = repo_for
        self._fetched: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def cached(cls, root: Path) -> MirrorFiles:
        """Mirrors kept under ``root`` (e.g. ``~/.cache/gitloop/git``), shared with other readers."""
        return cls(MirrorCache(root).get)

    def read_file(self, url: str, revision: str, path: str) -> str:
        rel = PurePosixPath(path.strip().lstrip("/"))
        if not rel.parts or ".." in rel.parts:
            raise GitError(f"path {path!r} does not name a file inside {url}")
        repo = self._repo_for(url)
        with self._lock:
            if url not in self._fetched:
                repo.fetch()
                self._fetched.add(url)
        commit = repo.resolve(revision)
        with tempfile.TemporaryDirectory(prefix="gitloop-resolve-") as tmp:
            tree = repo.export(commit, Path(tmp) / "tree")
            target = tree.joinpath(*rel.parts)
            if target.is_symlink() or not target.is_file():
                raise GitError(f"{rel} is not a file in commit {commit[:12]} of {url}")
            try:
                return target.read_text(encoding="utf-8")
            except UnicodeDecodeError as exc:
                raise GitError(f"{rel} in commit {commit[:12]} of {url} is not UTF-8 text") from exc
