"""``ignoreDifferences``: fields left out of the comparison, per Application and system-wide.

A rule names resources by ``group`` and ``kind`` (globs: ``*`` matches anything, ``""`` is the core
group) and optionally an exact ``name`` and ``namespace``, and says what to ignore, as in Argo CD:

- ``jsonPointers`` (RFC 6901) and ``jqPathExpressions``: removed from desired, live and predicted
  objects before comparing (a path missing from an object is no error);
- ``managedFieldsManagers``: a field owned by one of these managers in the live object's
  ``metadata.managedFields`` is removed from every side when its live value differs from the desired
  (or predicted) one — the manager's value wins, the difference is not shown. A field only one side
  has is left alone, as Argo CD's structured comparison does.

System-level rules come from Argo CD's resource overrides (``resource.customizations.ignoreDifferences``
in ``argocd-cm``), keyed ``<group>/<kind>``, ``<kind>`` or ``*/*`` (``rules_from_overrides``); the
Application's own come from ``spec.ignoreDifferences`` (``rules_from_spec``). Every rule that matches a
resource applies; ``IgnoreDifferences`` compiles them once and raises ``SpecError`` for a pointer or
jq expression that cannot be used.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from gitloop.errors import SpecError
from gitloop.gitops.diff import fieldpath, jqpath, pointer
from gitloop.model.resources import Manifest, ResourceKey


@dataclass(frozen=True)
class IgnoreRule:
    """One ``ignoreDifferences`` entry."""

    group: str = ""
    kind: str = ""
    name: str = ""
    namespace: str = ""
    json_pointers: tuple[str, ...] = ()
    jq_path_expressions: tuple[str, ...] = ()
    managed_fields_managers: tuple[str, ...] = ()

    def matches(self, key: ResourceKey) -> bool:
        """Whether the rule covers a resource: group and kind by glob, name and namespace exactly if set."""
        return (
            fnmatchcase(key.group, self.group)
            and fnmatchcase(key.kind, self.kind)
            and self.name in ("", key.name)
            and self.namespace in ("", key.namespace)
        )


_SPEC_FIELDS = {
    "jsonPointers": "json_pointers",
    "jqPathExpressions": "jq_path_expressions",
    "managedFieldsManagers": "managed_fields_managers",
}


def rules_from_spec(entries: Any, *, field: str = "spec.ignoreDifferences") -> tuple[IgnoreRule, ...]:
    """The rules of an Application's ``spec.ignoreDifferences`` list (``None`` means none)."""
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise SpecError("expected a list", field=field)
    return tuple(_rule(entry, f"{field}[{index}]") for index, entry in enumerate(entries))


def rules_from_overrides(overrides: Mapping[str, Any]) -> tuple[IgnoreRule, ...]:
    """System-level rules: ``{"apps/Deployment": {"jsonPointers": [...]}, "*/*": {...}, "Service": ...}``."""
    rules: list[IgnoreRule] = []
    for key, entry in overrides.items():
        if key.count("/") > 1:
            raise SpecError(f"override key must be <group>/<kind> or <kind>, got {key!r}")
        group, _, kind = key.rpartition("/")
        rules.append(
            _rule(entry, f"resource.customizations.ignoreDifferences[{key}]", group=group, kind=kind)
        )
    return tuple(rules)


def _rule(entry: Any, where: str, *, group: str | None = None, kind: str | None = None) -> IgnoreRule:
    if not isinstance(entry, Mapping):
        raise SpecError("expected an object", field=where)
    names: dict[str, str] = {}
    for name in ("group", "kind", "name", "namespace"):
        value = entry.get(name)
        if value is not None and not isinstance(value, str):
            raise SpecError("expected a string", field=f"{where}.{name}")
        names[name] = value or ""
    lists: dict[str, tuple[str, ...]] = {}
    for name, attribute in _SPEC_FIELDS.items():
        value = entry.get(name)
        if value is None:
            value = []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise SpecError("expected a list of strings", field=f"{where}.{name}")
        lists[attribute] = tuple(value)
    return IgnoreRule(
        group=names["group"] if group is None else group,
        kind=names["kind"] if kind is None else kind,
        name=names["name"],
        namespace=names["namespace"],
        **lists,
    )


@dataclass(frozen=True)
class ResourceIgnores:
    """What is ignored for one resource: the union of every matching rule, without repeats."""

    pointers: tuple[tuple[str, ...], ...] = ()
    jq: tuple[jqpath.JqDeletion, ...] = ()
    managers: tuple[str, ...] = ()

    def apply(self, obj: Manifest) -> Manifest:
        """A copy of ``obj`` without the pointed and selected fields."""
        out = copy.deepcopy(obj)
        for tokens in self.pointers:
            pointer.remove(out, tokens)
        for deletion in self.jq:
            out = deletion.apply(out)
        return out


@dataclass(frozen=True)
class _Compiled:
    rule: IgnoreRule
    pointers: tuple[tuple[str, ...], ...]
    jq: tuple[jqpath.JqDeletion, ...]


class IgnoreDifferences:
    """A compiled set of rules (Application plus system level)."""

    def __init__(self, rules: Iterable[IgnoreRule] = ()) -> None:
        self._rules = tuple(
            _Compiled(
                rule,
                tuple(pointer.parse(text) for text in rule.json_pointers),
                tuple(jqpath.compile_deletion(text) for text in rule.jq_path_expressions),
            )
            for rule in rules
        )

    def for_resource(self, key: ResourceKey) -> ResourceIgnores:
        """What to ignore for the resource ``key``."""
        pointers: dict[tuple[str, ...], None] = {}
        jq: dict[str, jqpath.JqDeletion] = {}
        managers: dict[str, None] = {}
        for compiled in self._rules:
            if compiled.rule.matches(key):
                pointers.update(dict.fromkeys(compiled.pointers))
                for deletion in compiled.jq:
                    jq.setdefault(deletion.expression, deletion)
                managers.update(dict.fromkeys(compiled.rule.managed_fields_managers))
        return ResourceIgnores(tuple(pointers), tuple(jq.values()), tuple(managers))


def drop_managed_differences(
    live: Manifest, others: Sequence[Manifest | None], owned: fieldpath.FieldSet
) -> list[str]:
    """Remove, in place, every ``owned`` field whose live value differs from another side's.

    ``others`` are the desired and predicted objects (``None`` for an absent one). The field is removed
    from ``live`` and from all ``others``; the readable paths removed are returned.
    """
    removed: list[str] = []
    for path in owned.leaves():
        found, live_value = fieldpath.resolve(live, path)
        if not found:
            continue
        differs = False
        for other in others:
            if other is not None:
                present, value = fieldpath.resolve(other, path)
                differs = differs or (present and value != live_value)
        if differs:
            fieldpath.remove(live, path)
            for other in others:
                if other is not None:
                    fieldpath.remove(other, path)
            removed.append(fieldpath.path_str(path))
    return removed
