"""Evaluate ``when`` expressions: ``input in/notin values`` and CEL (with ``cel-python``). Pure.

Variables are substituted first. ``values`` expand whole arrays (``["$(params.branches[*])"]``); an
``input`` that is a whole array becomes its JSON text, as in Tekton. A CEL expression gets plain string
substitution, so a reference must be quoted to be a CEL string (``"'$(params.branch)' == 'main'"``), and
must evaluate to true or false. A task runs only when every expression is true. The CEL library is
imported on first use (it is slow to import and most pipelines have no CEL).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

from gitloop.errors import PipelineError, SpecError
from gitloop.pipeline.substitution import (
    ALL_NAMESPACES,
    Context,
    is_array,
    substitute,
    substitute_list,
    whole_value,
)
from gitloop.spec.tekton.variables import find_references
from gitloop.spec.tekton.when import WhenExpression


@dataclass(frozen=True)
class WhenResult:
    """The outcome of a task's ``when`` list, with each expression as it read after substitution."""

    allowed: bool
    resolved: tuple[WhenExpression, ...]
    failed: WhenExpression | None = None
    """The first (resolved) expression that was false."""


def _syntax_error(expression: str, exc: Exception) -> SpecError:
    column = getattr(exc, "column", None)
    where = f" at column {column}" if column else ""
    return SpecError(f"invalid cel expression {expression!r}: syntax error{where}")


def check_cel(expression: str) -> None:
    """Raise ``SpecError`` unless ``expression`` is valid CEL syntax once its references are substituted.

    Each reference stands in as ``0`` for the check, which parses both quoted (``'$(params.x)'``) and
    unquoted (``$(tasks.t.results.coverage) > 0.9``) uses.
    """
    import celpy
    from celpy.celparser import CELParseError

    text = expression
    for ref in reversed(find_references(expression)):
        text = text[: ref.start] + "0" + text[ref.end :]
    try:
        celpy.Environment().compile(text)
    except CELParseError as exc:
        raise _syntax_error(expression, exc) from exc


def evaluate_cel(expression: str) -> bool:
    """The value of a substituted CEL expression, which must be true or false."""
    import celpy
    from celpy.celparser import CELParseError
    from celpy.celtypes import BoolType
    from celpy.evaluation import CELEvalError

    environment = celpy.Environment()
    try:
        program = environment.program(environment.compile(expression))
        value = program.evaluate({})
    except CELParseError as exc:
        raise _syntax_error(expression, exc) from exc
    except CELEvalError as exc:
        raise PipelineError(
            f"cel expression {expression!r} failed: {exc.args[0] if exc.args else exc}"
        ) from exc
    if not isinstance(value, BoolType):
        raise PipelineError(f"cel expression {expression!r} evaluated to {value!r}, not true or false")
    return bool(value)


def resolve(
    expression: WhenExpression,
    context: Context,
    *,
    strict: Collection[str] = ALL_NAMESPACES,
    field: str | None = None,
) -> WhenExpression:
    """``expression`` with its variables substituted."""
    if expression.cel:
        return replace(expression, cel=substitute(expression.cel, context, strict=strict, field=field))
    whole = whole_value(expression.input, context, strict=strict, field=field)
    if is_array(whole):
        assert isinstance(whole, Sequence)
        text = json.dumps([str(v) for v in whole], separators=(",", ":"))
    else:
        text = substitute(expression.input, context, strict=strict, field=field)
    values = substitute_list(
        expression.values, context, strict=strict, field=f"{field}.values" if field else None
    )
    return replace(expression, input=text, values=tuple(values))


def is_true(resolved: WhenExpression) -> bool:
    """Whether one resolved expression holds."""
    if resolved.cel:
        return evaluate_cel(resolved.cel)
    found = resolved.input in resolved.values
    return found if resolved.operator == "in" else not found


def evaluate(
    expressions: Sequence[WhenExpression],
    context: Context,
    *,
    strict: Collection[str] = ALL_NAMESPACES,
    field: str | None = None,
) -> WhenResult:
    """Resolve every expression, then check them in order; the first false one decides."""
    resolved = tuple(
        resolve(e, context, strict=strict, field=f"{field}[{i}]" if field else None)
        for i, e in enumerate(expressions)
    )
    for expression in resolved:
        if not is_true(expression):
            return WhenResult(False, resolved, expression)
    return WhenResult(True, resolved)
