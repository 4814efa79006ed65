"""Variable substitution, ``$(params.x)`` and the rest, over strings and nested values. Pure.

The values come from a context: a mapping of full variable names to values, e.g.
``{"params.revision": "main", "params.flags": ["-v"], "tasks.clone.results.commit": "a1b2",
"context.pipelineRun.name": "run-1", "workspaces.src.path": "/workspace/src"}``. A reference's accessors
are applied to the value: ``$(params.flags[0])`` takes one item, ``$(params.repo.url)`` one key of an
object, ``$(params.flags[*])`` the whole array.

As in Tekton, substitution is one pass (values are never substituted again) and ``$(...)`` that is not a
Tekton reference, such as a shell's ``$(date)``, is left alone. A reference in one of the ``strict``
namespaces that the context lacks is an error; elsewhere it is left for a later pass (a pipeline-level
pass leaves the Task's own ``$(params.x)`` for the task-level pass). A whole array expands into several
items only where it is an entire list item (``args``, ``command``, array values); inside a string it is
an error, as it is in Tekton.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from typing import Any, TypeAlias

from gitloop.errors import SpecError
from gitloop.spec.tekton.params import ParamValue
from gitloop.spec.tekton.variables import NAMESPACES, Reference, exact_reference, find_references

Value: TypeAlias = str | Sequence[str] | Mapping[str, str]
"""A variable's value: a string, an array of strings or an object of strings."""
Context: TypeAlias = Mapping[str, Value]
"""Variable values by full name (``params.x``, ``tasks.t.results.r``, ``context.pipelineRun.name``)."""

ALL_NAMESPACES: frozenset[str] = frozenset(f"{n}." for n in NAMESPACES)
PIPELINE_STRICT: frozenset[str] = frozenset(
    {"params.", "tasks.", "finally.", "context.pipelineRun.", "context.pipeline.", "context.pipelineTask."}
)
"""The prefixes a pipeline-level pass must resolve; ``context.task.*`` and the like pass through."""
TASK_STRICT: frozenset[str] = frozenset(
    {
        "params.",
        "context.taskRun.",
        "context.task.",
        "workspaces.",
        "results.",
        "steps.",
        "step.",
        "credentials.",
    }
)
"""The prefixes a task-level pass must resolve."""


class SubstitutionError(SpecError):
    """A reference that cannot be substituted: unknown where it must be known, or of the wrong type."""

    def __init__(self, message: str, *, reference: str, field: str | None = None) -> None:
        self.reference = reference
        super().__init__(message, field=field)


class _Missing:
    pass


_MISSING = _Missing()


def is_array(value: object) -> bool:
    """Whether a value is an array (a sequence other than a string)."""
    return isinstance(value, Sequence) and not isinstance(value, str)


def _kind(value: object) -> str:
    return "array" if is_array(value) else "object" if isinstance(value, Mapping) else "string"


def _resolve(
    ref: Reference, context: Context, strict: Collection[str], field: str | None
) -> Value | _Missing:
    name, key = ref.name, ref.key
    if name not in context and key is not None and f"{name}.{key}" in context:
        name, key = f"{name}.{key}", None  # a dotted param name written with dots
    if name not in context:
        if any(f"{ref.name}.".startswith(prefix) for prefix in strict):
            raise SubstitutionError(
                f"unknown variable {ref.expression}", reference=ref.expression, field=field
            )
        return _MISSING
    value = context[name]
    if key is not None:
        if not isinstance(value, Mapping):
            raise SubstitutionError(
                f"{ref.expression}: {name} is {_kind(value)}, not an object",
                reference=ref.expression,
                field=field,
            )
        if key not in value:
            raise SubstitutionError(
                f"{ref.expression}: object {name} has no key {key!r}", reference=ref.expression, field=field
            )
        return value[key]
    if ref.index is not None:
        if not is_array(value):
            raise SubstitutionError(
                f"{ref.expression}: {name} is {_kind(value)}, not an array",
                reference=ref.expression,
                field=field,
            )
        assert isinstance(value, Sequence)
        if ref.index >= len(value):
            raise SubstitutionError(
                f"{ref.expression}: index {ref.index} out of range for {name} of length {len(value)}",
                reference=ref.expression,
                field=field,
            )
        return str(value[ref.index])
    if ref.star and isinstance(value, str):
        raise SubstitutionError(
            f"{ref.expression}: {name} is a string; [*] needs an array or object",
            reference=ref.expression,
            field=field,
        )
    return value


def substitute(
    text: str, context: Context, *, strict: Collection[str] = ALL_NAMESPACES, field: str | None = None
) -> str:
    """``text`` with every reference replaced by its string value."""
    parts: list[str] = []
    position = 0
    for ref in find_references(text):
        value = _resolve(ref, context, strict, field)
        if isinstance(value, _Missing):
            continue
        if not isinstance(value, str):
            raise SubstitutionError(
                f"{ref.expression} is an {_kind(value)} and cannot be used inside a string"
                + (
                    " (use it as a whole list item, or pick one item or key)"
                    if text != ref.expression
                    else ""
                ),
                reference=ref.expression,
                field=field,
            )
        parts.append(text[position : ref.start])
        parts.append(value)
        position = ref.end
    parts.append(text[position:])
    return "".join(parts)


def whole_value(
    text: str, context: Context, *, strict: Collection[str] = ALL_NAMESPACES, field: str | None = None
) -> Value | None:
    """The value of ``text`` when it is nothing but one whole reference the context has, else ``None``."""
    ref = exact_reference(text)
    if ref is None or not ref.whole:
        return None
    value = _resolve(ref, context, strict, field)
    return None if isinstance(value, _Missing) else value


def _list_item(item: str, context: Context, strict: Collection[str], field: str | None) -> list[str]:
    """One list item: several items if it is exactly a whole array reference, else one substituted item."""
    value = whole_value(item, context, strict=strict, field=field)
    if is_array(value):
        assert isinstance(value, Sequence)
        return [str(v) for v in value]
    if isinstance(value, Mapping):
        raise SubstitutionError(f"{item} is an object and cannot be a list item", reference=item, field=field)
    return [substitute(item, context, strict=strict, field=field)]


def substitute_list(
    items: Sequence[str],
    context: Context,
    *,
    strict: Collection[str] = ALL_NAMESPACES,
    field: str | None = None,
) -> list[str]:
    """List items substituted; an item that is exactly a whole array reference expands in place."""
    result: list[str] = []
    for i, item in enumerate(items):
        result.extend(_list_item(item, context, strict, f"{field}[{i}]" if field else None))
    return result


def substitute_param_value(
    value: ParamValue, context: Context, *, strict: Collection[str] = ALL_NAMESPACES, field: str | None = None
) -> ParamValue:
    """A param value substituted; a string that is exactly a whole array or object reference takes its type."""
    if isinstance(value, str):
        whole = whole_value(value, context, strict=strict, field=field)
        if is_array(whole):
            assert isinstance(whole, Sequence)
            return tuple(str(v) for v in whole)
        if isinstance(whole, Mapping):
            return dict(whole)
        return substitute(value, context, strict=strict, field=field)
    if isinstance(value, Mapping):
        return {
            k: substitute(v, context, strict=strict, field=f"{field}.{k}" if field else None)
            for k, v in value.items()
        }
    return tuple(substitute_list(value, context, strict=strict, field=field))


def substitute_value(
    value: Any, context: Context, *, strict: Collection[str] = ALL_NAMESPACES, field: str | None = None
) -> Any:
    """Any nested value (strings, lists, mappings) substituted; mapping keys are kept as they are.

    Lists expand whole-array items like ``substitute_list``; other items are substituted recursively.
    """
    if isinstance(value, str):
        return substitute(value, context, strict=strict, field=field)
    if isinstance(value, Mapping):
        return {
            k: substitute_value(v, context, strict=strict, field=f"{field}.{k}" if field else None)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        result: list[Any] = []
        for i, item in enumerate(value):
            at = f"{field}[{i}]" if field else None
            if isinstance(item, str):
                result.extend(_list_item(item, context, strict, at))
            else:
                result.append(substitute_value(item, context, strict=strict, field=at))
        return type(value)(result) if isinstance(value, tuple) else result
    return value


def references(value: Any) -> list[Reference]:
    """Every reference in a value: a string, nested lists and mappings, or a (frozen) dataclass."""
    if isinstance(value, str):
        return find_references(value)
    if isinstance(value, Mapping):
        return [ref for v in value.values() for ref in references(v)]
    if isinstance(value, list | tuple):
        return [ref for v in value for ref in references(v)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [ref for f in dataclasses.fields(value) for ref in references(getattr(value, f.name))]
    return []


def params_context(values: Mapping[str, ParamValue]) -> dict[str, Value]:
    """Context entries ``params.<name>`` for bound param values."""
    return {f"params.{name}": value for name, value in values.items()}


def results_context(task: str, results: Mapping[str, ParamValue]) -> dict[str, Value]:
    """Context entries ``tasks.<task>.results.<name>`` for one finished task's results."""
    return {f"tasks.{task}.results.{name}": value for name, value in results.items()}
