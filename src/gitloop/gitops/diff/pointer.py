"""JSON Pointers (RFC 6901), as ``ignoreDifferences.jsonPointers`` uses them: remove the pointed field.

``/spec/replicas`` names a field; ``~1`` stands for ``/`` and ``~0`` for ``~`` inside a name
(``/metadata/labels/node-role.kubernetes.io~1worker``); a token of digits indexes a list. Removing
a path that does not exist does nothing, as in Argo CD (whose JSON patch error is silenced).
"""

from __future__ import annotations

import re
from typing import Any

from gitloop.errors import SpecError

_INDEX = re.compile(r"^(0|[1-9][0-9]*)$")


def parse(pointer: str) -> tuple[str, ...]:
    """The unescaped tokens of a pointer; ``SpecError`` unless it starts with ``/`` and escapes are valid."""
    if not pointer.startswith("/"):
        raise SpecError(f"JSON pointer {pointer!r} must start with '/'")
    tokens = pointer[1:].split("/")
    for token in tokens:
        if re.search(r"~(?![01])", token):
            raise SpecError(f"JSON pointer {pointer!r}: '~' must be followed by 0 or 1")
    return tuple(token.replace("~1", "/").replace("~0", "~") for token in tokens)


def remove(obj: Any, tokens: tuple[str, ...]) -> bool:
    """Delete what ``tokens`` point at, in place; whether it existed."""
    if not tokens:
        return False
    parent = obj
    for token in tokens[:-1]:
        found, parent = _step(parent, token)
        if not found:
            return False
    last = tokens[-1]
    if isinstance(parent, dict) and last in parent:
        del parent[last]
        return True
    if isinstance(parent, list) and _INDEX.match(last) and int(last) < len(parent):
        del parent[int(last)]
        return True
    return False


def _step(value: Any, token: str) -> tuple[bool, Any]:
    if isinstance(value, dict):
        return (True, value[token]) if token in value else (False, None)
    if isinstance(value, list) and _INDEX.match(token) and int(token) < len(value):
        return True, value[int(token)]
    return False, None
