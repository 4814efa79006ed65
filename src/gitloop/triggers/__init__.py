"""Tekton Triggers for webhooks, pure: interceptors, bindings, templates and the request handler.

The server calls ``handle(IncomingEvent.of(headers, body, url=...), listener, secrets=..., deliveries=...)``
and creates the ``Outcome.created_resources`` when the status is 202. ``check_listener`` is for start-up:
it fails on a CEL expression that does not compile or a ``secretRef`` the Secrets lack.
"""

from __future__ import annotations

from gitloop.spec.triggers import ResolvedListener, SecretValues, check_secrets
from gitloop.triggers.bindings import BindingError, event_document, find_expressions, resolve_params
from gitloop.triggers.deliveries import DeliveryLog, MemoryDeliveryLog
from gitloop.triggers.event import (
    CREDENTIAL_HEADERS,
    DELIVERY_HEADERS,
    Headers,
    IncomingEvent,
    PayloadError,
    canonical_header_key,
    parse_payload,
)
from gitloop.triggers.interceptors import cel
from gitloop.triggers.listener import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_JSON_DEPTH,
    Ids,
    Limits,
    Outcome,
    TriggerResult,
    handle,
)
from gitloop.triggers.templates import EVENT_ID_LABEL, LISTENER_LABEL, TRIGGER_LABEL, add_labels, render


def check_listener(listener: ResolvedListener, secrets: SecretValues | None = None) -> None:
    """Raise ``SpecError`` at the first invalid CEL expression, or ``secretRef`` ``secrets`` lacks."""
    cel.check_listener(listener)
    if secrets is not None:
        check_secrets(listener, secrets)


__all__ = [
    "CREDENTIAL_HEADERS",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_JSON_DEPTH",
    "DELIVERY_HEADERS",
    "EVENT_ID_LABEL",
    "LISTENER_LABEL",
    "TRIGGER_LABEL",
    "BindingError",
    "DeliveryLog",
    "Headers",
    "Ids",
    "IncomingEvent",
    "Limits",
    "MemoryDeliveryLog",
    "Outcome",
    "PayloadError",
    "TriggerResult",
    "add_labels",
    "canonical_header_key",
    "check_listener",
    "event_document",
    "find_expressions",
    "handle",
    "parse_payload",
    "render",
    "resolve_params",
]
