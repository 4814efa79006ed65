"""Field paths and field sets: which fields of an object a field manager owns.

Kubernetes records, in ``metadata.managedFields``, the fields each manager set, as a *FieldsV1* tree
(the encoding of sigs.k8s.io/structured-merge-diff): every key of the tree is one path element —
``f:<name>`` a field of a map, ``k:<json object>`` the item of an associative list with those key
fields, ``v:<json value>`` the item of a set-like list with that value, ``i:<n>`` the item at an index
— and a ``"."`` key marks the node itself as a member of the set. ``parse_fields_v1`` reads that tree
into a ``FieldSet``; ``resolve`` and ``remove`` follow a path into a plain object.

The diff package uses field sets for three things: the fields gitloop applied before (so a field
dropped from git is a difference), the fields owned by ``managedFieldsManagers`` (ignored), and the
key fields of associative lists (so list items are matched by key, not by position).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitloop.model.resources import Manifest

LIST_ITEM = "[]"
"""The element of a structural path (``ListShape`` keys) that stands for any item of a list."""


def canonical_json(value: Any) -> str:
    """One spelling of a JSON value, to compare key values and set items."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Field:
    """``f:<name>``: a field of a map."""

    name: str

    def __str__(self) -> str:
        return f".{self.name}"


@dataclass(frozen=True)
class Key:
    """``k:{...}``: the item of an associative list whose key fields have these (canonical JSON) values."""

    pairs: tuple[tuple[str, str], ...]

    def matches(self, item: Any) -> bool:
        """Whether a list item has these key values; a key field the item lacks (defaulted later) is
        not held against it, but at least one key field must be present and equal."""
        if not isinstance(item, dict):
            return False
        present = [(name, value) for name, value in self.pairs if name in item]
        return bool(present) and all(canonical_json(item[name]) == value for name, value in present)

    def __str__(self) -> str:
        return "[" + ",".join(f"{name}={value}" for name, value in self.pairs) + "]"


@dataclass(frozen=True)
class Value:
    """``v:<json>``: the item of a set-like list equal to this (canonical JSON) value."""

    value: str

    def matches(self, item: Any) -> bool:
        return canonical_json(item) == self.value

    def __str__(self) -> str:
        return f"[={self.value}]"


@dataclass(frozen=True)
class Index:
    """``i:<n>``: the item at an index of a list."""

    index: int

    def __str__(self) -> str:
        return f"[{self.index}]"


PathElement = Field | Key | Value | Index
Path = tuple[PathElement, ...]


def path_str(path: Path) -> str:
    """A readable path such as ``.spec.containers[name="web"].image``."""
    return "".join(str(element) for element in path) or "."


class MalformedFields(ValueError):
    """A FieldsV1 tree that cannot be read."""


@dataclass
class FieldSet:
    """A set of field paths, as a tree; ``member`` marks a node that is itself in the set."""

    children: dict[PathElement, FieldSet] = field(default_factory=dict)
    member: bool = False

    def child(self, element: PathElement) -> FieldSet | None:
        return self.children.get(element)

    def is_leaf(self) -> bool:
        return not self.children

    def item(self, item: Any, index: int) -> tuple[PathElement, FieldSet] | None:
        """The element and node that hold one list item (by key, value or index); ``None`` if none."""
        for element, node in self.children.items():
            if isinstance(element, Key | Value) and element.matches(item):
                return element, node
            if isinstance(element, Index) and element.index == index:
                return element, node
        return None

    def merge(self, other: FieldSet) -> None:
        """Add every path of ``other`` to this set."""
        self.member = self.member or other.member
        for element, node in other.children.items():
            mine = self.children.setdefault(element, FieldSet())
            mine.merge(node)

    def leaves(self) -> Iterator[Path]:
        """Every path that ends at a node without children."""
        for element, node in self.children.items():
            if node.is_leaf():
                yield (element,)
            else:
                for rest in node.leaves():
                    yield (element, *rest)

    def paths(self) -> list[str]:
        """Every member and leaf path, readable and sorted (for tests and messages)."""
        found: list[str] = []

        def walk(node: FieldSet, prefix: Path) -> None:
            for element, sub in node.children.items():
                here = (*prefix, element)
                if sub.member or sub.is_leaf():
                    found.append(path_str(here))
                walk(sub, here)

        walk(self, ())
        return sorted(found)


def _element(raw_key: str) -> PathElement:
    prefix, _, rest = raw_key.partition(":")
    try:
        if prefix == "f":
            return Field(rest)
        if prefix == "k":
            keys = json.loads(rest)
            if not isinstance(keys, dict) or not keys:
                raise MalformedFields(f"key {raw_key!r} is not a non-empty JSON object")
            return Key(tuple((str(name), canonical_json(value)) for name, value in keys.items()))
        if prefix == "v":
            return Value(canonical_json(json.loads(rest)))
        if prefix == "i":
            return Index(int(rest))
    except ValueError as exc:
        if isinstance(exc, MalformedFields):
            raise
        raise MalformedFields(f"cannot read path element {raw_key!r}: {exc}") from exc
    raise MalformedFields(f"unknown path element {raw_key!r}")


def parse_fields_v1(tree: Any) -> FieldSet:
    """The set a FieldsV1 tree (``managedFields[].fieldsV1``) describes; ``MalformedFields`` if unreadable."""
    if not isinstance(tree, Mapping):
        raise MalformedFields(f"expected an object, got {type(tree).__name__}")
    node = FieldSet()
    for raw_key, sub in tree.items():
        if raw_key == ".":
            node.member = True
            continue
        node.children[_element(str(raw_key))] = parse_fields_v1(sub)
    return node


def managed_by(obj: Manifest | None, managers: Iterable[str]) -> FieldSet:
    """The union of the fields the given managers own in ``obj``'s ``metadata.managedFields``.

    An entry whose FieldsV1 cannot be read is skipped, as if that manager owned nothing.
    """
    wanted = set(managers)
    owned = FieldSet()
    for manager, tree in _entries(obj):
        if manager in wanted:
            try:
                owned.merge(parse_fields_v1(tree))
            except MalformedFields:
                continue
    return owned


def _entries(obj: Manifest | None) -> Iterator[tuple[str, Any]]:
    meta = (obj or {}).get("metadata")
    entries = meta.get("managedFields") if isinstance(meta, dict) else None
    if not isinstance(entries, list):
        return
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("manager"), str):
            yield entry["manager"], entry.get("fieldsV1") or {}


@dataclass(frozen=True)
class ListShape:
    """How a list is merged: by ``keys`` (an associative list), as a ``set`` of values, or by position."""

    keys: tuple[str, ...] = ()
    is_set: bool = False


def list_shapes(obj: Manifest | None) -> dict[tuple[str, ...], ListShape]:
    """The list shapes the API server revealed in ``obj``'s managedFields (every manager), by structural
    path (field names, with ``LIST_ITEM`` for an item), e.g. ``("spec", ..., "containers")``."""
    shapes: dict[tuple[str, ...], ListShape] = {}

    def walk(node: FieldSet, prefix: tuple[str, ...]) -> None:
        for element, sub in node.children.items():
            if isinstance(element, Field):
                walk(sub, (*prefix, element.name))
            elif isinstance(element, Key):
                shapes.setdefault(prefix, ListShape(keys=tuple(name for name, _ in element.pairs)))
                walk(sub, (*prefix, LIST_ITEM))
            elif isinstance(element, Value):
                shapes.setdefault(prefix, ListShape(is_set=True))
            else:
                walk(sub, (*prefix, LIST_ITEM))

    for _manager, tree in _entries(obj):
        try:
            walk(parse_fields_v1(tree), ())
        except MalformedFields:
            continue
    return shapes


def _step(value: Any, element: PathElement) -> tuple[bool, Any, Any]:
    """Follow one element: (found, the value, the container-specific locator for removal)."""
    if isinstance(element, Field):
        if isinstance(value, dict) and element.name in value:
            return True, value[element.name], element.name
        return False, None, None
    if not isinstance(value, list):
        return False, None, None
    if isinstance(element, Index):
        if 0 <= element.index < len(value):
            return True, value[element.index], element.index
        return False, None, None
    for position, item in enumerate(value):
        if element.matches(item):
            return True, item, position
    return False, None, None


def resolve(obj: Any, path: Path) -> tuple[bool, Any]:
    """Whether ``path`` exists in ``obj``, and the value there."""
    value = obj
    for element in path:
        found, value, _ = _step(value, element)
        if not found:
            return False, None
    return True, value


def remove(obj: Any, path: Path) -> bool:
    """Delete what ``path`` points at (a map entry or a list item) in place; whether it existed."""
    if not path:
        return False
    found, parent = resolve(obj, path[:-1])
    if not found:
        return False
    present, _, locator = _step(parent, path[-1])
    if not present:
        return False
    del parent[locator]
    return True
