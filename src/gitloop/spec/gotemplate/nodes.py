"""The parse tree of a Go template: frozen nodes whose ``str()`` is Go's ``String()`` of the node.

``pos`` is the byte offset of the node in the template text; execution errors name it as Go does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Text:
    pos: int
    text: str


@dataclass(frozen=True)
class Field:
    pos: int
    names: tuple[str, ...]

    def __str__(self) -> str:
        return "".join("." + n for n in self.names)


@dataclass(frozen=True)
class Variable:
    pos: int
    names: tuple[str, ...]  # names[0] is the variable, "$" or "$x"; the rest are fields

    def __str__(self) -> str:
        return ".".join(self.names)


@dataclass(frozen=True)
class Dot:
    pos: int

    def __str__(self) -> str:
        return "."


@dataclass(frozen=True)
class Nil:
    pos: int

    def __str__(self) -> str:
        return "nil"


@dataclass(frozen=True)
class Identifier:
    pos: int
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Literal:
    """A bool, number, string or character constant; ``text`` is its spelling in the template."""

    pos: int
    value: Any
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Chain:
    """``(pipeline).a.b``: fields of an operand that is not a field or variable."""

    pos: int
    node: Any
    names: tuple[str, ...]

    def __str__(self) -> str:
        inner = f"({self.node})" if isinstance(self.node, Pipe) else str(self.node)
        return inner + "".join("." + n for n in self.names)


@dataclass(frozen=True)
class Command:
    pos: int
    args: tuple[Any, ...]

    def __str__(self) -> str:
        return " ".join(f"({a})" if isinstance(a, Pipe) else str(a) for a in self.args)


@dataclass(frozen=True)
class Pipe:
    pos: int
    decl: tuple[str, ...]
    is_assign: bool
    cmds: tuple[Command, ...]

    def __str__(self) -> str:
        head = ", ".join(self.decl) + (" = " if self.is_assign else " := ") if self.decl else ""
        return head + " | ".join(str(c) for c in self.cmds)


@dataclass(frozen=True)
class Action:
    pos: int
    pipe: Pipe

    def __str__(self) -> str:
        return "{{" + str(self.pipe) + "}}"


@dataclass(frozen=True)
class Branch:
    """``if``, ``with`` or ``range``: ``else_list`` is empty when there is no ``else``."""

    pos: int
    keyword: str
    pipe: Pipe
    body: tuple[Any, ...]
    else_list: tuple[Any, ...]

    def __str__(self) -> str:
        return "{{" + self.keyword + " " + str(self.pipe) + "}}"


@dataclass(frozen=True)
class Loop:
    """``break`` or ``continue`` inside a range."""

    pos: int
    keyword: str

    def __str__(self) -> str:
        return "{{" + self.keyword + "}}"


@dataclass(frozen=True)
class TemplateCall:
    pos: int
    name: str
    pipe: Pipe | None

    def __str__(self) -> str:
        return "{{template " + repr(self.name) + (" " + str(self.pipe) if self.pipe else "") + "}}"
