"""JSON held to the same ``InputLimits`` as YAML: size first, then nesting depth.

Python's decoder recurses once per level and overflows near 1,000; that overflow and any document
nested deeper than ``max_depth`` are both refused as ``InputLimitError``. Syntax errors stay the
decoder's own ``ValueError`` (``json.JSONDecodeError``), for callers to word in their own terms.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from gitloop.spec.yaml.limits import InputLimits
from gitloop.spec.yaml.loader import check_size, depth_error


def load_json(
    text: str | bytes,
    *,
    source: str,
    limits: InputLimits | None = None,
    parse_constant: Callable[[str], Any] | None = None,
) -> Any:
    """The value of the JSON ``text``; ``source`` names it in errors."""
    limits = limits or InputLimits.from_env()
    check_size(text, source=source, limits=limits)
    try:
        value = json.loads(text, parse_constant=parse_constant)
    except RecursionError:
        raise depth_error(source, limits) from None
    if json_depth(value) > limits.max_depth:
        raise depth_error(source, limits)
    return value


def json_depth(value: Any) -> int:
    """Levels of nested objects and arrays in a decoded value (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            stack.extend((child, depth) for child in (item.values() if isinstance(item, dict) else item))
    return deepest
