"""Go text/template's predefined functions: and or not len index slice print printf println eq ne lt le
gt ge html js urlquery call, and the ``fmt`` verbs ``printf`` understands."""

from __future__ import annotations

import re
import urllib.parse
from typing import Any, Final

from gitloop.spec.gotemplate.execute import Func
from gitloop.spec.gotemplate.values import (
    FuncError,
    format_float,
    go_quote,
    is_int,
    is_number,
    sprint,
    sprint_value,
    truth,
    type_name,
)


def _length(item: Any) -> int:
    if item is None:
        raise FuncError("len of nil pointer")
    if isinstance(item, str):
        return len(item.encode())
    if isinstance(item, list | tuple | dict):
        return len(item)
    raise FuncError(f"len of type {type_name(item)}")


def _index(item: Any, *indexes: Any) -> Any:
    if item is None:
        raise FuncError("index of untyped nil")
    for index in indexes:
        if isinstance(item, dict):
            if not isinstance(index, str):
                raise FuncError(f"value has type {type_name(index)}; should be string")
            item = item.get(index)
        elif isinstance(item, list | tuple | str):
            position = _position(index, len(item))
            if position >= len(item):
                raise FuncError(f"index out of range: {index}")
            item = item.encode()[position] if isinstance(item, str) else item[position]
        elif item is None:
            raise FuncError("index of untyped nil")
        else:
            raise FuncError(f"can't index item of type {type_name(item)}")
    return item


def _position(index: Any, cap: int) -> int:
    if not is_int(index):
        raise FuncError(f"cannot index slice/array with type {type_name(index)}")
    if index < 0:
        raise FuncError(f"index out of range: {index}")
    if index > cap:
        raise FuncError(f"index out of range: {index}")
    return int(index)


def _slice(item: Any, *indexes: Any) -> Any:
    if item is None:
        raise FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise FuncError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise FuncError("cannot 3-index slice a string")
        raw = item.encode()
    elif isinstance(item, list | tuple):
        raw = list(item)  # type: ignore[assignment]
    else:
        raise FuncError(f"can't slice item of type {type_name(item)}")
    bounds = [_position(i, len(raw)) for i in indexes]
    low = bounds[0] if bounds else 0
    high = bounds[1] if len(bounds) > 1 else len(raw)
    if low > high:
        raise FuncError(f"invalid slice index: {low} > {high}")
    part = raw[low:high]
    return part.decode(errors="replace") if isinstance(part, bytes) else part


def _basic(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "nil"
    return "other"


def _equal(a: Any, b: Any) -> bool:
    ka, kb = _basic(a), _basic(b)
    if ka != kb:
        if ka == "nil" or kb == "nil":
            return False
        raise FuncError("incompatible types for comparison")
    if ka == "other":
        raise FuncError(
            f"non-comparable types {sprint_value(a)}: {type_name(a)}, {type_name(b)}: {sprint_value(b)}"
        )
    return bool(a == b)


def _eq(first: Any, *others: Any) -> bool:
    if not others:
        raise FuncError("missing argument for comparison")
    return any(_equal(first, other) for other in others)


def _ne(a: Any, b: Any) -> bool:
    return not _equal(a, b)


def _less(a: Any, b: Any) -> bool:
    ka, kb = _basic(a), _basic(b)
    if ka not in ("number", "string") or kb not in ("number", "string"):
        raise FuncError("invalid type for comparison")
    if ka != kb:
        raise FuncError("incompatible types for comparison")
    return bool(a < b)


def _html(*args: Any) -> str:
    text = _eval_args(args)
    return (
        text.replace("&", "&amp;")
        .replace("'", "&#39;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&#34;")
        .replace("\x00", "\ufffd")
    )


_JS: Final = {
    "\\": "\\\\",
    "'": "\\'",
    '"': "\\u0022",
    "<": "\\u003C",
    ">": "\\u003E",
    "&": "\\u0026",
    "=": "\\u003D",
}


def _js(*args: Any) -> str:
    out: list[str] = []
    for ch in _eval_args(args):
        if ch in _JS:
            out.append(_JS[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def _urlquery(*args: Any) -> str:
    return urllib.parse.quote_plus(_eval_args(args), safe="")


def _eval_args(args: tuple[Any, ...]) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return sprint(list(args))


def _call(fn: Any, *args: Any) -> Any:
    if fn is None:
        raise FuncError("call of nil")
    raise FuncError(f"non-function of type {type_name(fn)}")


_VERB: Final = re.compile(r"%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*)?)?([a-zA-Z%])")


def printf(fmt: str, *args: Any) -> str:
    """fmt.Sprintf for the verbs templates use: v s q d t f F e E g G x X o b c T %."""
    out: list[str] = []
    pos = 0
    remaining = list(args)
    used = 0
    for match in _VERB.finditer(fmt):
        out.append(fmt[pos : match.start()])
        pos = match.end()
        flags, width, precision, verb = match.group(1), match.group(2), match.group(3), match.group(4)
        if verb == "%":
            out.append("%")
            continue
        if used >= len(remaining):
            out.append(f"%!{verb}(MISSING)")
            continue
        value = remaining[used]
        used += 1
        has_precision = match.group(0).find(".") >= 0
        prec = int(precision) if precision and precision != "*" else (0 if has_precision else -1)
        text = _format_one(verb, value, prec, "+" in flags, "#" in flags)
        out.append(_pad(text, int(width) if width and width != "*" else 0, flags, verb, value))
    out.append(fmt[pos:])
    if used < len(remaining):
        extra = ", ".join(f"{type_name(v)}={sprint_value(v, top=False)}" for v in remaining[used:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _format_one(verb: str, value: Any, prec: int, plus: bool, sharp: bool) -> str:
    if verb == "T":
        return type_name(value)
    if verb == "v":
        return sprint_value(value, top=False)
    if verb == "s" and isinstance(value, str):
        return value[:prec] if prec >= 0 else value
    if verb == "q" and isinstance(value, str):
        return go_quote(value)
    if verb == "t" and isinstance(value, bool):
        return "true" if value else "false"
    if is_int(value) and verb in "dxXobc":
        sign = "-" if value < 0 else ("+" if plus else "")
        if verb == "c":
            return chr(value)
        return sign + ("0x" if sharp and verb == "x" else "") + format(abs(value), verb)
    if is_number(value) and verb in "feEgG":
        number = float(value)
        if verb in "gG":
            text = format_float(number, "g", prec)
        else:
            text = format_float(number, verb.lower(), 6 if prec < 0 else prec)
        text = text.upper() if verb.isupper() else text
        return ("+" + text) if plus and number >= 0 else text
    if isinstance(value, str) and verb in "xX":
        return value.encode().hex() if verb == "x" else value.encode().hex().upper()
    if isinstance(value, list | tuple) and verb in "sdq":
        return "[" + " ".join(_format_one(verb, v, prec, plus, sharp) for v in value) + "]"
    return f"%!{verb}({type_name(value)}={sprint_value(value, top=False)})"


def _pad(text: str, width: int, flags: str, verb: str, value: Any) -> str:
    if len(text) >= width:
        return text
    if "-" in flags:
        return text.ljust(width)
    if "0" in flags and is_number(value) and verb not in "sqvT":
        sign = text[0] if text[:1] in "+-" else ""
        return sign + text[len(sign) :].rjust(width - len(sign), "0")
    return text.rjust(width)


GO_BUILTINS: Final = {
    "and": Func(lambda *a: a[-1], ("any",), "any"),
    "or": Func(lambda *a: a[-1], ("any",), "any"),
    "not": Func(lambda v: not truth(v), ("any",)),
    "len": Func(_length, ("any",)),
    "index": Func(_index, ("any",), "any"),
    "slice": Func(_slice, ("any",), "any"),
    "print": Func(lambda *a: sprint(list(a)), (), "any"),
    "println": Func(lambda *a: " ".join(sprint_value(v, top=False) for v in a) + "\n", (), "any"),
    "printf": Func(printf, ("str",), "any"),
    "eq": Func(_eq, ("any",), "any"),
    "ne": Func(_ne, ("any", "any")),
    "lt": Func(_less, ("any", "any")),
    "le": Func(lambda a, b: _less(a, b) or _equal(a, b), ("any", "any")),
    "gt": Func(lambda a, b: not (_less(a, b) or _equal(a, b)), ("any", "any")),
    "ge": Func(lambda a, b: not _less(a, b), ("any", "any")),
    "html": Func(_html, (), "any"),
    "js": Func(_js, (), "any"),
    "urlquery": Func(_urlquery, (), "any"),
    "call": Func(_call, ("any",), "any"),
}
