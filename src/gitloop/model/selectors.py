"""Kubernetes label selectors: ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``, ``k``, ``!k``,
comma-separated — read once here for every list that takes one (Applications, PipelineRuns). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from gitloop.errors import UsageError


class Operator(StrEnum):
    EQUALS = "="
    NOT_EQUALS = "!="
    IN = "in"
    NOT_IN = "notin"
    EXISTS = "exists"
    DOES_NOT_EXIST = "!"


@dataclass(frozen=True)
class Requirement:
    """One term of a label selector."""

    key: str
    operator: Operator
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.key)
        match self.operator:
            case Operator.EXISTS:
                return value is not None
            case Operator.DOES_NOT_EXIST:
                return value is None
            case Operator.EQUALS | Operator.IN:
                return value is not None and value in self.values
            case Operator.NOT_EQUALS | Operator.NOT_IN:
                return value is None or value not in self.values


_KEY = r"(?:[A-Za-z0-9][-A-Za-z0-9_.]*/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?"
_VALUE = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_SET = re.compile(rf"^\s*({_KEY})\s+(in|notin)\s*\(([^()]*)\)\s*$")
_COMPARE = re.compile(rf"^\s*({_KEY})\s*(==|!=|=)\s*({_VALUE})\s*$")
_EXISTS = re.compile(rf"^\s*(!?)\s*({_KEY})\s*$")
_VALUE_ONLY = re.compile(rf"^{_VALUE}$")


def _terms(text: str) -> list[str]:
    """``text`` split at the commas outside parentheses."""
    terms, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def parse_selector(text: str) -> tuple[Requirement, ...]:
    """A Kubernetes label selector; ``UsageError`` naming the term it cannot read."""
    if not text.strip():
        return ()
    found = []
    for term in _terms(text):
        if m := _SET.match(term):
            values = [v.strip() for v in m.group(3).split(",")]
            if not all(values) or not all(_VALUE_ONLY.match(v) for v in values):
                raise UsageError(f"invalid values in {term.strip()!r}")
            found.append(Requirement(m.group(1), Operator(m.group(2)), frozenset(values)))
        elif m := _COMPARE.match(term):
            operator = Operator.NOT_EQUALS if m.group(2) == "!=" else Operator.EQUALS
            found.append(Requirement(m.group(1), operator, frozenset([m.group(3)])))
        elif m := _EXISTS.match(term):
            operator = Operator.DOES_NOT_EXIST if m.group(1) else Operator.EXISTS
            found.append(Requirement(m.group(2), operator))
        else:
            raise UsageError(f"cannot read the term {term.strip()!r}")
    return tuple(found)


def matches(selector: Sequence[Requirement], labels: Mapping[str, str]) -> bool:
    """Whether ``labels`` meet every requirement of ``selector`` (an empty selector selects all)."""
    return all(r.matches(labels) for r in selector)


def equalities(selector: Sequence[Requirement]) -> dict[str, str]:
    """The ``k=v`` requirements of ``selector`` (what a store can look up by label directly)."""
    return {r.key: next(iter(r.values)) for r in selector if r.operator is Operator.EQUALS}
