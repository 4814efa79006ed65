"""EventListener: the triggers (inline or by ``triggerRef``) and trigger groups one webhook endpoint runs.

Read and ignored, since gitloop serves every listener from its own process: ``serviceAccountName``,
``resources``, ``cloudEventURI`` and ``namespaceSelector`` (locally there is one namespace, so a selector
selects among all loaded Trigger objects). ``labelSelector`` selects Trigger objects by label; so does a
trigger group's ``triggerSelector``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from gitloop.spec.fields import Node
from gitloop.spec.tekton.meta import ObjectMeta, Source, parse_meta
from gitloop.spec.triggers.common import (
    LabelSelector,
    Where,
    parse_label_selector,
    parse_namespace_selector,
    where,
)
from gitloop.spec.triggers.interceptors import Interceptor, parse_interceptors
from gitloop.spec.triggers.triggers import TRIGGER_SPEC_FIELDS, TriggerSpec, parse_trigger_spec, trigger_name

_SPEC_FIELDS = (
    "serviceAccountName",
    "triggers",
    "triggerGroups",
    "namespaceSelector",
    "labelSelector",
    "resources",
    "cloudEventURI",
)
MAX_NAME = 60
"""Tekton limits EventListener names to 60 characters (the Service is called ``el-<name>``)."""


@dataclass(frozen=True)
class ListenerTrigger:
    """One item of ``spec.triggers``: an inline trigger (``spec``) or a ``Trigger`` by name (``ref``)."""

    name: str = ""
    spec: TriggerSpec | None = None
    ref: str = ""
    where: Where = field(default_factory=Where, compare=False, repr=False)


@dataclass(frozen=True)
class TriggerSelector:
    """Which Trigger objects a listener or group runs; ``None`` means no selector was given."""

    labels: LabelSelector | None = None
    namespaces: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return self.labels is None and not self.namespaces


@dataclass(frozen=True)
class TriggerGroup:
    """Interceptors run once, then the Trigger objects the selector picks, sharing the extensions."""

    name: str
    interceptors: tuple[Interceptor, ...]
    selector: TriggerSelector
    where: Where = field(default_factory=Where, compare=False, repr=False)


@dataclass(frozen=True)
class EventListener:
    kind: ClassVar[str] = "EventListener"
    meta: ObjectMeta
    triggers: tuple[ListenerTrigger, ...] = ()
    groups: tuple[TriggerGroup, ...] = ()
    selector: TriggerSelector = field(default_factory=TriggerSelector)
    source: Source | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return self.meta.name


def _selector(node: Node) -> TriggerSelector:
    labels = node.child("labelSelector")
    namespaces = node.child("namespaceSelector")
    return TriggerSelector(
        parse_label_selector(labels) if labels is not None else None,
        parse_namespace_selector(namespaces) if namespaces is not None else (),
    )


def _listener_trigger(item: Node, api_version: str) -> ListenerTrigger:
    item.require_map().only(("triggerRef", *TRIGGER_SPEC_FIELDS))
    name = trigger_name(item)
    ref = item.string("triggerRef")
    if ref:
        extra = [k for k in ("template", "bindings", "interceptors") if item.has(k)]
        if extra:
            raise item.error(f"expected exactly one, got both: triggerRef, {extra[0]}")
        return ListenerTrigger(name=name, ref=ref, where=where(item.field("triggerRef")))
    if not item.has("template"):
        raise item.error("expected exactly one, got neither: template, triggerRef")
    return ListenerTrigger(name=name, spec=parse_trigger_spec(item, api_version), where=where(item))


def _group(item: Node, api_version: str) -> TriggerGroup:
    item.require_map().only(("name", "interceptors", "triggerSelector"))
    name = item.string("name", required=True)
    interceptors = parse_interceptors(item, api_version)
    if not interceptors:
        raise item.error("required field is missing", "interceptors")
    selector_node = item.child("triggerSelector")
    if selector_node is None:
        raise item.error("required field is missing", "triggerSelector")
    selector_node.require_map().only(("labelSelector", "namespaceSelector"))
    selector = _selector(selector_node)
    if selector.empty:
        raise selector_node.error("expected exactly one, got neither: labelSelector, namespaceSelector")
    return TriggerGroup(name, interceptors, selector, where(item))


def parse_event_listener(body: Node, api_version: str, source: Source | None = None) -> EventListener:
    body.only(("apiVersion", "kind", "metadata", "spec", "status"))
    meta = parse_meta(body)
    if len(meta.name) > MAX_NAME:
        raise body.error(
            f"eventListener name {meta.name!r} must be no more than {MAX_NAME} characters long",
            "metadata.name",
        )
    spec = body.child("spec")
    if spec is None:
        raise body.error("required field is missing", "spec")
    spec.require_map().only(_SPEC_FIELDS)
    triggers = tuple(_listener_trigger(item, api_version) for item in spec.items("triggers"))
    groups = tuple(_group(item, api_version) for item in spec.items("triggerGroups"))
    names = [g.name for g in groups]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise (
                spec.field("triggerGroups")
                .items()[index]
                .error(f"trigger group {name!r} appears more than once", "name")
            )
    selector = _selector(spec)
    if not triggers and not groups and selector.empty:
        raise spec.error("expected at least one of triggers, triggerGroups, labelSelector, namespaceSelector")
    return EventListener(meta, triggers, groups, selector, source)
