"""YAML as text with a map: ruamel.yaml's node graph, with the exact span of every node, over the
original string, and edits made as splices of that string.

Nothing outside an edited span changes: comments, key order, quoting, indentation, blank lines,
document markers and line endings stay byte for byte. A replaced scalar keeps its quoting style
(a plain scalar is quoted only when the new value would not read back as the same string under
YAML 1.1 or 1.2, e.g. a tag ``1.10``). After splicing, :func:`verify` loads both texts and checks
that the new one is the old one with exactly the intended assignments, so an edit that would reach
further (a value shared through an anchor, a merge key) is refused instead of written. Every text is
first composed by the bounded loader (:func:`gitloop.spec.yaml.check_text`), so a file too large, too
deep or with aliases expanding too far is refused before ruamel.yaml reads it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

from gitloop.errors import InputLimitError, SpecError
from gitloop.spec.yaml import InputLimits, check_text, depth_error

__all__ = [
    "Assign",
    "Path",
    "Splice",
    "YamlText",
    "apply_splices",
    "content_end",
    "format_path",
    "is_string",
    "line_end",
    "line_start",
    "mapping_get",
    "render_scalar",
    "scalar_span",
    "verify",
    "walk",
]

Path = tuple[str | int, ...]

_STR = "tag:yaml.org,2002:str"
_RESOLVERS = (VersionedResolver(version=(1, 1)), VersionedResolver(version=(1, 2)))
_PLAIN_FIRST = set("-?:,[]{}#&*!|>'\"%@`")
_PLAIN_NEVER = set(",[]{}\t\r\n")
_PROPERTIES = re.compile(r"(?:[&!]\S*\s+)*")
_SIMPLE_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*")


@dataclass(frozen=True)
class YamlText:
    """A YAML stream: its text and the root node of each document (``None`` for an empty one)."""

    file: str
    text: str
    documents: tuple[Node | None, ...]

    @classmethod
    def parse(cls, text: str, *, file: str) -> YamlText:
        """Compose every document of ``text``; ``SpecError`` naming ``file`` when it is not YAML or is
        beyond the input limits."""
        _check_limits(text, file)
        try:
            roots = tuple(YAML(typ="rt").compose_all(text))
        except YAMLError as exc:
            raise SpecError(f"not valid YAML: {_one_line(exc)}", file=file) from exc
        except RecursionError:
            raise depth_error(file, InputLimits.from_env()) from None
        return cls(file, text, roots)


@dataclass(frozen=True)
class Splice:
    """Replace ``text[start:end]`` with ``text``; an insertion when ``start == end``."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Assign:
    """What a splice means: in document ``document``, the value at ``path`` becomes ``value`` (an
    index one past a list's end appends); with ``delete``, the key at ``path`` goes away."""

    document: int
    path: Path
    value: Any = field(default=None)
    delete: bool = False


def _one_line(exc: Exception) -> str:
    problem, mark = getattr(exc, "problem", None), getattr(exc, "problem_mark", None)
    if problem and mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return " ".join(str(exc).split())


def format_path(path: Path) -> str:
    """``('spec', 'containers', 0, 'image')`` as ``.spec.containers[0].image`` (yq's notation)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _SIMPLE_KEY.fullmatch(part):
            out += f".{part}"
        else:
            out += f".{json.dumps(part)}"
    return out or "."


def line_start(text: str, index: int) -> int:
    """The index where the line holding ``index`` starts."""
    return text.rfind("\n", 0, index) + 1


def line_end(text: str, index: int) -> int:
    """The index just after the line break ending the line that holds ``index`` (or the end)."""
    found = text.find("\n", index)
    return len(text) if found < 0 else found + 1


def is_string(node: Node) -> bool:
    """Whether ``node`` is a scalar that reads as a string."""
    return isinstance(node, ScalarNode) and str(node.tag) == _STR


def mapping_get(node: Node | None, key: str) -> tuple[ScalarNode, Node] | None:
    """The (key node, value node) of ``key`` in a mapping node, or ``None``."""
    if not isinstance(node, MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value == key:
            return key_node, value_node
    return None


def scalar_span(node: ScalarNode, text: str, *, file: str, field: str) -> tuple[int, int]:
    """The span of the scalar's own text (after any anchor or tag), to be replaced."""
    start, end = node.start_mark.index, node.end_mark.index
    if node.style in ("|", ">"):
        raise SpecError("is a block scalar; only single-line values can be set", file=file, field=field)
    if node.style in ("'", '"'):
        start = text.index(node.style, start, end)
    else:
        properties = _PROPERTIES.match(text, start, end)
        start = properties.end() if properties else start
    if start >= end:
        raise SpecError("has no value to replace", file=file, field=field)
    return start, end


def _plain_ok(value: str) -> bool:
    if not value or value != value.strip() or value[0] in _PLAIN_FIRST or value.endswith(":"):
        return False
    if any(c in _PLAIN_NEVER for c in value) or ": " in value or " #" in value:
        return False
    return all(str(r.resolve(ScalarNode, value, (True, False))) == _STR for r in _RESOLVERS)


def render_scalar(value: str, style: str | None = None) -> str:
    """``value`` as YAML scalar text in ``style`` (``None`` plain, ``'`` or ``"``), quoted with double
    quotes when a plain scalar would not read back as the same string."""
    if style == "'" and value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    if style is None and _plain_ok(value):
        return value
    return json.dumps(value, ensure_ascii=False)


def apply_splices(text: str, splices: Sequence[Splice]) -> str:
    """``text`` with every splice made; splices must not overlap (insertions at one point keep order)."""
    ordered = sorted(enumerate(splices), key=lambda item: (item[1].start, item[1].end, item[0]))
    out: list[str] = []
    pos = 0
    for _, splice in ordered:
        if splice.start < pos:
            raise ValueError(f"overlapping edits at offset {splice.start}")
        out.append(text[pos : splice.start])
        out.append(splice.text)
        pos = splice.end
    out.append(text[pos:])
    return "".join(out)


def _check_limits(text: str, file: str) -> None:
    """Refuse ``text`` beyond the input limits; its syntax errors are left to ruamel.yaml to word."""
    try:
        check_text(text, source=file)
    except InputLimitError:
        raise
    except SpecError:
        pass


def _load_all(text: str, file: str) -> list[Any]:
    _check_limits(text, file)
    try:
        return list(YAML(typ="safe", pure=True).load_all(text))
    except YAMLError as exc:
        raise SpecError(f"not valid YAML: {_one_line(exc)}", file=file) from exc
    except RecursionError:
        raise depth_error(file, InputLimits.from_env()) from None


def _assign(data: Any, path: Path, value: Any, delete: bool) -> Any:
    head, rest = path[0], path[1:]
    if rest:
        data[head] = _assign(data[head], rest, value, delete)
    elif delete:
        del data[head]
    elif isinstance(data, list) and head == len(data):
        data.append(value)
    else:
        data[head] = value
    return data


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and bool(a == b)


def verify(old: str, new: str, assigns: Sequence[Assign], *, file: str) -> None:
    """Check that ``new`` reads as ``old`` with ``assigns`` made, and nothing else changed."""
    before, after = _load_all(old, file), _load_all(new, file)
    try:
        for a in assigns:
            if a.path:
                before[a.document] = _assign(before[a.document], a.path, a.value, a.delete)
            else:
                before[a.document] = a.value
    except (IndexError, KeyError, TypeError) as exc:  # pragma: no cover - a path we did not find
        raise SpecError(f"cannot apply the edit: {exc}", file=file) from exc
    if not _same(before, after):
        where = ", ".join(format_path(a.path) for a in assigns)
        raise SpecError(
            f"editing {where} would change more than that field (is the value shared through a YAML "
            "anchor, alias or merge key?); edit the file by hand",
            file=file,
        )


def content_end(node: Node) -> int:
    """Where the text of ``node`` ends: its last scalar or flow collection, not the comments and
    blank lines a block collection's end mark reaches over."""
    if not isinstance(node, (MappingNode, SequenceNode)) or node.flow_style:
        return int(node.end_mark.index)
    children = node.value if isinstance(node, SequenceNode) else [n for pair in node.value for n in pair]
    return max((content_end(child) for child in children), default=int(node.start_mark.index))


def walk(node: Node | None, path: Path = ()) -> Iterator[tuple[Node, Path]]:
    """Every node under ``node`` (itself first) with its path, string keys only. A node reached
    through aliases comes once per path (a recursive alias is not followed into itself)."""

    def visit(current: Node, at: Path, ancestors: frozenset[int]) -> Iterator[tuple[Node, Path]]:
        yield current, at
        if id(current) in ancestors:
            return
        inside = ancestors | {id(current)}
        if isinstance(current, MappingNode):
            for key_node, value_node in current.value:
                if is_string(key_node) and key_node.value != "<<":
                    yield from visit(value_node, (*at, key_node.value), inside)
        elif isinstance(current, SequenceNode):
            for i, item in enumerate(current.value):
                yield from visit(item, (*at, i), inside)

    if node is not None:
        yield from visit(node, path, frozenset())
