"""What the notifications engine needs from the outside: a ``Service`` that sends one message to one
recipient (the adapters in ``gitloop.notifiers``: webhook, Slack, email), and where the ``.commit`` data
of a message comes from (``CommitFacts``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class Service(Protocol):
    """One configured notification service. ``send`` raises a ``GitloopError`` whose message names the
    service and never a secret; it is retried by the engine."""

    name: str
    type: str
    """``webhook``, ``slack`` or ``email`` (``.serviceType`` in templates)."""
    max_attempts: int
    """Attempts a delivery through this service gets (its ``retries`` + 1)."""

    def send(self, *, title: str, body: str, recipient: str, trigger: str, subject: str) -> None: ...


class CommitFacts(Protocol):
    """The source commit behind an Application's synced revision, for ``.commit``."""

    def __call__(self, app: Mapping[str, Any]) -> Mapping[str, Any]: ...
