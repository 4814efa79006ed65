"""Go's view of template data: kinds, type names, truth and ``fmt``'s ``%v`` printing.

Template data is JSON-shaped Python (``None``, ``bool``, ``int``, ``float``, ``str``, ``list``, ``dict``);
``NO_VALUE`` is Go's invalid ``reflect.Value`` (a missing map key), which prints as ``<no value>``.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, Final


class _NoValue:
    """Go's invalid reflect.Value: what a missing map key evaluates to."""

    _instance: _NoValue | None = None

    def __new__(cls) -> _NoValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<no value>"


NO_VALUE: Final = _NoValue()


class FuncError(Exception):
    """A template function failed; the executor reports it as Go does (``error calling NAME: ...``)."""


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return is_int(value) or isinstance(value, float)


def type_name(value: Any) -> str:
    """Go's ``%T`` of the value as Argo CD's JSON-decoded parameters hold it."""
    if value is None or value is NO_VALUE:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if is_int(value):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return type(value).__name__


def kind_name(value: Any) -> str:
    """Go's ``reflect.Kind`` name (Sprig's ``kindOf``)."""
    if value is None or value is NO_VALUE:
        return "invalid"
    if isinstance(value, list | tuple):
        return "slice"
    if isinstance(value, dict):
        return "map"
    return type_name(value)


def truth(value: Any) -> bool:
    """Go template truth: false, 0, nil, an empty string, list or map are false."""
    if value is None or value is NO_VALUE:
        return False
    if isinstance(value, bool | int | float | str | list | tuple | dict):
        return bool(value)
    return True


def empty(value: Any) -> bool:
    """Sprig's ``empty``: the zero value of its type."""
    return not truth(value)


def format_float(value: float, fmt: str = "g", prec: int = -1) -> str:
    """strconv.FormatFloat for 'g' (shortest when prec < 0: exponent form when exp < -4 or exp >= 6), 'e', 'f'."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if fmt == "f":
        return f"{value:.{prec}f}" if prec >= 0 else _shortest_f(value)
    if fmt == "e":
        text = f"{value:.{prec}e}" if prec >= 0 else _shortest_e(value)
        return _go_exponent(text)
    if prec >= 0:
        return _go_exponent(f"{value:.{max(prec, 1)}g}")
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    digits, exp = _digits(value)
    sign = "-" if value < 0 else ""
    if exp < -4 or exp >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"
    return sign + _place(digits, exp)


def _digits(value: float) -> tuple[str, int]:
    sign, digit_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    del sign
    digits = "".join(str(d) for d in digit_tuple)
    assert isinstance(exponent, int)
    return digits, len(digits) - 1 + exponent


def _place(digits: str, exp: int) -> str:
    if exp < 0:
        return "0." + "0" * (-exp - 1) + digits
    if exp + 1 >= len(digits):
        return digits + "0" * (exp + 1 - len(digits))
    return digits[: exp + 1] + "." + digits[exp + 1 :]


def _shortest_f(value: float) -> str:
    if value == 0:
        return "0"
    digits, exp = _digits(value)
    return ("-" if value < 0 else "") + _place(digits, exp)


def _shortest_e(value: float) -> str:
    if value == 0:
        return "0e+00"
    digits, exp = _digits(value)
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{'-' if value < 0 else ''}{mantissa}e{exp:+03d}"


def _go_exponent(text: str) -> str:
    if "e" not in text:
        return text
    mantissa, _, exp = text.partition("e")
    number = int(exp)
    return f"{mantissa}e{'+' if number >= 0 else '-'}{abs(number):02d}"


def sprint_value(value: Any, *, top: bool = True) -> str:
    """fmt.Sprint of one value (``%v``): maps sorted by key, lists space-separated, nil as ``<nil>``."""
    if value is NO_VALUE:
        return "<no value>" if top else "<nil>"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if is_int(value):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, list | tuple):
        return "[" + " ".join(sprint_value(v, top=False) for v in value) + "]"
    if isinstance(value, dict):
        items = (f"{k}:{sprint_value(value[k], top=False)}" for k in sorted(value, key=str))
        return "map[" + " ".join(items) + "]"
    return str(value)


def output_text(value: Any) -> str:
    """What ``{{ pipeline }}`` writes: a nil interface result prints ``<no value>``, as Go's does."""
    if value is None or value is NO_VALUE:
        return "<no value>"
    return sprint_value(value)


def sprint(args: list[Any]) -> str:
    """fmt.Sprint: a space between operands when neither side is a string."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if i > 0 and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(sprint_value(arg, top=False))
    return "".join(out)


def go_quote(text: str) -> str:
    """strconv.Quote: a double-quoted Go string literal."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif not ch.isprintable() and ch != " ":
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


_ESCAPES: Final = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def json_float(value: float) -> str:
    """encoding/json's float64: shortest digits, exponent form only below 1e-6 or from 1e21."""
    if value == 0:
        return "0"
    digits, exp = _digits(value)
    sign = "-" if value < 0 else ""
    if exp < -6 or exp >= 21:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'+' if exp >= 0 else '-'}{abs(exp)}"
    return sign + _place(digits, exp)
