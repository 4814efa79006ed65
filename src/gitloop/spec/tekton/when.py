"""``when`` expressions guarding pipeline tasks and steps: ``input``/``operator``/``values``, or ``cel``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gitloop.spec.fields import Node

Operator = Literal["in", "notin"]
OPERATORS: tuple[Operator, ...] = ("in", "notin")


@dataclass(frozen=True)
class WhenExpression:
    """``input`` ``operator`` ``values`` (e.g. ``$(params.branch) in [main]``) or one CEL expression."""

    input: str = ""
    operator: Operator | Literal[""] = ""
    values: tuple[str, ...] = ()
    cel: str = ""

    def strings(self) -> list[str]:
        """Every string that may hold variable references."""
        return [self.input, *self.values, self.cel]


def parse_when(parent: Node) -> tuple[WhenExpression, ...]:
    """The ``when`` list of a pipeline task or step, validated as Tekton's webhook does.

    CEL syntax is checked by the engine (``gitloop.pipeline.when``), which owns the CEL evaluator.
    """
    found: list[WhenExpression] = []
    for item in parent.items("when"):
        item.require_map().only(("input", "operator", "values", "cel"))
        cel = item.string("cel")
        if cel:
            if any(item.has(k) for k in ("input", "operator", "values")):
                raise item.error("cel and input+operator+values cannot be set in one when expression")
            found.append(WhenExpression(cel=cel))
            continue
        expression = WhenExpression(
            item.string("input"), item.one_of("operator", OPERATORS), item.strings("values")
        )
        if not expression.values:
            raise item.error("expecting non-empty values field", "values")
        found.append(expression)
    return tuple(found)
