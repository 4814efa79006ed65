"""Typed reads of manifest fields for the health rules, with Kubernetes' zero-value semantics.

Argo CD converts an object into its typed Go struct before assessing it: an absent or ``null`` field
reads as the zero value, and a field of the wrong type makes the conversion (and so the assessment)
fail, which yields ``Unknown``. These helpers do the same on plain dicts: a missing field gives the
zero value and a wrongly typed one raises ``Malformed``, which ``gitloop.gitops.health.assess`` turns
into an ``Unknown`` result.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.resources import Manifest

HOOK_FINALIZER = "argocd.argoproj.io/hook-finalizer"


class Malformed(ValueError):
    """A field has the wrong type. Internal to the health package: never leaves ``assess``."""


def _walk(obj: Manifest, path: tuple[str, ...]) -> Any:
    value: Any = obj
    for i, key in enumerate(path):
        if value is None:
            return None
        if not isinstance(value, dict):
            raise Malformed(f".{'.'.join(path[:i])}: expected an object, got {type(value).__name__}")
        value = value.get(key)
    return value


def _where(path: tuple[str, ...]) -> str:
    return "." + ".".join(path)


def raw(obj: Manifest, *path: str) -> Any:
    """Whatever is at ``path``, unchecked; ``None`` if absent."""
    return _walk(obj, path)


def mapping(obj: Manifest, *path: str) -> Manifest:
    """The object at ``path``; ``{}`` if absent."""
    value = _walk(obj, path)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Malformed(f"{_where(path)}: expected an object, got {type(value).__name__}")
    return value


def has(obj: Manifest, *path: str) -> bool:
    """Whether ``path`` is present and not ``null`` (a Go pointer that is not nil)."""
    return _walk(obj, path) is not None


def integer(obj: Manifest, *path: str) -> int:
    """The integer at ``path``; ``0`` if absent."""
    value = optional_integer(obj, *path)
    return 0 if value is None else value


def optional_integer(obj: Manifest, *path: str) -> int | None:
    """The integer at ``path``; ``None`` if absent (a Go ``*int32``)."""
    value = _walk(obj, path)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Malformed(f"{_where(path)}: expected an integer, got {type(value).__name__}")
    return value


def string(obj: Manifest, *path: str) -> str:
    """The string at ``path``; ``""`` if absent."""
    value = _walk(obj, path)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Malformed(f"{_where(path)}: expected a string, got {type(value).__name__}")
    return value


def boolean(obj: Manifest, *path: str) -> bool:
    """The boolean at ``path``; ``False`` if absent."""
    value = _walk(obj, path)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise Malformed(f"{_where(path)}: expected a boolean, got {type(value).__name__}")
    return value


def items(obj: Manifest, *path: str) -> list[Manifest]:
    """The list of objects at ``path``; ``[]`` if absent."""
    value = _walk(obj, path)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(f"{_where(path)}: expected a list, got {type(value).__name__}")
    for index, item in enumerate(value):
        if item is not None and not isinstance(item, dict):
            raise Malformed(f"{_where(path)}[{index}]: expected an object, got {type(item).__name__}")
    return [item or {} for item in value]


def condition(obj: Manifest, condition_type: str) -> Manifest | None:
    """The first ``status.conditions`` entry of the given type, or ``None``."""
    for entry in items(obj, "status", "conditions"):
        if string(entry, "type") == condition_type:
            return entry
    return None


def name(obj: Manifest) -> str:
    return string(obj, "metadata", "name")


def annotation_map(obj: Manifest) -> dict[str, str]:
    """``metadata.annotations``; values that are not strings are ignored."""
    found = mapping(obj, "metadata", "annotations")
    return {str(k): v for k, v in found.items() if isinstance(v, str)}


def is_deleting(obj: Manifest) -> bool:
    """Whether ``metadata.deletionTimestamp`` holds a time (an empty or unparsable one does not count)."""
    value = raw(obj, "metadata", "deletionTimestamp")
    if isinstance(value, datetime):
        return True
    if not isinstance(value, str) or not value:
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def has_hook_finalizer(obj: Manifest) -> bool:
    finalizers = _walk(obj, ("metadata", "finalizers"))
    return isinstance(finalizers, list) and HOOK_FINALIZER in finalizers


def unsupported_version(kind: str, obj: Manifest) -> HealthResult:
    """Argo CD's answer for a known kind in an API version its rule does not read."""
    return HealthResult(
        HealthStatus.UNKNOWN,
        f"unsupported {kind} GVK: {obj.get('apiVersion', '')}, Kind={obj.get('kind', '')}",
    )
