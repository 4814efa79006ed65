"""TriggerBinding, ClusterTriggerBinding and TriggerTemplate: what is read from an event, and what is made.

A binding param's value is text with ``$(body.x)``, ``$(header.X)``, ``$(extensions.x)`` or
``$(context.eventID)`` expressions, evaluated when an event arrives. A TriggerTemplate declares params
(with an optional ``default``) and ``resourcetemplates``: arbitrary objects, usually PipelineRuns and
TaskRuns, in which ``$(tt.params.x)`` and ``$(uid)`` are replaced. As Tekton's webhook does, every
``$(tt.params.x)`` must be declared and every resource template needs ``apiVersion`` and ``kind``; gitloop
also requires ``metadata.name`` or ``metadata.generateName``, since the run it creates needs a name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from gitloop.spec.fields import Node
from gitloop.spec.tekton.meta import ObjectMeta, Source, parse_meta
from gitloop.spec.triggers.common import Where, check_terminated, where

TT_PARAM = re.compile(r"\$\(tt\.params\.([_a-zA-Z][_a-zA-Z0-9.-]*)\)")
"""A ``$(tt.params.NAME)`` reference in a resource template, as Tekton finds it."""
_OBJECT_FIELDS = ("apiVersion", "kind", "metadata", "spec", "status")

BindingKind = Literal["TriggerBinding", "ClusterTriggerBinding"]


@dataclass(frozen=True)
class BindingParam:
    """One ``name``/``value`` binding param; ``value`` may hold ``$(...)`` expressions."""

    name: str
    value: str
    where: Where = field(default_factory=Where, compare=False, repr=False)


def parse_binding_param(item: Node) -> BindingParam:
    item.require_map().only(("name", "value"))
    name = item.string("name", required=True)
    value_node = item.child("value")
    if value_node is None:
        raise item.error("required field is missing", "value")
    value = value_node.as_str()
    check_terminated(value_node, value)
    return BindingParam(name, value, where(value_node))


def parse_binding_params(parent: Node, key: str = "params") -> tuple[BindingParam, ...]:
    params: list[BindingParam] = []
    seen: set[str] = set()
    for item in parent.items(key):
        param = parse_binding_param(item)
        if param.name in seen:
            raise item.field("name").error(f"param {param.name!r} appears more than once")
        seen.add(param.name)
        params.append(param)
    return tuple(params)


@dataclass(frozen=True)
class TriggerBinding:
    """A ``TriggerBinding`` or cluster-scoped ``ClusterTriggerBinding``."""

    meta: ObjectMeta
    params: tuple[BindingParam, ...]
    kind: BindingKind = "TriggerBinding"
    source: Source | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return self.meta.name


def parse_trigger_binding(body: Node, kind: BindingKind, source: Source | None = None) -> TriggerBinding:
    body.only(_OBJECT_FIELDS)
    meta = parse_meta(body)
    spec = body.child("spec")
    if spec is None:
        raise body.error("required field is missing", "spec")
    spec.require_map().only(("params",))
    return TriggerBinding(meta, parse_binding_params(spec), kind, source)


@dataclass(frozen=True)
class TemplateParam:
    """A declared TriggerTemplate param; ``default`` is used when no binding supplies a value."""

    name: str
    description: str = ""
    default: str | None = None


@dataclass(frozen=True)
class TriggerTemplateSpec:
    """Params and the resources to create (plain objects, never changed in place)."""

    params: tuple[TemplateParam, ...]
    resource_templates: tuple[dict[str, Any], ...]
    referenced: frozenset[str] = frozenset()
    """The names of every ``$(tt.params.x)`` used in the resource templates."""
    where: Where = field(default_factory=Where, compare=False, repr=False)

    def param(self, name: str) -> TemplateParam | None:
        return next((p for p in self.params if p.name == name), None)


def _strings(value: Any) -> Iterator[str]:
    """Every string of a plain value, mapping keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _check_resource_template(node: Node) -> dict[str, Any]:
    node.require_map()
    for key in ("apiVersion", "kind"):
        if not node.string(key):
            raise node.error("required field is missing", key)
    metadata = node.child("metadata")
    if metadata is None or not (metadata.require_map().string("name") or metadata.string("generateName")):
        raise (metadata or node).error(
            "required field is missing (name or generateName): a created resource needs a name",
            "name" if metadata is not None else "metadata",
        )
    return node.raw_map()


def parse_template_spec(spec: Node) -> TriggerTemplateSpec:
    """The ``spec`` of a TriggerTemplate, or a Trigger's embedded ``template.spec``."""
    spec.require_map().only(("params", "resourcetemplates"))
    params: list[TemplateParam] = []
    for item in spec.items("params"):
        item.require_map().only(("name", "description", "default"))
        name = item.string("name", required=True)
        if any(p.name == name for p in params):
            raise item.field("name").error(f"param {name!r} appears more than once")
        default = item.child("default")
        params.append(TemplateParam(name, item.string("description"), default.as_str() if default else None))
    items = spec.items("resourcetemplates")
    if not items:
        raise spec.error("required field is missing", "resourcetemplates")
    resources = tuple(_check_resource_template(item) for item in items)
    declared = {p.name for p in params}
    referenced: set[str] = set()
    for item, resource in zip(items, resources, strict=True):
        for text in _strings(resource):
            for match in TT_PARAM.finditer(text):
                if match.group(1) not in declared:
                    raise item.error(
                        f"undeclared param '$(tt.params.{match.group(1)})': it must be declared in spec.params"
                    )
                referenced.add(match.group(1))
    return TriggerTemplateSpec(tuple(params), resources, frozenset(referenced), where(spec))


@dataclass(frozen=True)
class TriggerTemplate:
    kind: ClassVar[str] = "TriggerTemplate"
    meta: ObjectMeta
    spec: TriggerTemplateSpec
    source: Source | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return self.meta.name


def parse_trigger_template(body: Node, source: Source | None = None) -> TriggerTemplate:
    body.only(_OBJECT_FIELDS)
    meta = parse_meta(body)
    spec = body.child("spec")
    if spec is None:
        raise body.error("required field is missing", "spec")
    return TriggerTemplate(meta, parse_template_spec(spec), source)
