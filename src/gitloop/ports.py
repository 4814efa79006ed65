"""The Protocols the engines depend on. Adapters implement them; tests fake them.

Each port is small and speaks plain data (``Manifest`` dicts, ``ResourceKey``), never a client
library's types, so the engines never see lightkube, git or a database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gitloop.model.resources import GroupVersionKind, Manifest


@dataclass(frozen=True)
class ApiResource:
    """One kind the API server serves, as discovery reports it."""

    gvk: GroupVersionKind
    plural: str
    namespaced: bool
    verbs: frozenset[str]


@dataclass(frozen=True)
class WatchEvent:
    """One change seen by a watch: ``type`` is ADDED, MODIFIED or DELETED."""

    type: str
    object: Manifest


class Cluster(Protocol):
    """One Kubernetes cluster. Errors are raised as ``ClusterError`` subclasses."""

    async def resources(self) -> list[ApiResource]:
        """Every kind the server serves (discovery), preferring each group's preferred version."""
        ...

    async def resource_for(self, api_version: str, kind: str) -> ApiResource:
        """The kind behind ``apiVersion``/``kind``; ``NotFoundError`` if the server lacks it."""
        ...

    async def apply(self, manifest: Manifest, *, force: bool = True, dry_run: bool = False) -> Manifest:
        """Server-side apply with field manager ``gitloop``; returns the object the server holds."""
        ...

    async def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Manifest:
        """One object; ``NotFoundError`` if it does not exist."""
        ...

    async def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[Manifest]:
        """Every object of a kind, in one namespace or (``None``) in all of them."""
        ...

    def watch(
        self, api_version: str, kind: str, namespace: str | None = None, resource_version: str | None = None
    ) -> AsyncIterator[WatchEvent]:
        """Changes to objects of a kind, from ``resource_version`` on."""
        ...

    async def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        propagation: str = "Foreground",
    ) -> None:
        """Delete one object; ``NotFoundError`` if it does not exist."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True)
class StoredObject:
    """One record of the store: a resumable state or a finished run, as JSON-compatible data."""

    kind: str
    name: str
    doc: dict[str, object]
    labels: dict[str, str]
    created: float
    updated: float


@dataclass(frozen=True)
class LogLine:
    """One line of a step's (or any source's) output, in the order it was appended."""

    seq: int
    source: str
    time: float
    text: str


@dataclass(frozen=True)
class HistoryEntry:
    """One entry of an Application's (or any owner's) append-only history."""

    id: int
    owner: str
    time: float
    doc: dict[str, object]


class Store(Protocol):
    """Status and history that outlive a process: PipelineRuns, TaskRuns, step logs, sync operations,
    sync history, lineage. Desired state is never kept here (git holds it). Implementations must be
    safe to use from several threads; every write is durable when the call returns.

    ``kind`` is a free-form namespace such as ``"PipelineRun"`` or ``"SyncOperation"``; ``name`` is unique
    within a kind. ``labels`` are exact-match filters for ``query``. Secrets must never be passed in.
    """

    def put(
        self, kind: str, name: str, doc: dict[str, object], *, labels: dict[str, str] | None = None
    ) -> None:
        """Create or replace one record (labels replaced too when given)."""
        ...

    def get(self, kind: str, name: str) -> StoredObject | None:
        """One record, or ``None``."""
        ...

    def query(
        self, kind: str, *, labels: dict[str, str] | None = None, limit: int | None = None
    ) -> list[StoredObject]:
        """Records of a kind whose labels include ``labels``, newest (by creation) first."""
        ...

    def delete(self, kind: str, name: str) -> bool:
        """Remove one record and its logs; whether it existed."""
        ...

    def append_log(self, run: str, source: str, lines: list[str]) -> None:
        """Append lines of output of ``source`` (e.g. ``"build/step-compile"``) to the log of ``run``."""
        ...

    def read_log(self, run: str, *, source: str | None = None, after_seq: int = 0) -> list[LogLine]:
        """The log of ``run`` (optionally one source), lines with ``seq > after_seq``, in order."""
        ...

    def append_history(self, owner: str, doc: dict[str, object]) -> int:
        """Append an entry to ``owner``'s history; returns its id (increasing per owner, from 0)."""
        ...

    def history(self, owner: str) -> list[HistoryEntry]:
        """``owner``'s history, oldest first."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True)
class CommitInfo:
    """What a commit says about itself."""

    sha: str
    author: str
    email: str
    time: float
    message: str


class GitRepo(Protocol):
    """A local mirror of one remote repository, shared by everything that reads it."""

    @property
    def url(self) -> str:
        """The remote's URL as configured (credentials never included)."""
        ...

    def fetch(self) -> None:
        """Bring the mirror up to date with the remote (all branches and tags)."""
        ...

    def resolve(self, revision: str) -> str:
        """A branch, tag, commit SHA (full or abbreviated) or ``HEAD`` as a full commit SHA;
        ``GitError`` if the remote has no such revision."""
        ...

    def tree_id(self, commit: str, path: str = "") -> str:
        """The object id of the tree at ``path`` in ``commit`` (``""`` is the root): equal ids mean the
        directory's content did not change."""
        ...

    def export(self, commit: str, dest: Path) -> Path:
        """Write the files of ``commit`` into ``dest`` (created; no ``.git``); returns ``dest``."""
        ...

    def commit_info(self, commit: str) -> CommitInfo:
        """Author, time and message of one commit."""
        ...


class Renderer(Protocol):
    """Turns an Application source checked out at ``root`` into Kubernetes manifests."""

    def render(self, root: Path, source: dict[str, Any], *, app_name: str, namespace: str) -> list[Manifest]:
        """Render ``source`` (an Argo CD ``spec.source`` mapping: ``path``, ``directory``, ``kustomize``,
        ``helm``) relative to ``root``. Raises ``RenderError`` carrying the tool's message."""
        ...
