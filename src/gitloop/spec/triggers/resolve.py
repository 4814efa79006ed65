"""An EventListener with every reference followed: the triggers an event runs, ready for the engine.

Tekton looks up ``triggerRef``, binding and template references when each event arrives, and a broken
reference quietly drops the trigger. gitloop follows them once, when the listener is loaded, so a typo is
a ``SpecError`` naming the line. The same pass finds what Tekton would only find per event: two bindings
of one trigger giving the same param, and a ``$(tt.params.x)`` with no default that no binding supplies
(Tekton would leave the text ``$(tt.params.x)`` in the created run).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from gitloop.spec.triggers.common import SecretRef, Where
from gitloop.spec.triggers.interceptors import Interceptor, ProviderInterceptor
from gitloop.spec.triggers.listener import EventListener, TriggerSelector
from gitloop.spec.triggers.secrets import SecretValues
from gitloop.spec.triggers.templates import BindingParam, TriggerBinding, TriggerTemplate, TriggerTemplateSpec
from gitloop.spec.triggers.triggers import BindingRef, Trigger, TriggerSpec


@dataclass(frozen=True)
class ResolvedTrigger:
    """One trigger with its bindings merged into params and its template found."""

    name: str
    interceptors: tuple[Interceptor, ...]
    params: tuple[BindingParam, ...]
    template: TriggerTemplateSpec
    where: Where = field(default_factory=Where, compare=False, repr=False)


@dataclass(frozen=True)
class ResolvedGroup:
    """A trigger group: its interceptors, then the triggers its selector picked."""

    name: str
    interceptors: tuple[Interceptor, ...]
    triggers: tuple[ResolvedTrigger, ...]


@dataclass(frozen=True)
class ResolvedListener:
    """What the webhook handler needs of one EventListener."""

    name: str
    namespace: str = ""
    uid: str = ""
    triggers: tuple[ResolvedTrigger, ...] = ()
    groups: tuple[ResolvedGroup, ...] = ()

    def interceptors(self) -> Iterator[Interceptor]:
        """Every interceptor of every trigger and group."""
        for trigger in self.triggers:
            yield from trigger.interceptors
        for group in self.groups:
            yield from group.interceptors
            for trigger in group.triggers:
                yield from trigger.interceptors

    def secret_refs(self) -> list[SecretRef]:
        """Every secret reference, in order, once each."""
        refs: list[SecretRef] = []
        for interceptor in self.interceptors():
            ref = interceptor.secret_ref if isinstance(interceptor, ProviderInterceptor) else None
            if ref is not None and ref not in refs:
                refs.append(ref)
        return refs


@dataclass(frozen=True)
class Catalog:
    """The named objects a listener's references are looked up in."""

    triggers: Mapping[str, Trigger] = field(default_factory=dict)
    bindings: Mapping[str, TriggerBinding] = field(default_factory=dict)
    cluster_bindings: Mapping[str, TriggerBinding] = field(default_factory=dict)
    templates: Mapping[str, TriggerTemplate] = field(default_factory=dict)


def _known(names: Mapping[str, object]) -> str:
    return ", ".join(sorted(names)) or "none"


def _params(spec: TriggerSpec, catalog: Catalog) -> tuple[BindingParam, ...]:
    params: list[BindingParam] = []
    for binding in spec.bindings:
        if isinstance(binding, BindingRef):
            known = catalog.cluster_bindings if binding.kind == "ClusterTriggerBinding" else catalog.bindings
            found = known.get(binding.ref)
            if found is None:
                raise binding.where.error(f"no {binding.kind} named {binding.ref!r} (known: {_known(known)})")
            added: tuple[BindingParam, ...] = found.params
        else:
            added = (binding,)
        for param in added:
            if any(p.name == param.name for p in params):
                raise binding.where.error(
                    f"duplicate param name {param.name!r}: two bindings of this trigger set it"
                )
            params.append(param)
    return tuple(params)


def _template(spec: TriggerSpec, catalog: Catalog) -> TriggerTemplateSpec:
    if spec.template.spec is not None:
        return spec.template.spec
    found = catalog.templates.get(spec.template.ref)
    if found is None:
        raise spec.template.where.error(
            f"no TriggerTemplate named {spec.template.ref!r} (known: {_known(catalog.templates)})"
        )
    return found.spec


def resolve_trigger(name: str, spec: TriggerSpec, catalog: Catalog, where: Where) -> ResolvedTrigger:
    """``spec`` with its binding and template references followed and its params checked."""
    params = _params(spec, catalog)
    template = _template(spec, catalog)
    bound = {p.name for p in params}
    for referenced in sorted(template.referenced):
        declared = template.param(referenced)
        if referenced not in bound and (declared is None or declared.default is None):
            raise where.error(
                f"TriggerTemplate param {referenced!r} has no default and no binding of this trigger supplies it"
            )
    return ResolvedTrigger(name, spec.interceptors, params, template, where)


def _selected(selector: TriggerSelector, catalog: Catalog) -> list[ResolvedTrigger]:
    if selector.empty:
        return []
    labels = selector.labels
    return [
        resolve_trigger(t.name, t.spec, catalog, Where(str(t.source or ""), f"Trigger/{t.name}", "spec"))
        for t in catalog.triggers.values()
        if labels is None or labels.matches(t.meta.labels)
    ]


def resolve_listener(listener: EventListener, catalog: Catalog) -> ResolvedListener:
    """The triggers and groups of ``listener``; ``SpecError`` at the first reference that does not resolve."""
    triggers = _selected(listener.selector, catalog)
    for item in listener.triggers:
        if item.spec is not None:
            triggers.append(resolve_trigger(item.name, item.spec, catalog, item.where))
            continue
        found = catalog.triggers.get(item.ref)
        if found is None:
            raise item.where.error(f"no Trigger named {item.ref!r} (known: {_known(catalog.triggers)})")
        triggers.append(resolve_trigger(found.name, found.spec, catalog, item.where))
    groups = tuple(
        ResolvedGroup(g.name, g.interceptors, tuple(_selected(g.selector, catalog))) for g in listener.groups
    )
    return ResolvedListener(
        listener.name, listener.meta.namespace, listener.meta.uid, tuple(triggers), groups
    )


def check_secrets(listener: ResolvedListener, secrets: SecretValues) -> None:
    """Raise ``SpecError`` at the first ``secretRef`` whose Secret or key ``secrets`` lacks."""
    for ref in listener.secret_refs():
        if secrets.get(ref.name, ref.key) is None:
            known = ", ".join(secrets.names()) or "none"
            raise ref.where.error(f"{ref} is not available to gitloop (Secrets known: {known})")
