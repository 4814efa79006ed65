"""jq path expressions, as ``ignoreDifferences.jqPathExpressions`` uses them: delete what they select.

Argo CD compiles ``del(<expression>)`` with gojq and runs it on the object: an expression that does not
compile is a configuration error; one that fails on a given object (``.spec.x[]`` where ``x`` is
absent: "cannot iterate over null") or yields other than exactly one result leaves the object as it
was. gitloop does the same with the real jq (the ``jq`` package, libjq), so every expression Argo CD
users write — ``.spec.template.spec.containers[] | select(.name == "app") | .image``,
``.webhooks[]?.clientConfig.caBundle``, ``.metadata.annotations["a/b"]`` — means the same here.
Argo CD's evaluation timeout (one second) is not applied: libjq cannot be interrupted.

libjq can also read the environment (``env``, ``$ENV``), files (``import``, ``include``) and the
clock (``now``), and write to stderr (``debug``); a diff must never show a server's environment. So
an expression is checked before it is compiled: brackets must balance outside string literals (it
cannot close the ``del(`` around it and yield something else), ``#`` comments are refused, and so are
those builtins and the unbounded loops ``while``, ``until`` and ``repeat``. Path expressions never
need any of them.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from gitloop.errors import SpecError, SyncError
from gitloop.model.resources import Manifest


class _Run(Protocol):
    def all(self) -> list[Any]: ...


class _Program(Protocol):
    def input_value(self, value: Any) -> _Run: ...


class _Jq(Protocol):
    def compile(self, program: str) -> _Program: ...


def _jq() -> _Jq:
    try:
        return cast(_Jq, importlib.import_module("jq"))
    except ImportError as exc:
        raise SyncError("jqPathExpressions need the Python package 'jq' (pip install jq)") from exc


@dataclass(frozen=True)
class JqDeletion:
    """One compiled ``jqPathExpressions`` entry."""

    expression: str
    _program: _Program = field(repr=False, compare=False)

    def apply(self, obj: Manifest) -> Manifest:
        """``obj`` without what the expression selects; ``obj`` itself if jq fails or is ambiguous."""
        try:
            results = self._program.input_value(obj).all()
        except (ValueError, TypeError):
            return obj
        if len(results) != 1 or not isinstance(results[0], dict):
            return obj
        return cast(Manifest, results[0])


_FORBIDDEN = re.compile(
    r"(?<![\w.$])(?:\$ENV|\$__\w*|env|input|inputs|input_filename|input_line_number|debug|stderr|halt|"
    r"halt_error|import|include|modulemeta|get_search_list|get_prog_origin|get_jq_origin|now|localtime|"
    r"strflocaltime|while|until|repeat)(?!\w)"
)
_CLOSING = {"(": ")", "[": "]", "{": "}"}


def _code_outside_strings(expression: str) -> str:
    """The expression without the text of its string literals (interpolations ``\\(...)`` kept);
    ``SpecError`` if brackets do not balance or a string is not closed."""
    code: list[str] = []
    stack: list[str] = []  # open brackets, and '"' for a string being read
    i = 0
    while i < len(expression):
        char = expression[i]
        if stack and stack[-1] == '"':
            if char == "\\" and expression[i + 1 : i + 2] == "(":
                stack.append("(")
                code.append(" (")
                i += 2
                continue
            if char == "\\":
                i += 2
                continue
            if char == '"':
                stack.pop()
                code.append('"')
        elif char == "#":
            raise SpecError(f"invalid jq path expression {expression!r}: comments are not allowed")
        elif char == '"':
            stack.append('"')
            code.append('"')
        elif char in _CLOSING:
            stack.append(char)
            code.append(char)
        elif char in _CLOSING.values():
            if not stack or _CLOSING.get(stack[-1]) != char:
                raise SpecError(f"invalid jq path expression {expression!r}: unbalanced {char!r}")
            stack.pop()
            code.append(char)
        else:
            code.append(char)
        i += 1
    if stack:
        raise SpecError(f"invalid jq path expression {expression!r}: unclosed {stack[-1]!r}")
    return "".join(code)


def compile_deletion(expression: str) -> JqDeletion:
    """Compile ``del(<expression>)``; ``SpecError`` if jq rejects it or it reaches outside the object."""
    forbidden = _FORBIDDEN.search(_code_outside_strings(expression))
    if forbidden is not None:
        raise SpecError(
            f"invalid jq path expression {expression!r}: {forbidden.group()!r} is not allowed in a path expression"
        )
    try:
        program = _jq().compile(f"del({expression})")
    except ValueError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise SpecError(f"invalid jq path expression {expression!r}: {first_line}") from exc
    return JqDeletion(expression, program)
