"""The one YAML loader: PyYAML's safe loader held to ``InputLimits`` before anything is constructed.

A stream larger than ``max_bytes`` is refused unread. While scanning and composing, a collection nested
deeper than ``max_depth`` is refused at its line, before Python's stack can overflow. Each composed document is then
measured as if its aliases were spelled out: a document whose aliases would add more than
``max_alias_nodes`` nodes over the stream (a billion-laughs file), nest deeper than ``max_depth``, or
refer to a node that contains them, is refused before it is constructed. Timestamps stay strings, as
Kubernetes (which reads YAML through JSON) keeps them. Loaders with their own constructors subclass
``BoundedLoader``; everyone else calls ``load_all``, ``load_one`` or ``check_text``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gitloop.errors import InputLimitError, SpecError
from gitloop.spec.yaml.limits import (
    MAX_ALIAS_NODES_VARIABLE,
    MAX_BYTES_VARIABLE,
    MAX_DEPTH_VARIABLE,
    InputLimits,
)

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


def _hint(variable: str) -> str:
    return f"the limit; set {variable} to change it"


def check_size(text: str | bytes, *, source: str, limits: InputLimits) -> None:
    """Refuse ``text`` when it holds more than ``limits.max_bytes`` bytes (as UTF-8)."""
    size = len(text)
    if isinstance(text, str) and size <= limits.max_bytes < size * 4:
        size = len(text.encode("utf-8", "surrogatepass"))
    if size > limits.max_bytes:
        raise _too_large(size, source, limits)


def depth_error(source: str, limits: InputLimits, line: int | None = None) -> InputLimitError:
    """The error for a document nested deeper than ``limits.max_depth``."""
    where = f"{source}:{line}" if line else source
    return InputLimitError(
        f"nests deeper than {limits.max_depth} levels", file=where, hint=_hint(MAX_DEPTH_VARIABLE)
    )


def _too_large(size: int, source: str, limits: InputLimits) -> InputLimitError:
    return InputLimitError(
        f"holds {size} bytes, more than {limits.max_bytes}",
        file=source,
        hint=_hint(MAX_BYTES_VARIABLE),
    )


def read_bytes(path: Path, *, source: str | None = None, limits: InputLimits | None = None) -> bytes:
    """The bytes of ``path``, refused unread when the file is larger than ``max_bytes``; errors name
    ``source`` (default: the path)."""
    limits = limits or InputLimits.from_env()
    source = source or str(path)
    try:
        with path.open("rb") as stream:
            data = stream.read(limits.max_bytes + 1)
            if len(data) > limits.max_bytes:
                stream.seek(0, 2)
                raise _too_large(stream.tell(), source, limits)
    except OSError as exc:
        raise SpecError(f"cannot read: {exc.strerror or exc}", file=source) from exc
    return data


def read_text(path: Path, *, source: str | None = None, limits: InputLimits | None = None) -> str:
    """The UTF-8 text of ``path``, refused unread when the file is larger than ``max_bytes``."""
    data = read_bytes(path, source=source, limits=limits)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"not UTF-8 text (byte {exc.start})", file=source or str(path)) from exc


class BoundedLoader(yaml.SafeLoader):
    """``SafeLoader`` within ``InputLimits``; ``source`` names the stream in errors."""

    def __init__(self, text: str, *, source: str, limits: InputLimits | None = None) -> None:
        self.limits = limits or InputLimits.from_env()
        self.source = source
        check_size(text, source=source, limits=self.limits)
        super().__init__(text)
        self._depth = 0
        self._alias_nodes = 0

    def fetch_flow_collection_start(self, TokenClass: type[yaml.Token]) -> None:
        # The scanner looks ahead over every open flow collection for each token; refusing here keeps
        # ``[[[[...`` from costing time quadratic in its depth before the composer sees it.
        if self.flow_level >= self.limits.max_depth:
            raise depth_error(self.source, self.limits, self.line + 1)
        super().fetch_flow_collection_start(TokenClass)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if not self.check_event(yaml.CollectionStartEvent):
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > self.limits.max_depth:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise depth_error(self.source, self.limits, event.start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self) -> yaml.Node | None:
        node: yaml.Node | None = super().compose_document()
        if node is not None:
            self._measure(node)
        return node

    def _measure(self, root: yaml.Node) -> None:
        line = root.start_mark.line + 1
        where = f"{self.source}:{line}"
        height, spelled_out, distinct = measure(root, where)
        self._alias_nodes += spelled_out - distinct
        if self._alias_nodes > self.limits.max_alias_nodes:
            raise InputLimitError(
                f"YAML aliases expand to more than {self.limits.max_alias_nodes} nodes",
                file=where,
                hint=_hint(MAX_ALIAS_NODES_VARIABLE),
            )
        if height > self.limits.max_depth:
            raise depth_error(self.source, self.limits, line)


BoundedLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def measure(root: yaml.Node, where: str) -> tuple[int, int, int]:
    """The nesting depth of ``root`` and its node count with its aliases spelled out and without,
    without spelling anything out; ``InputLimitError`` when an alias refers to a node containing it."""
    done: dict[int, tuple[int, int]] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            open_nodes.discard(key)
            children = [done[id(child)] for child in _children(node)]
            height = (
                1 + max((h for h, _ in children), default=0) if not isinstance(node, yaml.ScalarNode) else 0
            )
            done[key] = (height, 1 + sum(n for _, n in children))
            continue
        if key in done:
            continue
        if key in open_nodes:
            raise InputLimitError(
                "a YAML alias refers to a node that contains it, which never ends when spelled out",
                file=where,
            )
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in done)
    height, spelled_out = done[id(root)]
    return height, spelled_out, len(done)


def load_all(text: str, *, source: str, limits: InputLimits | None = None) -> list[Any]:
    """Every document of ``text`` (``None`` for an empty one); ``SpecError`` naming ``source``."""
    loader = BoundedLoader(text, source=source, limits=limits)
    documents: list[Any] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            documents.append(None if node is None else loader.construct_document(node))
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {one_line(exc)}", file=source) from exc
    finally:
        loader.dispose()
    return documents


def load_one(text: str, *, source: str, limits: InputLimits | None = None) -> Any:
    """The single document of ``text`` (``None`` when empty); more than one is an error."""
    documents = load_all(text, source=source, limits=limits)
    if len(documents) > 1:
        raise SpecError(f"expected one YAML document, found {len(documents)}", file=source)
    return documents[0] if documents else None


def check_text(text: str, *, source: str, limits: InputLimits | None = None) -> None:
    """Compose every document of ``text`` within the limits, constructing nothing: the gate for
    readers with a YAML library of their own (ruamel.yaml's round trip)."""
    loader = BoundedLoader(text, source=source, limits=limits)
    try:
        while loader.check_node():
            loader.get_node()
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {one_line(exc)}", file=source) from exc
    finally:
        loader.dispose()


def one_line(exc: yaml.YAMLError) -> str:
    """A YAML error as one line: the problem and where it is."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or ""
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark else problem
    return " ".join(str(exc).split())
