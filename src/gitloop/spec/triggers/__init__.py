"""Tekton Triggers (``triggers.tekton.dev/v1beta1``) read into frozen dataclasses and checked when loaded.

``load(paths)`` and ``parse_text(text)`` return a ``TriggerSet``; ``TriggerSet.listener(name)`` follows a
listener's references into a ``ResolvedListener``, the input of ``gitloop.triggers.handle``. Anything
invalid raises ``SpecError`` naming ``file:line``, ``Kind/name`` and the field path. Secret values live
only in ``SecretValues``, whose ``repr`` shows Secret names and nothing else.
"""

from __future__ import annotations

from gitloop.spec.triggers.common import LabelSelector, Requirement, SecretRef, Where
from gitloop.spec.triggers.documents import TriggerSet, collect, load, parse_document, parse_text
from gitloop.spec.triggers.interceptors import (
    CelInterceptor,
    Interceptor,
    Overlay,
    Provider,
    ProviderInterceptor,
)
from gitloop.spec.triggers.listener import EventListener, ListenerTrigger, TriggerGroup, TriggerSelector
from gitloop.spec.triggers.resolve import (
    Catalog,
    ResolvedGroup,
    ResolvedListener,
    ResolvedTrigger,
    check_secrets,
    resolve_listener,
    resolve_trigger,
)
from gitloop.spec.triggers.secrets import SecretValues
from gitloop.spec.triggers.templates import (
    BindingParam,
    TemplateParam,
    TriggerBinding,
    TriggerTemplate,
    TriggerTemplateSpec,
)
from gitloop.spec.triggers.triggers import Binding, BindingRef, TemplateRef, Trigger, TriggerSpec

__all__ = [
    "Binding",
    "BindingParam",
    "BindingRef",
    "Catalog",
    "CelInterceptor",
    "EventListener",
    "Interceptor",
    "LabelSelector",
    "ListenerTrigger",
    "Overlay",
    "Provider",
    "ProviderInterceptor",
    "Requirement",
    "ResolvedGroup",
    "ResolvedListener",
    "ResolvedTrigger",
    "SecretRef",
    "SecretValues",
    "TemplateParam",
    "TemplateRef",
    "Trigger",
    "TriggerBinding",
    "TriggerGroup",
    "TriggerSelector",
    "TriggerSet",
    "TriggerSpec",
    "TriggerTemplate",
    "TriggerTemplateSpec",
    "Where",
    "check_secrets",
    "collect",
    "load",
    "parse_document",
    "parse_text",
    "resolve_listener",
    "resolve_trigger",
]
