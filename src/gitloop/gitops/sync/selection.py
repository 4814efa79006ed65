"""Selective sync: the ``--resource GROUP:KIND:NAME`` filter of a sync operation.

A selector names a group (empty for the core group), a kind and a name, optionally a namespace as
``GROUP:KIND:NAMESPACE/NAME``; it matches an object with exactly that group, kind and name, in any
namespace unless one is given (Argo CD's ``SyncOperationResource.HasIdentity``). A sync with
selectors touches only the resources they match — for applying and pruning alike — and runs no
hooks, as Argo CD's selective sync does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gitloop.errors import UsageError
from gitloop.model.resources import ResourceKey


@dataclass(frozen=True)
class ResourceSelector:
    """One ``GROUP:KIND:[NAMESPACE/]NAME``; ``namespace`` ``""`` matches every namespace."""

    group: str
    kind: str
    name: str
    namespace: str = ""

    @classmethod
    def parse(cls, text: str) -> ResourceSelector:
        """Parse ``GROUP:KIND:NAME`` or ``GROUP:KIND:NAMESPACE/NAME``; ``UsageError`` otherwise."""
        fields = text.split(":")
        if len(fields) != 3:
            raise UsageError(f"resource should have GROUP:KIND:NAME, but instead got: {text}")
        group, kind, name = fields
        namespace = ""
        if "/" in name:
            parts = name.split("/")
            if len(parts) != 2:
                raise UsageError(
                    f"resource with namespace should have GROUP:KIND:NAMESPACE/NAME, but instead got: {text}"
                )
            namespace, name = parts
        if not kind or not name:
            raise UsageError(f"resource should name a kind and a name, but instead got: {text}")
        return cls(group, kind, name, namespace)

    def matches(self, key: ResourceKey) -> bool:
        return (
            key.group == self.group
            and key.kind == self.kind
            and key.name == self.name
            and (not self.namespace or key.namespace == self.namespace)
        )

    def __str__(self) -> str:
        name = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.group}:{self.kind}:{name}"


def selected(key: ResourceKey, selectors: Iterable[ResourceSelector]) -> bool:
    """Whether ``key`` takes part in a sync restricted to ``selectors`` (all do when there are none)."""
    chosen = list(selectors)
    return not chosen or any(s.matches(key) for s in chosen)
