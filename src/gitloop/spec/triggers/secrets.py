"""The secret values interceptors check signatures and tokens against, kept out of every repr.

A ``SecretRef`` in a listener names a Secret and a key; ``SecretValues`` holds the values by that name
and key. It is built from ``Secret`` objects (``v1`` documents with ``data`` or ``stringData``) or from a
plain mapping, and its ``repr`` lists only the Secret names, so a value never reaches a log line, an
error message or a test failure report.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from gitloop.spec.tekton.core import Secret


class SecretValues:
    """Secret values by Secret name and key. Immutable; ``repr`` shows names only."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Mapping[str, bytes | str]] | None = None) -> None:
        self._values: dict[str, dict[str, bytes]] = {
            name: {k: v.encode("utf-8") if isinstance(v, str) else bytes(v) for k, v in keys.items()}
            for name, keys in (values or {}).items()
        }

    @classmethod
    def from_secrets(cls, secrets: Iterable[Secret]) -> SecretValues:
        """The values of ``Secret`` objects (a later Secret of the same name replaces an earlier one)."""
        return cls({secret.name: dict(secret.data) for secret in secrets})

    def merged(self, other: SecretValues) -> SecretValues:
        """These values with ``other``'s Secrets added (``other`` wins on a name both hold)."""
        merged = SecretValues()
        merged._values = {**self._values, **other._values}
        return merged

    def get(self, name: str, key: str) -> bytes | None:
        """The value of ``key`` in Secret ``name``, or ``None`` when either is missing."""
        return self._values.get(name, {}).get(key)

    def has(self, name: str, key: str) -> bool:
        return self.get(name, key) is not None

    def names(self) -> Iterator[str]:
        return iter(sorted(self._values))

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretValues) and self._values == other._values

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._values)))

    def __repr__(self) -> str:
        return f"SecretValues(names={sorted(self._values)!r})"

    __str__ = __repr__
