"""The relaxed JSONPath of Tekton binding expressions: ``body.a.b``, ``body.k[0]``, ``header.X-Id``.

An expression may be written ``a.b``, ``.a.b``, ``{a.b}`` or ``{.a.b}``. Supported steps, as Kubernetes'
JSONPath reads them: ``.name`` (a ``\\`` escapes the next character, so ``dev\\.tekton\\.dev`` is one key),
``['name']`` or ``["name"]``, ``[2]`` and ``[-1]``, ``[*]`` (every item of an array or value of an object)
and ``[start:end]`` slices. Recursive descent (``..``), filters (``[?()]``) and unions (``[0,1]``) are not
supported and are reported as such.

A missing key, an index out of range or a step into a scalar is a ``JsonPathError``, as in Tekton, where
``AllowMissingKeys`` is off. The printed result follows Tekton: one string prints as itself, ``null`` as
``null``, any other single value as compact JSON (object keys sorted, as Go writes maps), several
values as a JSON array.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeAlias

from gitloop.errors import GitloopError


class JsonPathError(GitloopError):
    """An expression that cannot be parsed, or that finds nothing in the event."""


@dataclass(frozen=True)
class Key:
    name: str


@dataclass(frozen=True)
class Index:
    index: int


@dataclass(frozen=True)
class Slice:
    start: int | None
    end: int | None


@dataclass(frozen=True)
class Wildcard:
    pass


Step: TypeAlias = Key | Index | Slice | Wildcard


def relaxed(expression: str) -> str:
    """``expression`` without the optional ``{...}`` and leading ``.``: ``{.a.b}`` -> ``a.b``."""
    text = expression.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    if "{" in text or "}" in text:
        raise JsonPathError(f"unexpected path string {expression!r}")
    return text[1:] if text.startswith(".") else text


def _read_name(text: str, position: int) -> tuple[str, int]:
    name: list[str] = []
    while position < len(text) and text[position] not in ".[":
        if text[position] == "\\" and position + 1 < len(text):
            position += 1
        name.append(text[position])
        position += 1
    return "".join(name), position


def _bracket(inner: str, expression: str) -> Step:
    if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
        return Key(inner[1:-1])
    if inner == "*":
        return Wildcard()
    if inner.startswith("?") or "," in inner:
        raise JsonPathError(f"{expression!r}: filters and unions are not supported")
    try:
        if ":" in inner:
            parts = inner.split(":")
            if len(parts) > 3 or (len(parts) == 3 and parts[2] not in ("", "1")):
                raise JsonPathError(f"{expression!r}: slice steps other than 1 are not supported")
            return Slice(int(parts[0]) if parts[0] else None, int(parts[1]) if parts[1] else None)
        return Index(int(inner))
    except ValueError:
        raise JsonPathError(f"{expression!r}: invalid array index {inner!r}") from None


def parse(expression: str) -> list[Step]:
    """The steps of a relaxed JSONPath expression (without its ``$(...)``)."""
    text = relaxed(expression)
    if not text:
        raise JsonPathError("empty expression")
    steps: list[Step] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == "[":
            end = text.find("]", position)
            quote = text[position + 1 : position + 2]
            if quote in ("'", '"'):
                end = text.find("]", text.find(quote, position + 2))
            if end < 0:
                raise JsonPathError(f"{expression!r}: unterminated [")
            steps.append(_bracket(text[position + 1 : end].strip(), expression))
            position = end + 1
            continue
        if char == ".":
            position += 1
            if position < len(text) and text[position] == ".":
                raise JsonPathError(f"{expression!r}: recursive descent (..) is not supported")
        name, position = _read_name(text, position)
        if not name:
            raise JsonPathError(f"{expression!r}: empty field name")
        steps.append(Key(name))
    return steps


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return "null" if value is None else f"a {type(value).__name__}"


def _step(values: list[Any], step: Step, shown: str) -> list[Any]:
    found: list[Any] = []
    for value in values:
        if isinstance(step, Key):
            if not isinstance(value, dict):
                raise JsonPathError(f"{shown}: {step.name} is not found ({_kind(value)} has no fields)")
            if step.name not in value:
                raise JsonPathError(f"{shown}: {step.name} is not found")
            found.append(value[step.name])
        elif isinstance(step, Wildcard):
            if isinstance(value, dict):
                found.extend(value[k] for k in sorted(value))
            elif isinstance(value, list):
                found.extend(value)
            else:
                raise JsonPathError(f"{shown}: [*] needs an array or object, got {_kind(value)}")
        elif not isinstance(value, list):
            raise JsonPathError(f"{shown}: an index needs an array, got {_kind(value)}")
        elif isinstance(step, Index):
            index = step.index + len(value) if step.index < 0 else step.index
            if not 0 <= index < len(value):
                raise JsonPathError(
                    f"{shown}: array index {step.index} is out of bounds (length {len(value)})"
                )
            found.append(value[index])
        else:
            found.extend(value[step.start : step.end])
    return found


def find(document: Any, expression: str) -> list[Any]:
    """Every value ``expression`` selects in ``document``; ``JsonPathError`` when a step finds nothing."""
    values = [document]
    for step in parse(expression):
        values = _step(values, step, expression)
    return values


def _normalised(value: Any) -> Any:
    """Whole floats as integers, as Go prints JSON numbers (``2.0`` prints ``2``)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {k: _normalised(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalised(v) for v in value]
    return value


def to_json(value: Any) -> str:
    """Compact JSON with sorted keys, as Go's ``json.Marshal`` writes a decoded document."""
    return json.dumps(_normalised(value), separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def text(values: list[Any]) -> str:
    """The printed form of a result: a single string as itself, anything else as JSON."""
    if len(values) == 1:
        value = values[0]
        return value if isinstance(value, str) else to_json(value)
    return to_json(values)


def evaluate(document: Any, expression: str) -> str:
    """The printed value of ``expression`` in ``document``."""
    return text(find(document, expression))
