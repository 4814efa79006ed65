"""Three-way merge: the live object as it will be once the desired one is applied, without asking the server.

This is the fallback when no server-side apply dry run is at hand, and it follows what Argo CD's
three-way diff (and Kubernetes' apply) does:

- a field the desired object sets takes the desired value; maps are merged field by field;
- a field only the live object has stays — a server default, or another manager's — *unless* gitloop
  applied it before (it is in ``applied``: the ``last-applied-configuration`` object, or the fields
  the ``gitloop`` field manager owns): then it was removed from git and goes;
- lists are merged by kind: associative lists item by item on their key fields (``containers`` by
  ``name``: an injected sidecar stays, a container gitloop applied and git dropped goes), set-like
  lists (``finalizers``) by value, anything else position by position (the desired list wins, with
  defaults inside its items kept). The key fields come from the live object's managedFields, where the
  API server spells them out (``k:{"containerPort":80,"protocol":"TCP"}``), or else from a small table
  of Kubernetes' well-known merge keys;
- a desired ``{}`` or ``[]`` where the live object has nothing is "unset".

The result (the *predicted* live object) equals the live one exactly when a sync would change nothing.
"""

from __future__ import annotations

import copy
from typing import Any, Final

from gitloop.gitops.diff.fieldpath import (
    LIST_ITEM,
    Field,
    FieldSet,
    Index,
    Key,
    ListShape,
    Value,
    canonical_json,
    managed_by,
)
from gitloop.model.resources import Manifest

Shapes = dict[tuple[str, ...], ListShape]

_KEYED_LISTS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "volumes": ("name",),
    "env": ("name",),
    "imagePullSecrets": ("name",),
    "webhooks": ("name",),
    "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",),
    "hostAliases": ("ip",),
    "conditions": ("type",),
    "ports": ("containerPort", "port"),
}
"""Well-known merge keys by field name; for ``ports`` the first one every item has."""

_SET_LISTS = frozenset({"finalizers"})
_GONE: Final = object()


def applied_fields(
    live_raw: Manifest | None, last_applied: Manifest | None, manager: str, shapes: Shapes
) -> FieldSet:
    """What gitloop applied before: ``manager``'s managed fields plus the last-applied object's fields."""
    owned = managed_by(live_raw, [manager])
    if last_applied is not None:
        owned.merge(fields_of(last_applied, shapes))
    return owned


def fields_of(obj: Any, shapes: Shapes, path: tuple[str, ...] = ()) -> FieldSet:
    """Every field of a plain object, as a field set (how a last-applied object is read)."""
    if isinstance(obj, dict):
        node = FieldSet(member=True)
        for name, value in obj.items():
            node.children[Field(name)] = fields_of(value, shapes, (*path, name))
        return node
    if isinstance(obj, list):
        shape = _shape(path, obj, obj, shapes)
        node = FieldSet(member=True)
        for index, item in enumerate(obj):
            sub = fields_of(item, shapes, (*path, LIST_ITEM))
            if shape.keys:
                node.children[Key(tuple((k, canonical_json(item[k])) for k in shape.keys))] = sub
            elif shape.is_set:
                node.children[Value(canonical_json(item))] = sub
            elif isinstance(item, dict):
                node.children[Index(index)] = sub
        if not shape.keys and not shape.is_set and not any(isinstance(item, dict) for item in obj):
            node.children.clear()  # a list of scalars is owned as a whole
        return node
    return FieldSet()


def predict(live: Manifest, desired: Manifest, applied: FieldSet | None, shapes: Shapes) -> Manifest:
    """The live object after applying ``desired`` (all three already normalised)."""
    return _merge_map(live, desired, applied, (), shapes)


def _merge_value(
    live: Any, desired: Any, node: FieldSet | None, path: tuple[str, ...], shapes: Shapes
) -> Any:
    if isinstance(live, dict) and isinstance(desired, dict):
        return _merge_map(live, desired, node, path, shapes)
    if isinstance(live, list) and isinstance(desired, list):
        return _merge_list(live, desired, node, path, shapes)
    return copy.deepcopy(desired)


def _merge_map(
    live: dict[str, Any],
    desired: dict[str, Any],
    node: FieldSet | None,
    path: tuple[str, ...],
    shapes: Shapes,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in live.items():
        child = node.child(Field(name)) if node is not None else None
        if name in desired:
            out[name] = _merge_value(value, desired[name], child, (*path, name), shapes)
        elif child is None:
            out[name] = copy.deepcopy(value)
        else:
            kept = _prune(value, child)
            if kept is not _GONE:
                out[name] = kept
    for name, value in desired.items():
        if name not in live and not (isinstance(value, dict | list) and not value):
            out[name] = copy.deepcopy(value)
    return out


def _prune(value: Any, node: FieldSet) -> Any:
    """``value`` without what ``node`` says gitloop applied; ``_GONE`` if nothing is left."""
    if node.is_leaf():
        return _GONE
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for name, item in value.items():
            child = node.child(Field(name))
            kept = copy.deepcopy(item) if child is None else _prune(item, child)
            if kept is not _GONE:
                out[name] = kept
        return out if out or not value else _GONE
    if isinstance(value, list):
        items: list[Any] = []
        for index, item in enumerate(value):
            owner = node.item(item, index)
            if owner is None:
                items.append(copy.deepcopy(item))
            elif isinstance(owner[0], Index):
                kept = _prune(item, owner[1])
                if kept is not _GONE:
                    items.append(kept)
        return items if items or not value else _GONE
    return _GONE


def _shape(path: tuple[str, ...], desired: list[Any], live: list[Any], shapes: Shapes) -> ListShape:
    """How to merge the list at ``path``: by key, as a set, or by position (``ListShape()``)."""
    items = [*desired, *live]
    hint = shapes.get(path)
    name = path[-1] if path else ""
    if (hint is not None and hint.is_set) or (hint is None and name in _SET_LISTS):
        if not any(isinstance(item, dict | list) for item in items):
            return ListShape(is_set=True)
        return ListShape()
    if hint is not None and hint.keys:
        keys = tuple(k for k in hint.keys if all(isinstance(item, dict) and k in item for item in desired))
    else:
        candidates = _KEYED_LISTS.get(name, ())
        keys = next(
            ((k,) for k in candidates if all(isinstance(item, dict) and k in item for item in items)), ()
        )
    if not keys or not all(isinstance(item, dict) and all(k in item for k in keys) for item in items):
        return ListShape()
    for side in (desired, live):
        if len({_key_of(item, keys) for item in side}) != len(side):
            return ListShape()  # duplicate keys: cannot match items, fall back to positions
    return ListShape(keys=keys)


def _key_of(item: dict[str, Any], keys: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(canonical_json(item[k]) for k in keys)


def _merge_list(
    live: list[Any], desired: list[Any], node: FieldSet | None, path: tuple[str, ...], shapes: Shapes
) -> list[Any]:
    shape = _shape(path, desired, live, shapes)
    item_path = (*path, LIST_ITEM)
    if shape.is_set:
        wanted = {canonical_json(item) for item in desired}
        present = {canonical_json(item) for item in live}
        kept = [
            item
            for index, item in enumerate(live)
            if canonical_json(item) in wanted or node is None or node.item(item, index) is None
        ]
        return copy.deepcopy(kept + [item for item in desired if canonical_json(item) not in present])
    if not shape.keys:
        out: list[Any] = []
        for index, item in enumerate(desired):
            if index < len(live):
                child = node.child(Index(index)) if node is not None else None
                out.append(_merge_value(live[index], item, child, item_path, shapes))
            else:
                out.append(copy.deepcopy(item))
        return out
    return _merge_keyed(live, desired, node, item_path, shape.keys, shapes)


def _merge_keyed(
    live: list[Any],
    desired: list[Any],
    node: FieldSet | None,
    item_path: tuple[str, ...],
    keys: tuple[str, ...],
    shapes: Shapes,
) -> list[Any]:
    """Merge an associative list: live positions kept, desired items in git's order, new ones after
    their predecessor in git."""
    live_by_key = {_key_of(item, keys): (index, item) for index, item in enumerate(live)}
    matched = iter([item for item in desired if _key_of(item, keys) in live_by_key])
    merged: list[tuple[tuple[str, ...] | None, Any]] = []
    desired_keys = {_key_of(item, keys) for item in desired}
    for index, item in enumerate(live):
        if _key_of(item, keys) in desired_keys:
            wanted = next(matched)
            live_index, live_item = live_by_key[_key_of(wanted, keys)]
            owner = node.item(live_item, live_index) if node is not None else None
            child = owner[1] if owner is not None else None
            merged.append((_key_of(wanted, keys), _merge_value(live_item, wanted, child, item_path, shapes)))
        elif node is None or node.item(item, index) is None:
            merged.append((None, copy.deepcopy(item)))
    previous: tuple[str, ...] | None = None
    for item in desired:
        key = _key_of(item, keys)
        if key not in live_by_key:
            merged.insert(_insertion_point(merged, previous), (key, copy.deepcopy(item)))
        previous = key
    return [item for _, item in merged]


def _insertion_point(
    merged: list[tuple[tuple[str, ...] | None, Any]], previous: tuple[str, ...] | None
) -> int:
    """Just after the item that precedes a new one in git; for a first item, before the first git item."""
    for position, (key, _) in enumerate(merged):
        if previous is None and key is not None:
            return position
        if previous is not None and key == previous:
            return position + 1
    return len(merged)
