"""YAML path expressions in yq's notation, to name the field an image handoff sets.

Accepted forms (``yq eval -i '<path> = "<value>"'`` is what pipelines run today):

* ``.spec.template.spec.containers[0].image`` — keys and indexes (``[-1]`` is the last item);
* ``.spec.template.spec.containers[name=web].image`` (also ``[name==web]``, ``[name="web"]``) —
  the items of a list whose ``name`` is ``web``;
* ``.spec.template.spec.containers[] | select(.name == "web") | .image`` — yq's own spelling of it;
* ``."app.kubernetes.io/name"`` or ``.["app.kubernetes.io/name"]`` — keys that need quoting;
* any of these followed by ``= "VALUE"`` (or ``|= "VALUE"``), optionally in parentheses:
  ``(.a[] | select(.name == "web") | .image) = "registry/app:v2"``.

Unlike yq, a path never creates anything: a document without the field is left alone, and a field
found in no document is an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gitloop.errors import UsageError
from gitloop.handoff.yamltext import Path, format_path, mapping_get

__all__ = ["Each", "Index", "Key", "PathExpression", "Where", "parse_expression", "select"]


@dataclass(frozen=True)
class Key:
    """A mapping key."""

    name: str


@dataclass(frozen=True)
class Index:
    """A list index; negative counts from the end."""

    index: int


@dataclass(frozen=True)
class Each:
    """Every item of a list (or value of a mapping): ``[]``, ``[*]``."""


@dataclass(frozen=True)
class Where:
    """Keep the mappings whose ``field`` is the string ``value``: ``select(.field == "value")``."""

    field: str
    value: str


Step = Key | Index | Each | Where


@dataclass(frozen=True)
class PathExpression:
    """A parsed expression: its steps and, for ``<path> = "<value>"``, the value assigned."""

    text: str
    steps: tuple[Step, ...]
    value: str | None = None

    def __str__(self) -> str:
        out = ""
        for step in self.steps:
            if isinstance(step, Key):
                out += format_path((step.name,))
            elif isinstance(step, Index):
                out += f"[{step.index}]"
            elif isinstance(step, Each):
                out += "[]"
            else:
                out += f"[{step.field}={json.dumps(step.value)}]"
        return out or "."


_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-$")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, expected: str) -> UsageError:
        found = repr(self.text[self.pos]) if self.pos < len(self.text) else "the end"
        return UsageError(
            f"path expression {self.text!r}: expected {expected} at column {self.pos + 1}, found {found}"
        )

    def ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self, token: str) -> bool:
        return self.text.startswith(token, self.pos)

    def take(self, token: str) -> bool:
        if self.peek(token):
            self.pos += len(token)
            return True
        return False

    def expect(self, token: str) -> None:
        if not self.take(token):
            raise self.fail(repr(token))

    def name(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in _NAME_CHARS:
            self.pos += 1
        if self.pos == start:
            raise self.fail("a key")
        return self.text[start : self.pos]

    def quoted(self) -> str:
        quote = self.text[self.pos]
        if quote == "'":
            end = self.text.find("'", self.pos + 1)
            if end < 0:
                raise self.fail("a closing quote")
            value = self.text[self.pos + 1 : end]
            self.pos = end + 1
            return value
        end, escaped = self.pos + 1, False
        while end < len(self.text) and (escaped or self.text[end] != '"'):
            escaped = not escaped and self.text[end] == "\\"
            end += 1
        if end >= len(self.text):
            raise self.fail("a closing quote")
        try:
            value = json.loads(self.text[self.pos : end + 1])
        except ValueError as exc:
            raise self.fail("a valid string") from exc
        self.pos = end + 1
        return str(value)

    def literal(self) -> str:
        return self.quoted() if self.peek('"') or self.peek("'") else self.name()

    def key(self) -> str:
        return self.quoted() if self.peek('"') or self.peek("'") else self.name()

    def bracket(self) -> list[Step]:
        self.expect("[")
        self.ws()
        if self.take("]"):
            return [Each()]
        if self.take("*"):
            self.ws()
            self.expect("]")
            return [Each()]
        start = self.pos
        self.take("-")
        if self.pos < len(self.text) and self.text[self.pos].isdigit():
            while self.pos < len(self.text) and self.text[self.pos].isdigit():
                self.pos += 1
            index = int(self.text[start : self.pos])
            self.ws()
            self.expect("]")
            return [Index(index)]
        self.pos = start
        if self.peek('"') or self.peek("'"):
            key = self.quoted()
            self.ws()
            self.expect("]")
            return [Key(key)]
        field = self.name()
        self.ws()
        if not (self.take("==") or self.take("=")):
            raise self.fail("'=' in [field=value]")
        self.ws()
        value = self.literal()
        self.ws()
        self.expect("]")
        return [Each(), Where(field, value)]

    def path(self) -> list[Step]:
        steps: list[Step] = []
        if not self.take("."):
            raise self.fail("a path starting with '.'")
        if self.peek('"') or self.peek("'"):
            steps.append(Key(self.quoted()))
        elif self.pos < len(self.text) and self.text[self.pos] in _NAME_CHARS:
            steps.append(Key(self.name()))
        while True:
            if self.peek("["):
                steps.extend(self.bracket())
            elif self.peek(".") and not self.peek(".."):
                self.pos += 1
                steps.extend(self.bracket() if self.peek("[") else [Key(self.key())])
            else:
                return steps

    def select(self) -> Step:
        self.expect("select")
        self.ws()
        self.expect("(")
        self.ws()
        self.expect(".")
        field = self.key()
        self.ws()
        self.expect("==")
        self.ws()
        value = self.literal()
        self.ws()
        self.expect(")")
        return Where(field, value)

    def pipeline(self) -> list[Step]:
        steps: list[Step] = []
        while True:
            self.ws()
            steps.extend([self.select()] if self.peek("select") else self.path())
            self.ws()
            if self.peek("|=") or not self.take("|"):
                return steps

    def expression(self) -> PathExpression:
        self.ws()
        if self.take("("):
            steps = self.pipeline()
            self.ws()
            self.expect(")")
        else:
            steps = self.pipeline()
        self.ws()
        value: str | None = None
        if self.take("|=") or self.take("="):
            self.ws()
            if not (self.peek('"') or self.peek("'")):
                raise self.fail('a quoted string value (.path = "value")')
            value = self.quoted()
            self.ws()
        if self.pos != len(self.text):
            raise self.fail("the end of the expression")
        return PathExpression(self.text, tuple(steps), value)


def parse_expression(text: str) -> PathExpression:
    """Parse a path expression; ``UsageError`` naming the column where it stops making sense."""
    if not text.strip():
        raise UsageError("path expression is empty")
    return _Parser(text).expression()


def _step(node: Node, at: Path, step: Step) -> list[tuple[Node, Path]]:
    if isinstance(step, Key):
        found = mapping_get(node, step.name)
        return [] if found is None else [(found[1], (*at, step.name))]
    if isinstance(step, Index):
        if not isinstance(node, SequenceNode):
            return []
        size = len(node.value)
        i = step.index + size if step.index < 0 else step.index
        return [(node.value[i], (*at, i))] if 0 <= i < size else []
    if isinstance(step, Each):
        if isinstance(node, SequenceNode):
            return [(item, (*at, i)) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            return [(v, (*at, k.value)) for k, v in node.value if isinstance(k, ScalarNode)]
        return []
    found = mapping_get(node, step.field)
    if found is not None and isinstance(found[1], ScalarNode) and found[1].value == step.value:
        return [(node, at)]
    return []


def select(root: Node | None, steps: tuple[Step, ...]) -> list[tuple[Node, Path]]:
    """The nodes ``steps`` reach from ``root``, with their paths; never creates anything."""
    current: list[tuple[Node, Path]] = [] if root is None else [(root, ())]
    for step in steps:
        current = [hit for node, at in current for hit in _step(node, at, step)]
    return current
