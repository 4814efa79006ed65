"""Pieces shared by the Triggers kinds: where a field was read, secret references, label selectors.

A ``Where`` remembers ``file:line``, ``Kind/name`` and the field path of one value, so a check made after
parsing (a reference that does not resolve, a CEL expression that does not compile) still names the line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from gitloop.errors import SpecError
from gitloop.spec.fields import Node

API_GROUP = "triggers.tekton.dev"
API_VERSIONS = (f"{API_GROUP}/v1beta1", f"{API_GROUP}/v1alpha1")
"""``v1beta1`` is the version gitloop writes about; ``v1alpha1`` is read where its shape is the same."""
V1ALPHA1 = f"{API_GROUP}/v1alpha1"

_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_REFERENCE_START = "$("


@dataclass(frozen=True)
class Where:
    """The position of one field: ``file:line``, ``Kind/name`` and the field path."""

    file: str = ""
    obj: str = ""
    field: str = ""

    def error(self, message: str) -> SpecError:
        return SpecError(message, file=self.file or None, obj=self.obj or None, field=self.field or None)

    def __str__(self) -> str:
        return ": ".join(p for p in (self.file, self.obj, self.field) if p)


def where(node: Node) -> Where:
    """The ``Where`` of a node being parsed."""
    line = node.origin.line(node.path)
    file = f"{node.origin.file}:{line}" if line else node.origin.file
    return Where(file, node.origin.obj, node.path)


def label_value_problem(value: str) -> str | None:
    """Why ``value`` cannot be a Kubernetes label value (Tekton labels runs with trigger names)."""
    if len(value) > 63:
        return f"{value!r} is longer than 63 characters"
    if not _LABEL_VALUE.fullmatch(value):
        return (
            f"{value!r} is not a valid label value (letters, digits, '-', '_' and '.', "
            "starting and ending with a letter or digit)"
        )
    return None


def check_terminated(node: Node, text: str) -> None:
    """Every ``$(`` in a binding value closes, as Tekton's webhook requires."""
    for piece in text.split(_REFERENCE_START)[1:]:
        depth = 0
        for char in piece:
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                if depth < 0:
                    break
        else:
            raise node.error(f"invalid value {text!r}: a $( is not closed by )")


@dataclass(frozen=True)
class SecretRef:
    """``secretRef: {secretName, secretKey}``: one key of a Secret, looked up when an event arrives."""

    name: str
    key: str
    where: Where = field(default_factory=Where, compare=False, repr=False)

    def __str__(self) -> str:
        return f"Secret/{self.name} key {self.key!r}"


def parse_secret_ref(node: Node) -> SecretRef:
    node.require_map().only(("secretName", "secretKey"))
    return SecretRef(
        node.string("secretName", required=True), node.string("secretKey", required=True), where(node)
    )


Operator = Literal["In", "NotIn", "Exists", "DoesNotExist"]
OPERATORS: tuple[Operator, ...] = ("In", "NotIn", "Exists", "DoesNotExist")


@dataclass(frozen=True)
class Requirement:
    """One ``matchExpressions`` item."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "Exists":
            return self.key in labels
        if self.operator == "DoesNotExist":
            return self.key not in labels
        if self.operator == "In":
            return labels.get(self.key) in self.values
        return labels.get(self.key) not in self.values


@dataclass(frozen=True)
class LabelSelector:
    """A Kubernetes label selector; the empty selector matches everything."""

    match_labels: Mapping[str, str] = field(default_factory=dict)
    match_expressions: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.match_labels.items()) and all(
            r.matches(labels) for r in self.match_expressions
        )


def parse_label_selector(node: Node) -> LabelSelector:
    node.require_map().only(("matchLabels", "matchExpressions"))
    requirements: list[Requirement] = []
    for item in node.items("matchExpressions"):
        item.require_map().only(("key", "operator", "values"))
        operator = item.one_of("operator", OPERATORS)
        values = item.strings("values")
        if operator in ("In", "NotIn") and not values:
            raise item.error(f"values must be non-empty for operator {operator}", "values")
        if operator in ("Exists", "DoesNotExist") and values:
            raise item.error(f"values must be empty for operator {operator}", "values")
        requirements.append(Requirement(item.string("key", required=True), operator, values))
    return LabelSelector(node.string_map("matchLabels"), tuple(requirements))


def parse_namespace_selector(node: Node) -> tuple[str, ...]:
    """``namespaceSelector.matchNames``; read and checked, then ignored: locally there is one namespace."""
    node.require_map().only(("matchNames",))
    return node.strings("matchNames")
