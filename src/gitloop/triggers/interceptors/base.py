"""What an interceptor sees and what it decides.

An interceptor returns a ``Verdict``: ``continue`` (with any extensions it adds), or a reason to stop this
trigger: ``filtered`` (the event is not one the trigger wants), ``unauthenticated`` (a signature or token
is missing or wrong), ``failed`` (evaluating the event failed, e.g. a CEL overlay on a missing field) or
``misconfigured`` (gitloop cannot run the check as configured, e.g. a Secret it lacks). Messages never
contain a secret, a signature or a header value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from gitloop.spec.triggers import SecretRef, SecretValues
from gitloop.triggers.event import IncomingEvent
from gitloop.triggers.interceptors.cel_values import to_cel

Status = Literal["continue", "filtered", "unauthenticated", "failed", "misconfigured"]


@dataclass(frozen=True)
class Verdict:
    status: Status
    message: str = ""
    extensions: Mapping[str, Any] = field(default_factory=dict)

    @property
    def proceeds(self) -> bool:
        return self.status == "continue"


CONTINUE = Verdict("continue")


@dataclass(frozen=True)
class EventView:
    """One event as every interceptor of every trigger reads it; derived forms are computed once."""

    event: IncomingEvent
    body: Mapping[str, Any]
    event_id: str = ""

    @cached_property
    def cel_body(self) -> Any:
        """The body as CEL values (built on first use, shared by all CEL interceptors)."""
        return to_cel(self.body)

    @cached_property
    def cel_header(self) -> Any:
        """The headers as CEL's ``map(string, list(string))``, names canonical."""
        return to_cel({name: list(values) for name, values in self.event.headers.items()})


@dataclass(frozen=True)
class InterceptorInput:
    """The event, the Secrets, and the extensions the interceptors before this one added."""

    view: EventView
    secrets: SecretValues
    extensions: Mapping[str, Any] = field(default_factory=dict)


def secret_value(ref: SecretRef, secrets: SecretValues) -> bytes | Verdict:
    """The value ``ref`` names, or the ``misconfigured`` verdict saying it is missing or empty.

    An empty secret is refused: an HMAC keyed with nothing, or an empty token, would let anyone through.
    """
    value = secrets.get(ref.name, ref.key)
    if value is None:
        return Verdict("misconfigured", f"{ref} is not available to gitloop")
    if not value:
        return Verdict("misconfigured", f"{ref} is empty")
    return value
