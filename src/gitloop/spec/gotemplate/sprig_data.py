"""Sprig's defaults, type tests, lists, dicts, integer math and conversions, as Sprig defines them
(math on ``int64`` through ``cast``: floats truncate, unparsable strings are 0)."""

from __future__ import annotations

import copy
import math
import re
from typing import Any, Final

from gitloop.spec.gotemplate.execute import Func
from gitloop.spec.gotemplate.sprig_text import strval
from gitloop.spec.gotemplate.values import FuncError, empty, is_int, kind_name, type_name

MAX_LIST: Final = 100_000


def to_int(value: Any) -> int:
    """cast.ToInt64 with its error swallowed, as Sprig uses it."""
    if isinstance(value, bool):
        return int(value)
    if is_int(value):
        return int(value)
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else 0
    if isinstance(value, str):
        text = re.sub(r"^([-+]?\d+)\.0*$", r"\1", value.strip())
        try:
            if re.fullmatch(r"[-+]?0[0-7]+", text):
                return int(text, 8)
            return int(text, 0)
        except ValueError:
            return 0
    return 0


def to_float(value: Any) -> float:
    """cast.ToFloat64 with its error swallowed."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return 0.0
    return 0.0


def _atoi(text: str) -> int:
    return int(text) if re.fullmatch(r"[-+]?\d+", text) else 0


def _div(a: Any, b: Any) -> int:
    divisor = to_int(b)
    if divisor == 0:
        raise FuncError("runtime error: integer divide by zero")
    quotient = abs(to_int(a)) // abs(divisor)
    return quotient if (to_int(a) >= 0) == (divisor > 0) else -quotient


def _mod(a: Any, b: Any) -> int:
    divisor = to_int(b)
    if divisor == 0:
        raise FuncError("runtime error: integer divide by zero")
    return to_int(a) - _div(a, b) * divisor


def _product(first: Any, *rest: Any) -> int:
    total = to_int(first)
    for value in rest:
        total *= to_int(value)
    return total


def _list(value: Any, name: str) -> list[Any] | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return list(value)
    raise FuncError(f"Cannot find {name} on type {type_name(value)}")


def _first(value: Any) -> Any:
    items = _list(value, "first")
    return items[0] if items else None


def _last(value: Any) -> Any:
    items = _list(value, "last")
    return items[-1] if items else None


def _rest(value: Any) -> Any:
    items = _list(value, "rest")
    return items[1:] if items else None


def _initial(value: Any) -> Any:
    items = _list(value, "initial")
    return items[:-1] if items else None


def _append(value: Any, item: Any) -> list[Any]:
    items = _list(value, "append") or []
    return [*items, item]


def _prepend(value: Any, item: Any) -> list[Any]:
    items = _list(value, "prepend") or []
    return [item, *items]


def _uniq(value: Any) -> list[Any]:
    out: list[Any] = []
    for item in _list(value, "uniq") or []:
        if item not in out:
            out.append(item)
    return out


def _without(value: Any, *omit: Any) -> list[Any]:
    return [item for item in _list(value, "without") or [] if item not in omit]


def _has(needle: Any, haystack: Any) -> bool:
    if haystack is None:
        return False
    return needle in (_list(haystack, "has") or [])


def _concat(*lists: Any) -> list[Any]:
    out: list[Any] = []
    for value in lists:
        if value is None:
            continue
        if not isinstance(value, list | tuple):
            raise FuncError(f"Cannot concat type {type_name(value)} as list")
        out.extend(value)
    return out


def _until(count: int) -> list[Any]:
    if abs(count) > MAX_LIST:
        raise FuncError(f"until {count}: more than {MAX_LIST} items")
    return list(range(count)) if count >= 0 else list(range(0, count, -1))


def _dict(*pairs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i in range(0, len(pairs), 2):
        out[strval(pairs[i])] = pairs[i + 1] if i + 1 < len(pairs) else ""
    return out


def _map(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FuncError(
            f"{name}: wrong type for value; expected map[string]interface {{}}; got {type_name(value)}"
        )
    return value


def _set(target: Any, key: str, value: Any) -> dict[str, Any]:
    mapping = _map(target, "set")
    mapping[key] = value
    return mapping


def _unset(target: Any, key: str) -> dict[str, Any]:
    mapping = _map(target, "unset")
    mapping.pop(key, None)
    return mapping


def _keys(*dicts: Any) -> list[Any]:
    return [key for mapping in dicts for key in sorted(_map(mapping, "keys"))]


def _pluck(name: str, *dicts: Any) -> list[Any]:
    return [mapping[name] for mapping in (_map(d, "pluck") for d in dicts) if name in mapping]


def deep_merge(dst: dict[str, Any], src: dict[str, Any], *, overwrite: bool) -> dict[str, Any]:
    """mergo's Merge (fill what dst lacks or has empty) and, with overwrite, its WithOverride."""
    for key, value in src.items():
        current = dst.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            deep_merge(current, value, overwrite=overwrite)
        elif key not in dst or empty(current) or (overwrite and not empty(value)):
            dst[key] = copy.deepcopy(value)
    return dst


def _merge(dst: Any, *srcs: Any, overwrite: bool) -> dict[str, Any]:
    target = _map(dst, "merge")
    for src in srcs:
        deep_merge(target, _map(src, "merge"), overwrite=overwrite)
    return target


def _dig(*args: Any) -> Any:
    """Sprig's ``dig "a" "b" default dict``: the nested value, or the default where a key is missing."""
    if len(args) < 3:
        raise FuncError(f"dig needs at least three arguments, got {len(args)}")
    *keys, fallback, mapping = args
    value: Any = _map(mapping, "dig")
    for key in keys:
        if not isinstance(value, dict) or strval(key) not in value:
            return fallback
        value = value[strval(key)]
    return value


def _ternary(true_value: Any, false_value: Any, condition: bool) -> Any:
    return true_value if condition else false_value


def _default(fallback: Any, *given: Any) -> Any:
    if not given or empty(given[0]):
        return fallback
    return given[0]


def _coalesce(*values: Any) -> Any:
    return next((v for v in values if not empty(v)), None)


def _fail(message: str) -> str:
    raise FuncError(message)


DATA_FUNCS: Final = {
    "default": Func(_default, ("any",), "any"),
    "empty": Func(empty, ("any",)),
    "coalesce": Func(_coalesce, (), "any"),
    "ternary": Func(_ternary, ("any", "any", "bool")),
    "fail": Func(_fail, ("str",)),
    "kindIs": Func(lambda kind, v: kind == kind_name(v), ("str", "any")),
    "kindOf": Func(kind_name, ("any",)),
    "typeOf": Func(type_name, ("any",)),
    "typeIs": Func(lambda name, v: name == type_name(v), ("str", "any")),
    "deepEqual": Func(lambda a, b: a == b and type_name(a) == type_name(b), ("any", "any")),
    "list": Func(lambda *v: list(v), (), "any"),
    "first": Func(_first, ("any",)),
    "last": Func(_last, ("any",)),
    "rest": Func(_rest, ("any",)),
    "initial": Func(_initial, ("any",)),
    "append": Func(_append, ("any", "any")),
    "push": Func(_append, ("any", "any")),
    "prepend": Func(_prepend, ("any", "any")),
    "uniq": Func(_uniq, ("any",)),
    "without": Func(_without, ("any",), "any"),
    "has": Func(_has, ("any", "any")),
    "concat": Func(_concat, (), "any"),
    "compact": Func(lambda v: [x for x in _list(v, "compact") or [] if not empty(x)], ("any",)),
    "reverse": Func(lambda v: list(reversed(_list(v, "reverse") or [])), ("any",)),
    "sortAlpha": Func(lambda v: sorted(strval(x) for x in _list(v, "sortAlpha") or []), ("any",)),
    "until": Func(_until, ("int",)),
    "dict": Func(_dict, (), "any"),
    "dig": Func(_dig, (), "any"),
    "get": Func(lambda d, k: _map(d, "get").get(k, ""), ("map", "str")),
    "set": Func(_set, ("map", "str", "any")),
    "unset": Func(_unset, ("map", "str")),
    "hasKey": Func(lambda d, k: k in _map(d, "hasKey"), ("map", "str")),
    "keys": Func(_keys, (), "any"),
    "values": Func(lambda d: [_map(d, "values")[k] for k in sorted(_map(d, "values"))], ("map",)),
    "pluck": Func(_pluck, ("str",), "any"),
    "merge": Func(lambda d, *s: _merge(d, *s, overwrite=False), ("map",), "any"),
    "mergeOverwrite": Func(lambda d, *s: _merge(d, *s, overwrite=True), ("map",), "any"),
    "deepCopy": Func(copy.deepcopy, ("any",)),
    "add": Func(lambda *v: sum(to_int(x) for x in v), (), "any"),
    "add1": Func(lambda v: to_int(v) + 1, ("any",)),
    "sub": Func(lambda a, b: to_int(a) - to_int(b), ("any", "any")),
    "mul": Func(_product, ("any",), "any"),
    "div": Func(_div, ("any", "any")),
    "mod": Func(_mod, ("any", "any")),
    "max": Func(lambda a, *r: max(to_int(x) for x in (a, *r)), ("any",), "any"),
    "min": Func(lambda a, *r: min(to_int(x) for x in (a, *r)), ("any",), "any"),
    "floor": Func(lambda v: float(math.floor(to_float(v))), ("any",)),
    "ceil": Func(lambda v: float(math.ceil(to_float(v))), ("any",)),
    "int": Func(to_int, ("any",)),
    "int64": Func(to_int, ("any",)),
    "float64": Func(to_float, ("any",)),
    "atoi": Func(_atoi, ("str",)),
}
