"""Static checks of variable references against what is declared, as Tekton's webhook makes them.

Where a reference stands decides what it may name (``Position``):

- ``string``: inside a plain string. Only strings, one array item (``[i]``) or one object key.
- ``element``: one item of a list (``args``, ``command``, an array value, ``when`` values). A whole array
  (``$(params.flags[*])``) is allowed when it is the entire item; it expands into several items.
- ``value``: a whole string param value. A whole array or object is allowed when it is the entire value;
  the param then takes that type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from gitloop.errors import SpecError
from gitloop.spec.tekton.params import ParamSpec
from gitloop.spec.tekton.variables import Reference, find_references

Position = Literal["string", "element", "value"]

TASK_CONTEXT = frozenset(
    {
        "context.taskRun.name",
        "context.taskRun.namespace",
        "context.taskRun.uid",
        "context.task.name",
        "context.task.retry-count",
    }
)
"""The context variables of a Task (checked under ``context.taskRun`` and ``context.task``)."""

PIPELINE_CONTEXT = frozenset(
    {
        "context.pipelineRun.name",
        "context.pipelineRun.namespace",
        "context.pipelineRun.uid",
        "context.pipeline.name",
        "context.pipelineTask.retries",
    }
)
"""The context variables of a Pipeline (checked under ``context.pipelineRun``, ``.pipeline``, ``.pipelineTask``)."""


@dataclass(frozen=True)
class Scope:
    """What references in some field may name; a namespace left ``None`` is not checked."""

    params: Mapping[str, ParamSpec] | None = None
    context: frozenset[str] | None = None
    results: frozenset[str] | None = None
    """Task results, for ``$(results.<name>.path)``."""
    step_results: frozenset[str] | None = None
    """The step's own results, for ``$(step.results.<name>.path)``."""


def _in(text: str) -> str:
    """`` in 'text'`` for short one-line texts; long scripts are named by the field path alone."""
    return f" in {text!r}" if "\n" not in text.strip() and len(text) <= 100 else ""


def _context_checked(name: str, context: frozenset[str]) -> bool:
    scopes = {n.rsplit(".", 1)[0] for n in context}
    return name.rsplit(".", 1)[0] in scopes


def check_text(text: str, scope: Scope, position: Position, fail: Callable[[str], SpecError]) -> None:
    """Raise ``fail(message)`` for the first reference in ``text`` that ``scope`` does not allow."""
    for ref in find_references(text):
        isolated = ref.start == 0 and ref.end == len(text)
        if ref.namespace == "params" and scope.params is not None:
            _check_param(ref, text, scope.params, position, isolated, fail)
        elif ref.namespace == "context" and scope.context is not None:
            if _context_checked(ref.name, scope.context) and ref.name not in scope.context:
                raise fail(f"non-existent variable {ref.expression}{_in(text)}")
        elif ref.namespace == "results" and scope.results is not None:
            _check_path_ref(ref, "results.", scope.results, text, fail)
        elif ref.namespace == "step" and scope.step_results is not None:
            _check_path_ref(ref, "step.results.", scope.step_results, text, fail)


def _check_path_ref(
    ref: Reference, prefix: str, names: frozenset[str], text: str, fail: Callable[[str], SpecError]
) -> None:
    if not ref.name.startswith(prefix) or not ref.name.endswith(".path") or ref.key or ref.index is not None:
        raise fail(f"non-existent variable {ref.expression}{_in(text)}: expected $({prefix}<name>.path)")
    name = ref.name[len(prefix) : -len(".path")]
    if name not in names:
        raise fail(f"non-existent variable {ref.expression}{_in(text)}: no result {name!r} is declared")


def _check_param(
    ref: Reference,
    text: str,
    params: Mapping[str, ParamSpec],
    position: Position,
    isolated: bool,
    fail: Callable[[str], SpecError],
) -> None:
    name = ref.param or ""
    spec = params.get(name)
    if spec is None:
        raise fail(f"non-existent variable {ref.expression}{_in(text)}: no param {name!r} is declared")
    if ref.key is not None:
        if spec.type != "object" or ref.index is not None or ref.star:
            raise fail(f"invalid reference {ref.expression}: {spec.type} param {name!r} has no keys")
        if ref.key not in spec.properties:
            raise fail(f"invalid reference {ref.expression}: object param {name!r} has no key {ref.key!r}")
        return
    if ref.index is not None:
        if spec.type != "array":
            raise fail(f"invalid reference {ref.expression}: {spec.type} param {name!r} cannot be indexed")
        return
    if spec.type == "string":
        if ref.star:
            raise fail(f"invalid reference {ref.expression}: string param {name!r} cannot be used with [*]")
        return
    allowed = isolated and (position == "value" or (position == "element" and spec.type == "array"))
    if not allowed:
        where = "an entire list item" if spec.type == "array" else "an entire param value"
        raise fail(
            f"variable type invalid{_in(text)}: {spec.type} param {name!r} can only be used whole as {where}"
            + (f"; use one key, e.g. $(params.{name}.<key>)" if spec.type == "object" else "")
        )
