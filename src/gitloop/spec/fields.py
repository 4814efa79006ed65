"""Typed reads of one YAML document that fail with file, line, object and field path, for every spec
family (Tekton, Tekton Triggers, Argo CD, the serve config).

A ``Node`` is one value of a document together with its field path (``spec.tasks[2].runAfter``). Reading
a field records the line it was found on in the document's ``Locations``, so checks that run later, on
the frozen dataclasses, can still point at the right line through ``Origin.error``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gitloop.errors import SpecError
from gitloop.spec.duration import parse_duration
from gitloop.spec.yaml.documents import YamlMap, YamlSeq, plain

T = TypeVar("T", bound=str)
_LAST_STEP = re.compile(r"(\.[^.\[]+|\[[^\]]*\])$")


@dataclass
class Origin:
    """Where one document came from, and the line of each field read so far."""

    file: str
    obj: str = ""
    lines: dict[str, int] = field(default_factory=dict)
    unknown_hint: Callable[[str], str] | None = field(default=None, repr=False, compare=False)
    """What an unknown field of this document family may be (``""`` when nothing is known), said
    after "unknown field": Tekton's names the ``tekton.dev/v1beta1`` fields gitloop does not read."""

    def line(self, path: str) -> int | None:
        """The line of ``path``, else of its closest recorded parent."""
        while path:
            if path in self.lines:
                return self.lines[path]
            shorter = _LAST_STEP.sub("", path)
            if shorter == path:
                break
            path = shorter
        return self.lines.get("")

    def error(self, path: str, message: str) -> SpecError:
        """A ``SpecError`` for ``path``: file as ``file:line``, object as ``Kind/name``."""
        line = self.line(path)
        where = f"{self.file}:{line}" if line else self.file
        return SpecError(message, file=where, obj=self.obj or None, field=path or None)


def _no_hint(key: str) -> str:
    return ""


def type_name(value: Any) -> str:
    """How a YAML value's type reads in an error message."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null" if value is None else type(value).__name__


class Node:
    """One value of a document, with its field path; reads fail as ``SpecError`` at the value's line."""

    __slots__ = ("origin", "path", "value")

    def __init__(self, value: Any, path: str, origin: Origin, line: int | None = None) -> None:
        self.value = value
        self.path = path
        self.origin = origin
        if line is not None:
            origin.lines.setdefault(path, line)

    def error(self, message: str, key: str | None = None) -> SpecError:
        """An error at this node, or at its field ``key``."""
        return self.origin.error(self._sub(key) if key is not None else self.path, message)

    def _sub(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    # -- shape -------------------------------------------------------------------------------

    def is_map(self) -> bool:
        return isinstance(self.value, dict)

    def require_map(self) -> Node:
        if not isinstance(self.value, dict):
            raise self.error(f"must be an object, got {type_name(self.value)}")
        return self

    def only(self, allowed: Collection[str], hint: dict[str, str] | None = None) -> Node:
        """Reject fields not in ``allowed``, as Tekton's strict decoding does."""
        self.require_map()
        for key in self.value:
            if key not in allowed:
                extra = (hint or {}).get(key) or (self.origin.unknown_hint or _no_hint)(key)
                raise self.field(key).error(f"unknown field {key!r}{'; ' + extra if extra else ''}")
        return self

    def field(self, key: str) -> Node:
        """The field ``key`` even when it is ``null`` (its value is then ``None``)."""
        self.require_map()
        line = self.value.key_lines.get(key) if isinstance(self.value, YamlMap) else None
        return Node(self.value.get(key), self._sub(key), self.origin, line)

    def child(self, key: str) -> Node | None:
        """The field ``key``, or ``None`` when absent or ``null``."""
        self.require_map()
        if self.value.get(key) is None:
            return None
        return self.field(key)

    def has(self, key: str) -> bool:
        return self.child(key) is not None

    def items(self, key: str | None = None) -> list[Node]:
        """The items of this sequence (or of field ``key``); absent is empty."""
        node: Node | None = self if key is None else self.child(key)
        if node is None:
            return []
        if not isinstance(node.value, list):
            raise node.error(f"must be a list, got {type_name(node.value)}")
        lines = node.value.item_lines if isinstance(node.value, YamlSeq) else []
        return [
            Node(item, f"{node.path}[{i}]", self.origin, lines[i] if i < len(lines) else None)
            for i, item in enumerate(node.value)
        ]

    def entries(self, key: str | None = None) -> list[tuple[str, Node]]:
        """The fields of this object (or of the object at ``key``) as (name, node), ``null`` ones included."""
        node: Node | None = self if key is None else self.child(key)
        if node is None:
            return []
        node.require_map()
        return [(k, node.field(k)) for k in node.value]

    # -- scalars -----------------------------------------------------------------------------

    def as_str(self) -> str:
        if not isinstance(self.value, str):
            raise self.error(f"must be a string, got {type_name(self.value)}")
        return self.value

    def string(self, key: str, *, required: bool = False, default: str = "") -> str:
        node = self.child(key)
        if node is None:
            if required:
                raise self.error("required field is missing", key)
            return default
        value = node.as_str()
        if required and not value:
            raise node.error("must not be empty")
        return value

    def boolean(self, key: str, default: bool = False) -> bool:
        node = self.child(key)
        if node is None:
            return default
        if not isinstance(node.value, bool):
            raise node.error(f"must be true or false, got {type_name(node.value)}")
        return node.value

    def integer(self, key: str, default: int = 0, *, minimum: int | None = None) -> int:
        node = self.child(key)
        if node is None:
            return default
        if isinstance(node.value, bool) or not isinstance(node.value, int):
            raise node.error(f"must be an integer, got {type_name(node.value)}")
        if minimum is not None and node.value < minimum:
            raise node.error(f"{node.value} should be >= {minimum}")
        return node.value

    def strings(self, key: str) -> tuple[str, ...]:
        """A list of strings; absent is empty."""
        return tuple(item.as_str() for item in self.items(key))

    def string_map(self, key: str) -> dict[str, str]:
        """An object of string values (``null`` reads as empty); absent is empty."""
        return {k: "" if n.value is None else n.as_str() for k, n in self.entries(key)}

    def raw(self, key: str) -> Any:
        """The plain (``dict``/``list``) value of a field gitloop passes through unchecked."""
        node = self.child(key)
        return None if node is None else plain(node.value)

    def raw_map(self, key: str | None = None) -> dict[str, Any]:
        """The plain value of this object (or of the object at ``key``); absent is empty."""
        node: Node | None = self if key is None else self.child(key)
        if node is None:
            return {}
        node.require_map()
        value: dict[str, Any] = plain(node.value)
        return value

    def duration(self, key: str) -> float | None:
        """A Go duration (``1h30m``, ``90s``, ``0``) in seconds; ``None`` when absent."""
        node = self.child(key)
        if node is None:
            return None
        if node.value == 0 and not isinstance(node.value, bool):
            return 0.0
        if not isinstance(node.value, str):
            raise node.error(f'must be a duration such as "1h30m", got {type_name(node.value)}')
        try:
            seconds = parse_duration(node.value)
        except ValueError as exc:
            raise node.error(str(exc)) from exc
        if seconds < 0:
            raise node.error(f"{node.value} should be >= 0")
        return seconds

    def one_of(self, key: str, allowed: Sequence[T], default: T | None = None) -> T:
        """A string that must be one of ``allowed``; absent is ``default`` (required if ``None``)."""
        node = self.child(key)
        if node is None:
            if default is None:
                raise self.error(f"required field is missing: one of {', '.join(allowed)}", key)
            return default
        value = node.as_str()
        for choice in allowed:
            if value == choice:
                return choice
        raise node.error(f"invalid value {value!r}: must be one of {', '.join(repr(a) for a in allowed)}")
