"""Sprig's string, regular-expression, encoding and serialisation functions, and Argo CD's own
``normalize``, ``slugify``, ``toYaml``, ``fromYaml`` and ``fromYamlArray``, with Sprig's argument order
(the string operated on comes last, so it can be piped)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import unicodedata
from typing import Any, Final

import yaml

from gitloop.errors import SpecError
from gitloop.spec.gotemplate.execute import Func
from gitloop.spec.gotemplate.values import FuncError, go_quote, is_int, json_float, sprint_value
from gitloop.spec.yaml import load_json, load_one

MAX_STRING: Final = 1 << 20


def strval(value: Any) -> str:
    """Sprig's ``strval``: a string as is, anything else as ``%v``."""
    return value if isinstance(value, str) else sprint_value(value, top=False)


def _strings(values: tuple[Any, ...]) -> list[str]:
    return [strval(v) for v in values if v is not None]


def _is_separator(ch: str) -> bool:
    if ch.isascii():
        return not (ch.isalnum() or ch == "_")
    return ch.isspace()


def _title(text: str) -> str:
    out: list[str] = []
    previous = " "
    for ch in text:
        out.append(ch.upper() if _is_separator(previous) else ch)
        previous = ch
    return "".join(out)


def _repeat(count: int, text: str) -> str:
    if count < 0:
        raise FuncError("strings: negative Repeat count")
    if count * len(text) > MAX_STRING:
        raise FuncError(f"repeat would make a string longer than {MAX_STRING} characters")
    return text * count


def _substr(start: int, end: int, text: str) -> str:
    if start < 0:
        return text[:end]
    if end < 0 or end > len(text):
        return text[start:]
    if start > end:
        raise FuncError(f"runtime error: slice bounds out of range [{start}:{end}]")
    return text[start:end]


def _trunc(count: int, text: str) -> str:
    if count < 0 and len(text) + count > 0:
        return text[len(text) + count :]
    if count >= 0 and len(text) > count:
        return text[:count]
    return text


def _join(sep: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return sep.join(strval(v) for v in value if v is not None)
    return strval(value)


def _indent(spaces: int, text: str) -> str:
    pad = " " * spaces
    return pad + text.replace("\n", "\n" + pad)


def _abbrev(width: int, text: str) -> str:
    if width < 4 or len(text) <= width:
        return text
    return text[: width - 3] + "..."


_WORD: Final = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _camelcase(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in text.split("_"))


def _go_regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern.replace(r"\z", r"\Z"))
    except re.error as exc:
        raise FuncError(f"regexp: Compile({go_quote(pattern)}): {exc}") from None


_EXPAND: Final = re.compile(r"\$(?:\{([A-Za-z0-9_]*)\}|([A-Za-z0-9_]+)|(\$))")


def _expand(template: str, match: re.Match[str]) -> str:
    """Go's Regexp.Expand: ``$1``, ``${1}``, ``$name``, ``${name}`` and ``$$``; unknown groups are empty."""

    def one(ref: re.Match[str]) -> str:
        if ref.group(3):
            return "$"
        name = ref.group(1) if ref.group(1) is not None else ref.group(2)
        try:
            group = match.group(int(name)) if name.isdigit() else match.group(name)
        except (IndexError, re.error):
            return ""
        return group or ""

    return _EXPAND.sub(one, template)


def _regex_replace(pattern: str, text: str, replacement: str) -> str:
    return _go_regex(pattern).sub(lambda m: _expand(replacement, m), text)


def _regex_replace_literal(pattern: str, text: str, replacement: str) -> str:
    return _go_regex(pattern).sub(lambda _m: replacement, text)


def _regex_find_all(pattern: str, text: str, count: int) -> list[Any]:
    found = [m.group(0) for m in _go_regex(pattern).finditer(text)]
    return list(found if count < 0 else found[:count])


def _split(sep: str, text: str) -> list[Any]:
    return list(text) if sep == "" else list(text.split(sep))


def _regex_split(pattern: str, text: str, count: int) -> list[Any]:
    if count == 0:
        return []
    matches = list(_go_regex(pattern).finditer(text))
    if count > 0:
        matches = matches[: count - 1]
    pieces: list[Any] = []
    start = 0
    for match in matches:
        pieces.append(text[start : match.start()])
        start = match.end()
    pieces.append(text[start:])
    return pieces


def go_clean(path: str) -> str:
    """Go's path.Clean: the shortest equivalent slash path; "" is "."."""
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append(part)
            continue
        parts.append(part)
    cleaned = ("/" if rooted else "") + "/".join(parts)
    return cleaned or "."


def _base(path: str) -> str:
    if path == "":
        return "."
    trimmed = path.rstrip("/")
    return trimmed.rsplit("/", 1)[-1] if trimmed else "/"


def _dir(path: str) -> str:
    return go_clean(path[: path.rfind("/") + 1])


def _ext(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return name[dot:] if dot >= 0 else ""


def _splitn(sep: str, count: int, text: str) -> dict[str, Any]:
    if count == 0:
        return {}
    parts = _split(sep, text) if count < 0 else text.split(sep, count - 1) if sep else list(text)
    return {f"_{i}": part for i, part in enumerate(parts)}


def _quote_meta(text: str) -> str:
    return "".join("\\" + ch if ch in "\\.+*?()|[]{}^$" else ch for ch in text)


def _b64dec(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode(errors="replace")
    except ValueError as exc:
        return f"illegal base64 data: {exc}"


def encode_json(value: Any, *, escape_html: bool = True, indent: str = "", level: int = 0) -> str:
    """encoding/json's Marshal: keys sorted, compact (or indented), ``<>&`` escaped unless raw."""
    newline = "\n" + indent * (level + 1) if indent else ""
    close = "\n" + indent * level if indent else ""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_int(value):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise FuncError(f"json: unsupported value: {sprint_value(value)}")
        return json_float(value)
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
        if escape_html:
            text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        return text
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        items = [encode_json(v, escape_html=escape_html, indent=indent, level=level + 1) for v in value]
        return "[" + newline + ("," + newline).join(items) + close + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        separator = ": " if indent else ":"
        items = [
            encode_json(str(k), escape_html=escape_html)
            + separator
            + encode_json(value[k], escape_html=escape_html, indent=indent, level=level + 1)
            for k in sorted(value, key=str)
        ]
        return "{" + newline + ("," + newline).join(items) + close + "}"
    raise FuncError(f"json: unsupported type: {type(value).__name__}")


def _swallow(func: Any) -> Any:
    def run(*args: Any) -> Any:
        try:
            return func(*args)
        except FuncError:
            return ""

    return run


def _from_json(text: str) -> Any:
    try:
        return load_json(text, source="fromJson")
    except ValueError:
        return None


def _must_from_json(text: str) -> Any:
    try:
        return load_json(text, source="mustFromJson")
    except ValueError as exc:
        raise FuncError(str(exc)) from None


def to_yaml(value: Any) -> str:
    """Argo CD's toYaml: sorted keys, block style, no trailing newline."""
    text = yaml.safe_dump(value, default_flow_style=False, sort_keys=True, allow_unicode=True, width=1 << 30)
    if text.endswith("\n...\n"):
        text = text[: -len("...\n")]
    return text.removesuffix("\n")


def _from_yaml(text: str, want: type, empty: Any) -> Any:
    try:
        value = load_one(text, source="template value")
    except SpecError as exc:
        raise FuncError(str(exc)) from None
    if value is None:
        return empty
    if not isinstance(value, want):
        raise FuncError(f"error unmarshaling YAML: expected {'a map' if want is dict else 'a list'}")
    return value


def normalize(name: str) -> str:
    """Argo CD's ``normalize``: a DNS-1123 subdomain (lowercase, ``[-a-z0-9.]``, at most 253, trimmed)."""
    name = re.sub(r"[^-a-z0-9.]", "-", name.lower())[:253]
    return name.strip("-.")


def slugify(*args: Any) -> str:
    """Argo CD's ``slugify [maxSize=50] [smartTruncate=true] text``: lowercase words joined by ``-``,
    cut at the last ``-`` within maxSize when smartTruncate is on."""
    if not args or len(args) > 3:
        raise FuncError(f"slugify takes 1 to 3 arguments, got {len(args)}")
    *options, text = args
    max_size = options[0] if options else 50
    smart = options[1] if len(options) > 1 else True
    if not isinstance(text, str) or not is_int(max_size) or not isinstance(smart, bool):
        raise FuncError("slugify wants [maxSize int] [smartTruncate bool] text string")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9_-]+", "-", ascii_text.lower())
    slug = re.sub(r"-+", "-", slug).strip("-_")
    if len(slug) <= max_size:
        return slug
    if smart:
        cut = slug.rfind("-", 0, max_size + 1)
        if cut > 0:
            return slug[:cut]
    return slug[:max_size]


TEXT_FUNCS: Final = {
    "upper": Func(str.upper, ("str",)),
    "lower": Func(str.lower, ("str",)),
    "title": Func(_title, ("str",)),
    "trim": Func(str.strip, ("str",)),
    "trimAll": Func(lambda cut, s: s.strip(cut), ("str", "str")),
    "trimPrefix": Func(lambda p, s: s.removeprefix(p), ("str", "str")),
    "trimSuffix": Func(lambda p, s: s.removesuffix(p), ("str", "str")),
    "replace": Func(lambda old, new, s: s.replace(old, new), ("str", "str", "str")),
    "repeat": Func(_repeat, ("int", "str")),
    "substr": Func(_substr, ("int", "int", "str")),
    "trunc": Func(_trunc, ("int", "str")),
    "contains": Func(lambda sub, s: sub in s, ("str", "str")),
    "hasPrefix": Func(lambda p, s: s.startswith(p), ("str", "str")),
    "hasSuffix": Func(lambda p, s: s.endswith(p), ("str", "str")),
    "split": Func(lambda sep, s: {f"_{i}": part for i, part in enumerate(_split(sep, s))}, ("str", "str")),
    "splitList": Func(_split, ("str", "str")),
    "join": Func(_join, ("str", "any")),
    "quote": Func(lambda *v: " ".join(go_quote(s) for s in _strings(v)), (), "any"),
    "squote": Func(lambda *v: " ".join(f"'{s}'" for s in _strings(v)), (), "any"),
    "cat": Func(lambda *v: " ".join(_strings(v)), (), "any"),
    "nospace": Func(lambda s: "".join(ch for ch in s if not ch.isspace()), ("str",)),
    "indent": Func(_indent, ("int", "str")),
    "nindent": Func(lambda n, s: "\n" + _indent(n, s), ("int", "str")),
    "abbrev": Func(_abbrev, ("int", "str")),
    "snakecase": Func(lambda s: "_".join(w.lower() for w in _words(s)), ("str",)),
    "kebabcase": Func(lambda s: "-".join(w.lower() for w in _words(s)), ("str",)),
    "camelcase": Func(_camelcase, ("str",)),
    "toString": Func(strval, ("any",)),
    "regexMatch": Func(lambda p, s: _go_regex(p).search(s) is not None, ("str", "str")),
    "regexFind": Func(lambda p, s: m.group(0) if (m := _go_regex(p).search(s)) else "", ("str", "str")),
    "regexFindAll": Func(_regex_find_all, ("str", "str", "int")),
    "regexReplaceAll": Func(_regex_replace, ("str", "str", "str")),
    "regexReplaceAllLiteral": Func(_regex_replace_literal, ("str", "str", "str")),
    "regexSplit": Func(_regex_split, ("str", "str", "int")),
    "base": Func(_base, ("str",)),
    "dir": Func(_dir, ("str",)),
    "ext": Func(_ext, ("str",)),
    "clean": Func(go_clean, ("str",)),
    "isAbs": Func(lambda p: p.startswith("/"), ("str",)),
    "splitn": Func(_splitn, ("str", "int", "str")),
    "regexQuoteMeta": Func(_quote_meta, ("str",)),
    "b64enc": Func(lambda s: base64.b64encode(s.encode()).decode(), ("str",)),
    "b64dec": Func(_b64dec, ("str",)),
    "sha256sum": Func(lambda s: hashlib.sha256(s.encode()).hexdigest(), ("str",)),
    "sha1sum": Func(lambda s: hashlib.sha1(s.encode(), usedforsecurity=False).hexdigest(), ("str",)),
    "toJson": Func(_swallow(encode_json), ("any",)),
    "mustToJson": Func(encode_json, ("any",)),
    "toRawJson": Func(_swallow(lambda v: encode_json(v, escape_html=False)), ("any",)),
    "toPrettyJson": Func(_swallow(lambda v: encode_json(v, indent="  ")), ("any",)),
    "fromJson": Func(_from_json, ("str",)),
    "mustFromJson": Func(_must_from_json, ("str",)),
    "toYaml": Func(to_yaml, ("any",)),
    "fromYaml": Func(lambda s: _from_yaml(s, dict, {}), ("str",)),
    "fromYamlArray": Func(lambda s: _from_yaml(s, list, []), ("str",)),
    "normalize": Func(normalize, ("str",)),
    "slugify": Func(slugify, (), "any"),
}
