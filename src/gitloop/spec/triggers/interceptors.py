"""Interceptors of a Trigger or TriggerGroup: the built-in ``github``, ``gitlab``, ``bitbucket`` and ``cel``.

The ``v1beta1`` form names a ClusterInterceptor and passes params::

    - ref: {name: github}
      params:
      - {name: secretRef, value: {secretName: github-secret, secretKey: token}}
      - {name: eventTypes, value: [push]}

``v1alpha1`` also has the older inline forms (``github: {secretRef, eventTypes}``, ``cel: {filter,
overlays}``, ...), read into the same objects. Webhook interceptors, namespaced ``Interceptor`` objects and
custom ClusterInterceptors call services gitloop does not run, so they are errors; so are the GitHub
interceptor's ``addChangedFiles`` and ``githubOwners``, which call the GitHub API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from gitloop.spec.fields import Node, type_name
from gitloop.spec.triggers.common import V1ALPHA1, SecretRef, Where, parse_secret_ref, where

Provider = Literal["github", "gitlab", "bitbucket"]
PROVIDERS: tuple[Provider, ...] = ("github", "gitlab", "bitbucket")
BUILT_IN = (*PROVIDERS, "cel")
_PROVIDER_PARAMS = {
    "github": ("secretRef", "eventTypes", "addChangedFiles", "githubOwners"),
    "gitlab": ("secretRef", "eventTypes"),
    "bitbucket": ("secretRef", "eventTypes"),
}
_CEL_PARAMS = ("filter", "overlays")
_UNSUPPORTED = (
    "gitloop runs the built-in ClusterInterceptors github, gitlab, bitbucket and cel; "
    "webhook, namespaced and custom interceptors are not supported"
)


@dataclass(frozen=True)
class ProviderInterceptor:
    """A ``github``, ``gitlab`` or ``bitbucket`` interceptor: a signature or token check and an event filter.

    ``event_types`` is ``None`` when the param is absent (every event passes) and ``()`` when it is an
    empty list (no event passes), as in Tekton.
    """

    provider: Provider
    name: str = ""
    secret_ref: SecretRef | None = None
    event_types: tuple[str, ...] | None = None
    where: Where = field(default_factory=Where, compare=False, repr=False)


@dataclass(frozen=True)
class Overlay:
    """One CEL overlay: ``expression``'s value is set at ``key`` (a dotted path) under ``extensions``."""

    key: str
    expression: str
    where: Where = field(default_factory=Where, compare=False, repr=False)


@dataclass(frozen=True)
class CelInterceptor:
    """A ``cel`` interceptor: a ``filter`` that must be true, then ``overlays`` added to ``extensions``."""

    name: str = ""
    filter: str = ""
    overlays: tuple[Overlay, ...] = ()
    where: Where = field(default_factory=Where, compare=False, repr=False)
    """Where the filter is (or the interceptor, without one)."""


Interceptor: TypeAlias = ProviderInterceptor | CelInterceptor


def parse_interceptors(parent: Node, api_version: str, key: str = "interceptors") -> tuple[Interceptor, ...]:
    """The interceptors list of a Trigger, an EventListener trigger or a TriggerGroup."""
    return tuple(_interceptor(item, api_version) for item in parent.items(key))


def _interceptor(item: Node, api_version: str) -> Interceptor:
    legacy = ("github", "gitlab", "cel", "bitbucket") if api_version == V1ALPHA1 else ()
    hint = (
        {}
        if legacy
        else dict.fromkeys(BUILT_IN, "the inline form is v1alpha1; use ref: {name: ...} with params")
    )
    item.require_map().only(("name", "ref", "params", "webhook", *legacy), hint)
    name = item.string("name")
    if item.has("webhook"):
        raise item.field("webhook").error(_UNSUPPORTED)
    inline = [k for k in legacy if item.has(k)]
    if len(inline) > 1 or (inline and (item.has("ref") or item.has("params"))):
        raise item.error(f"expected exactly one of ref, {', '.join(legacy)}")
    if inline:
        kind = inline[0]
        body = item.field(kind).require_map()
        body.only(_CEL_PARAMS if kind == "cel" else ("secretRef", "eventTypes"))
        return _build(kind, name, {k: n for k, n in body.entries() if n.value is not None}, item)
    ref = item.child("ref")
    if ref is None:
        raise item.error("required field is missing", "ref")
    ref.require_map().only(("name", "kind", "apiVersion"))
    kind = ref.string("name", required=True)
    ref_kind = ref.string("kind", default="ClusterInterceptor")
    if ref_kind != "ClusterInterceptor" or kind not in BUILT_IN:
        raise ref.error(f"unknown interceptor {ref_kind}/{kind}: {_UNSUPPORTED}")
    allowed: tuple[str, ...] = _CEL_PARAMS if kind == "cel" else _PROVIDER_PARAMS[kind]
    params: dict[str, Node] = {}
    for param in item.items("params"):
        param.require_map().only(("name", "value"))
        param_name = param.string("name", required=True)
        if param_name not in allowed:
            raise param.field("name").error(
                f"unknown param {param_name!r} of the {kind} interceptor; expected one of {', '.join(allowed)}"
            )
        if param_name in params:
            raise param.field("name").error(f"param {param_name!r} appears more than once")
        if param.child("value") is None:
            raise param.error("required field is missing", "value")
        params[param_name] = param.field("value")
    return _build(kind, name, params, item)


def _build(kind: str, name: str, params: dict[str, Node], item: Node) -> Interceptor:
    if kind == "cel":
        return _cel(name, params, item)
    provider = next(p for p in PROVIDERS if p == kind)
    for feature in ("addChangedFiles", "githubOwners"):
        node = params.get(feature)
        if node is not None and node.require_map().boolean("enabled"):
            raise node.error(
                f"{feature} calls the GitHub API, which gitloop's github interceptor does not do"
            )
    secret = params.get("secretRef")
    types = params.get("eventTypes")
    return ProviderInterceptor(
        provider,
        name,
        parse_secret_ref(secret) if secret is not None else None,
        _strings(types) if types is not None else None,
        where(item),
    )


def _strings(node: Node) -> tuple[str, ...]:
    if not isinstance(node.value, list):
        raise node.error(f"must be a list of strings, got {type_name(node.value)}")
    return tuple(item.as_str() for item in node.items())


def _cel(name: str, params: dict[str, Node], item: Node) -> CelInterceptor:
    filter_node = params.get("filter")
    filter_text = filter_node.as_str() if filter_node is not None else ""
    overlays: list[Overlay] = []
    overlays_node = params.get("overlays")
    if overlays_node is not None:
        if not isinstance(overlays_node.value, list):
            raise overlays_node.error(
                f"must be a list of key/expression pairs, got {type_name(overlays_node.value)}"
            )
        for overlay in overlays_node.items():
            overlay.require_map().only(("key", "expression"))
            overlays.append(
                Overlay(
                    overlay.string("key", required=True),
                    overlay.string("expression", required=True),
                    where(overlay.field("expression")),
                )
            )
    return CelInterceptor(name, filter_text, tuple(overlays), where(filter_node or item))
