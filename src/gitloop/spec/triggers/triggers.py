"""Trigger: interceptors, bindings and a template, as a ``Trigger`` object or inline in an EventListener.

Bindings are references (``ref`` and ``kind`` TriggerBinding or ClusterTriggerBinding) or inline
``name``/``value`` params; the template is a reference (``ref``) or embedded (``spec``). A Trigger's
``serviceAccountName`` is read and ignored: gitloop creates runs with its own identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, TypeAlias

from gitloop.spec.fields import Node
from gitloop.spec.tekton.meta import ObjectMeta, Source, parse_meta
from gitloop.spec.triggers.common import Where, label_value_problem, where
from gitloop.spec.triggers.interceptors import Interceptor, parse_interceptors
from gitloop.spec.triggers.templates import (
    BindingKind,
    BindingParam,
    TriggerTemplateSpec,
    parse_binding_param,
    parse_template_spec,
)

_REF_VERSIONS = ("v1alpha1", "v1beta1")
_BINDING_KINDS: tuple[BindingKind, ...] = ("TriggerBinding", "ClusterTriggerBinding")
TRIGGER_SPEC_FIELDS = ("bindings", "template", "interceptors", "serviceAccountName", "name")


@dataclass(frozen=True)
class BindingRef:
    """A reference to a TriggerBinding or ClusterTriggerBinding by name."""

    ref: str
    kind: BindingKind = "TriggerBinding"
    where: Where = field(default_factory=Where, compare=False, repr=False)


Binding: TypeAlias = BindingRef | BindingParam


@dataclass(frozen=True)
class TemplateRef:
    """``template``: a TriggerTemplate by name (``ref``), or embedded (``spec``); exactly one is set."""

    ref: str = ""
    spec: TriggerTemplateSpec | None = None
    where: Where = field(default_factory=Where, compare=False, repr=False)


@dataclass(frozen=True)
class TriggerSpec:
    bindings: tuple[Binding, ...]
    template: TemplateRef
    interceptors: tuple[Interceptor, ...] = ()
    service_account_name: str = ""


@dataclass(frozen=True)
class Trigger:
    kind: ClassVar[str] = "Trigger"
    meta: ObjectMeta
    spec: TriggerSpec
    source: Source | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return self.meta.name


def _ref_version(node: Node) -> None:
    for key in ("apiversion", "apiVersion"):
        version = node.string(key)
        if version and version not in _REF_VERSIONS:
            raise node.error(f"invalid apiVersion {version!r}: must be v1alpha1 or v1beta1", key)


def _binding(item: Node) -> Binding:
    item.require_map()
    ref = item.string("ref")
    if ref:
        item.only(("ref", "kind", "apiversion", "apiVersion"))
        _ref_version(item)
        kind = item.one_of("kind", _BINDING_KINDS, "TriggerBinding")
        return BindingRef(ref, kind, where(item.field("ref")))
    if item.string("name"):
        return parse_binding_param(item)
    raise item.error("expected exactly one of ref, name+value")


def _template(node: Node) -> TemplateRef:
    node.require_map().only(
        ("ref", "spec", "apiversion", "apiVersion"), {"name": "a template is referenced with ref, not name"}
    )
    _ref_version(node)
    ref, spec = node.string("ref"), node.child("spec")
    if ref and spec is not None:
        raise node.error("expected exactly one, got both: template.ref, template.spec")
    if spec is not None:
        return TemplateRef(spec=parse_template_spec(spec), where=where(spec))
    if not ref:
        raise node.error("expected exactly one, got neither: template.ref, template.spec")
    return TemplateRef(ref=ref, where=where(node.field("ref")))


def parse_trigger_spec(node: Node, api_version: str) -> TriggerSpec:
    """The bindings, template and interceptors of a Trigger's ``spec`` or of an EventListener trigger."""
    template = node.child("template")
    if template is None:
        raise node.error("required field is missing", "template")
    return TriggerSpec(
        tuple(_binding(item) for item in node.items("bindings")),
        _template(template),
        parse_interceptors(node, api_version),
        node.string("serviceAccountName"),
    )


def trigger_name(node: Node, key: str = "name") -> str:
    """An optional trigger name, which must be a valid label value (runs are labelled with it)."""
    name = node.string(key)
    if name and (problem := label_value_problem(name)):
        raise node.error(f"invalid trigger name: {problem}", key)
    return name


def parse_trigger(body: Node, api_version: str, source: Source | None = None) -> Trigger:
    body.only(("apiVersion", "kind", "metadata", "spec", "status"))
    meta = parse_meta(body)
    if problem := label_value_problem(meta.name):
        raise body.error(f"invalid trigger name: {problem}", "metadata.name")
    spec = body.child("spec")
    if spec is None:
        raise body.error("required field is missing", "spec")
    spec.require_map().only(TRIGGER_SPEC_FIELDS)
    return Trigger(meta, parse_trigger_spec(spec, api_version), source)
