"""The CEL functions a Tekton CEL interceptor offers beyond standard CEL, for ``cel-python``.

Implemented (Tekton's own): ``header.match(name, value)``, ``header.canonical(name)``,
``s.truncate(n)``, ``s.compareSecret(key, secretName[, namespace])`` (the namespace is ignored: locally
there is one), ``s.parseJSON()``, ``s.parseURL()``, ``x.marshalJSON()`` (compact JSON, keys sorted),
``list.first()``, ``list.last()``, ``s.translate(regex, replacement)``, ``s.decodeb64()``. From cel-go's
string extension: ``split``, ``join``, ``lowerAscii``, ``upperAscii``, ``replace``, ``substring``, ``trim``,
``indexOf``, ``lastIndexOf``. Not implemented: ``parseYAML``, cel-go's ``base64.*``, ``sets.*``,
``lists.*``, ``math.*`` and ``format``/``quote``/``reverse``/``charAt``. As in cel-go, comparisons (``==``,
``<``, ...) mix ``int``, ``uint`` and ``double``, ``==`` between values of different types is false, and
arithmetic does not mix them (``body.count + 1`` has no overload: JSON numbers are doubles).

A function given arguments of the wrong type raises ``TypeError`` (CEL's "no such overload"); one that
fails on its input returns a ``LibraryError``, whose message is safe to show (it never holds a value).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from celpy import celtypes
from celpy.evaluation import CELEvalError, bool_eq, bool_ge, bool_gt, bool_le, bool_lt, bool_ne

from gitloop.errors import SpecError
from gitloop.spec.triggers import SecretValues
from gitloop.spec.yaml import load_json
from gitloop.triggers.event import canonical_header_key
from gitloop.triggers.interceptors.cel_values import from_cel, to_cel
from gitloop.triggers.jsonpath import to_json

CelFunction = Callable[..., Any]
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_GO_GROUP = re.compile(r"\$(?:\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))")


class LibraryError(CELEvalError):
    """A library function failed on its input; the message names the function, never a value."""


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return str(value)


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("expected an int")
    return int(value)


def _header_values(header: Any, name: Any) -> list[str]:
    if not isinstance(header, Mapping):
        raise TypeError("expected the header map")
    values = header.get(canonical_header_key(_text(name)))
    return [str(v) for v in values] if isinstance(values, list) else []


def match(header: Any, name: Any, value: Any) -> celtypes.BoolType:
    values = _header_values(header, name)
    return celtypes.BoolType(bool(values) and values[0] == _text(value))


def canonical(header: Any, name: Any) -> celtypes.StringType:
    values = _header_values(header, name)
    return celtypes.StringType(values[0] if values else "")


def truncate(text: Any, length: Any) -> Any:
    size = _int(length)
    if size < 0:
        return LibraryError("truncate: the length must not be negative")
    return celtypes.StringType(_text(text)[:size])


def split(text: Any, separator: Any, limit: Any = -1) -> celtypes.ListType:
    source, sep, count = _text(text), _text(separator), _int(limit)
    if count == 0:
        return celtypes.ListType([])
    if sep:
        parts = source.split(sep) if count < 0 else source.split(sep, count - 1)
    else:
        parts = list(source)
        if 0 < count < len(parts):
            parts = [*parts[: count - 1], "".join(parts[count - 1 :])]
    return celtypes.ListType([celtypes.StringType(p) for p in parts])


def join(items: Any, separator: Any = "") -> celtypes.StringType:
    if not isinstance(items, list):
        raise TypeError("expected a list")
    return celtypes.StringType(_text(separator).join(_text(i) for i in items))


def lower_ascii(text: Any) -> celtypes.StringType:
    return celtypes.StringType(_text(text).translate(_ASCII_LOWER))


def upper_ascii(text: Any) -> celtypes.StringType:
    return celtypes.StringType(_text(text).translate(_ASCII_UPPER))


def replace(text: Any, old: Any, new: Any, limit: Any = -1) -> celtypes.StringType:
    return celtypes.StringType(_text(text).replace(_text(old), _text(new), _int(limit)))


def substring(text: Any, start: Any, end: Any = None) -> Any:
    source = _text(text)
    first, last = _int(start), len(source) if end is None else _int(end)
    if not 0 <= first <= last <= len(source):
        return LibraryError("substring: index out of range")
    return celtypes.StringType(source[first:last])


def trim(text: Any) -> celtypes.StringType:
    return celtypes.StringType(_text(text).strip())


def index_of(text: Any, sub: Any, start: Any = 0) -> Any:
    source, offset = _text(text), _int(start)
    if not 0 <= offset <= len(source):
        return LibraryError("indexOf: index out of range")
    return celtypes.IntType(source.find(_text(sub), offset))


def last_index_of(text: Any, sub: Any, end: Any = None) -> Any:
    source, needle = _text(text), _text(sub)
    offset = len(source) if end is None else _int(end)
    if not 0 <= offset <= len(source):
        return LibraryError("lastIndexOf: index out of range")
    return celtypes.IntType(source.rfind(needle, 0, offset + len(needle)))


def parse_json(text: Any) -> Any:
    try:
        decoded = load_json(_text(text), source="parseJSON")
    except (ValueError, SpecError):
        return LibraryError("parseJSON: the string is not JSON")
    if not isinstance(decoded, dict):
        return LibraryError("parseJSON: the string is not a JSON object")
    return to_cel(decoded)


def parse_url(text: Any) -> Any:
    try:
        url = urlsplit(_text(text))
        host = url.netloc.rpartition("@")[2]
    except ValueError:
        return LibraryError("parseURL: the string is not a URL")
    query = parse_qs(url.query, keep_blank_values=True)
    parsed: dict[str, Any] = {
        "scheme": url.scheme,
        "host": host,
        "path": unquote(url.path),
        "rawQuery": url.query,
        "fragment": unquote(url.fragment),
        "queryStrings": query,
        "query": {k: ",".join(v) for k, v in query.items()},
    }
    if "@" in url.netloc:
        parsed["auth"] = {"username": unquote(url.username or ""), "password": unquote(url.password or "")}
    return to_cel(parsed)


def marshal_json(value: Any) -> celtypes.StringType:
    if not isinstance(value, Mapping | list):
        raise TypeError("expected a map or a list")
    return celtypes.StringType(to_json(from_cel(value)))


def first(items: Any) -> Any:
    if not isinstance(items, list):
        raise TypeError("expected a list")
    return items[0] if items else None


def last(items: Any) -> Any:
    if not isinstance(items, list):
        raise TypeError("expected a list")
    return items[-1] if items else None


def translate(text: Any, pattern: Any, replacement: Any) -> Any:
    """Go's ``Regexp.ReplaceAllString``: ``$1``, ``${name}`` and ``$$`` in the replacement."""
    template = _text(replacement)

    def expand(found: re.Match[str]) -> str:
        def group(ref: re.Match[str]) -> str:
            name = ref.group(1) or ref.group(2)
            if name is None:
                return "$"
            try:
                return found.group(int(name) if name.isdigit() else name) or ""
            except (IndexError, re.error):
                return ""

        return _GO_GROUP.sub(group, template)

    try:
        return celtypes.StringType(re.sub(_text(pattern), expand, _text(text)))
    except re.error:
        return LibraryError("translate: invalid regular expression")


def decode_b64(text: Any) -> Any:
    try:
        return celtypes.StringType(base64.b64decode(_text(text), validate=True).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError):
        return LibraryError("decodeb64: the string is not base64 of UTF-8 text")


def _numeric_kind(value: Any) -> str | None:
    """``int``, ``uint`` or ``double`` for a CEL number, else ``None``."""
    if isinstance(value, celtypes.BoolType | bool):
        return None
    if isinstance(value, celtypes.UintType):
        return "uint"
    if isinstance(value, int):
        return "int"
    return "double" if isinstance(value, float) else None


def _number(value: Any) -> int | float | None:
    kind = _numeric_kind(value)
    if kind is None:
        return None
    return float(value) if kind == "double" else int(value)


def _family(value: Any) -> str:
    """The type of a value for ``==``: values of different families are never equal."""
    if value is None:
        return "null"
    if isinstance(value, celtypes.BoolType | bool):
        return "bool"
    if _numeric_kind(value) is not None:
        return "number"
    for family, types in (("string", str), ("bytes", bytes), ("list", list), ("map", Mapping)):
        if isinstance(value, types):
            return family
    return type(value).__name__


def _arithmetic(default: Callable[[Any, Any], Any]) -> CelFunction:
    """An operator that, as in cel-go, has no overload for an int with a double (or a uint)."""

    def operate(left: Any, right: Any) -> Any:
        if isinstance(left, CELEvalError):
            return left
        if isinstance(right, CELEvalError):
            return right
        kinds = (_numeric_kind(left), _numeric_kind(right))
        if None not in kinds and kinds[0] != kinds[1]:
            raise TypeError(f"mixed numeric types: {kinds[0]} and {kinds[1]}")
        result = default(left, right)
        return celtypes.DoubleType(result) if type(result) is float else result

    return operate


def _compare(default: Callable[[Any, Any], Any], numeric: Callable[[Any, Any], bool]) -> CelFunction:
    """An ordering that compares any two numbers by value and leaves other types to celpy."""

    def compare(left: Any, right: Any) -> Any:
        if isinstance(left, CELEvalError):
            return left
        if isinstance(right, CELEvalError):
            return right
        a, b = _number(left), _number(right)
        if a is not None and b is not None and _family(left) == _family(right) == "number":
            return celtypes.BoolType(numeric(a, b))
        return default(left, right)

    return compare


def _equality(default: Callable[[Any, Any], Any], negate: bool) -> CelFunction:
    """``==`` (or ``!=``) that is false (true) between types, and compares numbers by value."""
    numeric = _compare(default, (lambda a, b: a != b) if negate else (lambda a, b: a == b))

    def equal(left: Any, right: Any) -> Any:
        if isinstance(left, CELEvalError):
            return left
        if isinstance(right, CELEvalError):
            return right
        if _family(left) != _family(right):
            return celtypes.BoolType(negate)
        return numeric(left, right)

    return equal


def library(secrets: SecretValues) -> dict[str, CelFunction]:
    """The functions to bind into a program; ``compareSecret`` reads ``secrets``."""

    def compare_secret(text: Any, key: Any, name: Any, namespace: Any = "") -> Any:
        _text(namespace)
        secret_name, secret_key = _text(name), _text(key)
        value = secrets.get(secret_name, secret_key)
        if value is None:
            return LibraryError(
                f"compareSecret: Secret/{secret_name} key {secret_key!r} is not available to gitloop"
            )
        return celtypes.BoolType(hmac.compare_digest(value, _text(text).encode("utf-8", "surrogatepass")))

    return {
        "match": match,
        "canonical": canonical,
        "truncate": truncate,
        "compareSecret": compare_secret,
        "parseJSON": parse_json,
        "parseURL": parse_url,
        "marshalJSON": marshal_json,
        "first": first,
        "last": last,
        "translate": translate,
        "decodeb64": decode_b64,
        "split": split,
        "join": join,
        "lowerAscii": lower_ascii,
        "upperAscii": upper_ascii,
        "replace": replace,
        "substring": substring,
        "trim": trim,
        "indexOf": index_of,
        "lastIndexOf": last_index_of,
        "_==_": _equality(bool_eq, negate=False),
        "_!=_": _equality(bool_ne, negate=True),
        "_+_": _arithmetic(operator.add),
        "_-_": _arithmetic(operator.sub),
        "_*_": _arithmetic(operator.mul),
        "_/_": _arithmetic(operator.truediv),
        "_%_": _arithmetic(operator.mod),
        "_<_": _compare(bool_lt, lambda a, b: a < b),
        "_<=_": _compare(bool_le, lambda a, b: a <= b),
        "_>_": _compare(bool_gt, lambda a, b: a > b),
        "_>=_": _compare(bool_ge, lambda a, b: a >= b),
    }
