"""The Protocols the engines depend on. Adapters implement them; tests fake them.

Each port is small and speaks plain data (``Manifest`` dicts, ``ResourceKey``), never a client
library's types, so the engines never see lightkube, git or a database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

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
