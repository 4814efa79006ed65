"""Identity of Kubernetes objects, independent of any client library."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Manifest = dict[str, Any]
"""A Kubernetes object as plain JSON-compatible data."""


@dataclass(frozen=True, order=True)
class GroupVersionKind:
    """An API group, version and kind; ``group`` is ``""`` for the core group."""

    group: str
    version: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @classmethod
    def from_api_version(cls, api_version: str, kind: str) -> GroupVersionKind:
        group, _, version = api_version.rpartition("/")
        return cls(group, version, kind)


@dataclass(frozen=True, order=True)
class ResourceKey:
    """What identifies one object in a cluster: group, kind, namespace (``""`` if cluster-scoped), name."""

    group: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, manifest: Manifest) -> ResourceKey:
        api_version = str(manifest.get("apiVersion", ""))
        meta = manifest.get("metadata") or {}
        return cls(
            group=api_version.rpartition("/")[0],
            kind=str(manifest.get("kind", "")),
            namespace=str(meta.get("namespace") or ""),
            name=str(meta.get("name") or ""),
        )

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.group or 'core'}/{self.kind} {where}"
