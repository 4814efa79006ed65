"""The ApplicationSet engine's ports: what it reads (a git tree, the registered clusters) and where its
Applications go (``AppSink``). The composition implements them over the git mirrors, the cluster
registry and the CD engine; tests use the in-memory ones beside them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gitloop.model.clusters import ClusterRef
from gitloop.spec.argocd.application import Application


class GitTree(Protocol):
    """A repository's files at a revision."""

    def files(self, repo_url: str, revision: str) -> tuple[str, list[str]]:
        """The commit ``revision`` resolves to, and the paths of every file in it (``/``-separated,
        relative to the root). ``GitError`` when the repository or the revision cannot be read."""
        ...

    def read(self, repo_url: str, sha: str, path: str) -> bytes:
        """The content of the file ``path`` at the commit ``sha``."""
        ...


class ClusterSource(Protocol):
    """The cluster registry, as the ``clusters`` generator sees it."""

    def clusters(self) -> Sequence[ClusterRef]: ...


class AppSink(Protocol):
    """The set of Applications an ApplicationSet writes to (the CD engine, in the server)."""

    def owned(self, owner: str) -> list[str]:
        """The names of the Applications ``owner`` registered."""
        ...

    def owner_of(self, name: str) -> str | None:
        """Who registered the Application ``name`` (``None``: nobody)."""
        ...

    def upsert(self, app: Application, owner: str) -> bool:
        """Register ``app`` under ``owner``, or replace the Application of its name; whether it was
        created or its spec changed."""
        ...

    async def delete(self, name: str, cascade: bool | None) -> None:
        """Delete the Application ``name`` (``cascade``: ``None`` follows its finalizers)."""
        ...


class StaticClusters:
    """A fixed list of clusters (tests, and a server without a registry)."""

    def __init__(self, clusters: Sequence[ClusterRef] = ()) -> None:
        self._clusters = list(clusters)

    def clusters(self) -> Sequence[ClusterRef]:
        return list(self._clusters)
