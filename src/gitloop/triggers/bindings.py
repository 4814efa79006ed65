"""Evaluate binding params against one event: ``$(body.a.b)``, ``$(header.X)``, ``$(extensions.x)``.

Each ``$(...)`` in a binding value is a relaxed JSONPath (``gitloop.triggers.jsonpath``) into the event
document ``{"body": ..., "header": ..., "extensions": ..., "context": {"eventID": ...}}``; ``$(body)``
is the whole body as JSON and ``$(header)`` every header (values joined with ``,``, credential headers
left out). Header names match in any case: ``$(header.x-github-event)`` reads ``X-GitHub-Event``.

As in Tekton: expressions are found by scanning from each ``$(`` to its first unbalanced ``)`` (so
``$($(body.b))`` reads ``body.b``), and when an expression finds nothing the param falls back to the
TriggerTemplate's ``default`` for it; without a default the binding fails ("failed to replace JSONPath
value") and the trigger creates nothing. Values are not re-scanned, and ``$(`` in a value is kept as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitloop.errors import GitloopError
from gitloop.spec.triggers import BindingParam, TemplateParam
from gitloop.triggers import jsonpath
from gitloop.triggers.event import Headers, canonical_header_key


class BindingError(GitloopError):
    """A binding param could not be given a value from the event."""


@dataclass(frozen=True)
class Expression:
    """One ``$(...)`` in a binding value: where it is and the JSONPath inside."""

    start: int
    end: int
    path: str


def find_expressions(value: str) -> list[Expression]:
    """Every ``$(...)`` in ``value``, scanning each ``$(`` to its first unbalanced ``)``."""
    found: list[Expression] = []
    starts = [i for i in range(len(value) - 1) if value.startswith("$(", i)]
    for number, start in enumerate(starts):
        following = starts[number + 1] if number + 1 < len(starts) else len(value)
        depth = 0
        for index in range(start + 2, following):
            if value[index] == "(":
                depth += 1
            elif value[index] == ")":
                depth -= 1
                if depth < 0:
                    found.append(Expression(start, index + 1, value[start + 2 : index]))
                    break
    return found


def event_document(
    body: Any, headers: Headers, extensions: Mapping[str, Any], event_id: str
) -> dict[str, Any]:
    """What binding expressions are evaluated against."""
    return {
        "body": body,
        "header": headers.joined(),
        "extensions": dict(extensions),
        "context": {"eventID": event_id},
    }


def _header_path(path: str) -> str:
    """``header.x-id...`` with the header name canonical, so any case matches."""
    text = jsonpath.relaxed(path)
    if not text.startswith("header."):
        return path
    rest = text[len("header.") :]
    cut = min((i for i in (rest.find("."), rest.find("[")) if i >= 0), default=len(rest))
    return f"header.{canonical_header_key(rest[:cut])}{rest[cut:]}"


def resolve_params(
    params: Sequence[BindingParam], declared: Sequence[TemplateParam], document: Mapping[str, Any]
) -> dict[str, str]:
    """The value of every param: the template's defaults, overridden by the bindings evaluated on the event."""
    values = {p.name: p.default for p in declared if p.default is not None}
    for param in params:
        parts: list[str] = []
        position = 0
        for expression in find_expressions(param.value):
            try:
                found = jsonpath.evaluate(document, _header_path(expression.path))
            except jsonpath.JsonPathError as exc:
                default = values.get(param.name) if declared else None
                if default is None:
                    raise BindingError(
                        f"failed to replace JSONPath value for param {param.name}: {param.value}: {exc}"
                    ) from exc
                found = default
            parts.extend((param.value[position : expression.start], found))
            position = expression.end
        parts.append(param.value[position:])
        values[param.name] = "".join(parts)
    return values
