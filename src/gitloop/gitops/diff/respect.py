"""``RespectIgnoreDifferences=true``: a sync leaves ignored fields as they are live.

Argo CD's sync option patches each desired object before applying it: the fields its
``ignoreDifferences`` rules ignore (JSON pointers, jq paths, fields of ``managedFieldsManagers``)
take their live values, so an HPA-managed ``spec.replicas`` or an injected init container is not reset
by the sync. An ignored field the live object does not have is left out of the applied object.
``status`` is never copied: the resource's controller owns it, not the sync. Without a live object (a
resource to create) the desired object is applied as it is.
"""

from __future__ import annotations

import copy
from typing import Any

from gitloop.gitops.diff.fieldpath import canonical_json, managed_by
from gitloop.gitops.diff.ignore import IgnoreDifferences, drop_managed_differences
from gitloop.model.resources import Manifest, ResourceKey

_ITEM_KEYS = ("name", "mountPath", "devicePath", "ip", "type", "containerPort", "port")
"""Fields that identify list items well enough to find an item's counterpart in the desired list."""


def respect_ignore_differences(
    desired: Manifest, live: Manifest | None, ignores: IgnoreDifferences
) -> Manifest:
    """A copy of ``desired`` whose ignored fields hold their live values (or are absent, if live lacks them)."""
    if live is None:
        return copy.deepcopy(desired)
    rules = ignores.for_resource(ResourceKey.of(desired))
    if not (rules.pointers or rules.jq or rules.managers):
        return copy.deepcopy(desired)
    target = rules.apply(desired)
    full = {name: value for name, value in live.items() if name != "status"}
    reduced = rules.apply(full)
    if rules.managers:
        drop_managed_differences(reduced, [target], managed_by(live, rules.managers))
    restored: Manifest = _restore(target, full, reduced)
    return restored


def _restore(target: Any, full: Any, reduced: Any) -> Any:
    """``target`` plus whatever ignoring took out of ``full`` to give ``reduced``."""
    if isinstance(full, dict) and isinstance(reduced, dict):
        out = dict(target) if isinstance(target, dict) else {}
        for name, value in full.items():
            if name not in reduced:
                out[name] = copy.deepcopy(value)
            elif value != reduced[name]:
                out[name] = _restore(out.get(name), value, reduced[name])
        return out
    if isinstance(full, list) and isinstance(reduced, list) and isinstance(target, list):
        return _restore_list(list(target), full, reduced)
    return copy.deepcopy(full)


def _restore_list(target: list[Any], full: list[Any], reduced: list[Any]) -> list[Any]:
    if len(full) == len(reduced):
        for index, (item, kept) in enumerate(zip(full, reduced, strict=True)):
            if item != kept:
                position = _counterpart(target, kept, index)
                if position is not None:
                    target[position] = _restore(target[position], item, kept)
        return target
    remaining = [canonical_json(item) for item in reduced]
    for index, item in enumerate(full):
        spelled = canonical_json(item)
        if spelled in remaining:
            remaining.remove(spelled)
            continue
        # an item ignoring removed: put it back before the item that follows it live
        positions = (_counterpart(target, later, None) for later in full[index + 1 :])
        following = next((position for position in positions if position is not None), None)
        target.insert(len(target) if following is None else following, copy.deepcopy(item))
    return target


def _counterpart(target: list[Any], item: Any, index: int | None) -> int | None:
    """Where ``item`` (as ignoring left it) is in the desired list: by an identifying field, else by index."""
    if isinstance(item, dict):
        for key in _ITEM_KEYS:
            if key in item:
                for position, candidate in enumerate(target):
                    if isinstance(candidate, dict) and candidate.get(key) == item[key]:
                        return position
                return None
    if index is not None and index < len(target):
        return index
    return None
