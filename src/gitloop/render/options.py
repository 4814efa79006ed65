"""Typed reads of an Argo CD ``spec.source`` mapping, with the field's path in every error.

The source arrives as plain YAML data; a wrong type (a string where a list belongs) is a
``RenderError`` naming ``spec.source.helm.valueFiles`` and what was found, never a ``TypeError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitloop.errors import RenderError

Options = Mapping[str, Any]


def section(source: Options, key: str, where: str) -> Options | None:
    """``source[key]`` as a mapping; ``None`` when absent or null (Argo treats both as unset)."""
    value = source.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _wrong(f"{where}.{key}", "a mapping", value)
    return value


def string(options: Options | None, key: str, where: str, default: str = "") -> str:
    value = None if options is None else options.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _wrong(f"{where}.{key}", "a string", value)
    return str(value)


def boolean(options: Options | None, key: str, where: str) -> bool:
    value = None if options is None else options.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _wrong(f"{where}.{key}", "true or false", value)
    return value


def strings(options: Options | None, key: str, where: str) -> list[str]:
    value = None if options is None else options.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _wrong(f"{where}.{key}", "a list of strings", value)
    return list(value)


def string_map(options: Options | None, key: str, where: str) -> dict[str, str]:
    value = None if options is None else options.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _wrong(f"{where}.{key}", "a mapping of strings", value)
    out: dict[str, str] = {}
    for k, v in value.items():
        if isinstance(v, bool) or not isinstance(v, str | int | float):
            raise _wrong(f"{where}.{key}.{k}", "a string", v)
        out[str(k)] = str(v)
    return out


def mappings(options: Options | None, key: str, where: str) -> list[Options]:
    value = None if options is None else options.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise _wrong(f"{where}.{key}", "a list of mappings", value)
    return list(value)


def _wrong(field: str, expected: str, value: Any) -> RenderError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return RenderError(f"{field}: expected {expected}, got {shown}")
