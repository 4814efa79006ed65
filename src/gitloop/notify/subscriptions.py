"""Who hears a trigger: Argo CD's subscription annotations on Applications and AppProjects, and the serve
config's default subscriptions (pure).

``notifications.argoproj.io/subscribe.<trigger>.<service>: "r1;r2"`` subscribes the recipients ``r1`` and
``r2`` of ``<service>`` to ``<trigger>``; an empty value means the service's default recipient (``""``).
Recipients are trimmed; empty ones between ``;`` are dropped. The Application's subscriptions, its
AppProject's and the defaults add up; each (service, recipient) hears a trigger once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ANNOTATION_PREFIX = "notifications.argoproj.io/subscribe."


@dataclass(frozen=True)
class Subscription:
    """``recipients`` of ``service`` hear ``trigger`` (``""``: the service's default recipient)."""

    trigger: str
    service: str
    recipients: tuple[str, ...] = ("",)


@dataclass(frozen=True)
class Destination:
    """One place a delivery goes to."""

    service: str
    recipient: str


def split_recipients(value: str) -> tuple[str, ...]:
    """``"a; b;"`` → ``("a", "b")``; nothing → the default recipient ``("",)``."""
    found = tuple(part.strip() for part in value.split(";") if part.strip())
    return found or ("",)


def from_annotations(annotations: Mapping[str, str]) -> list[Subscription]:
    """The subscriptions an object's annotations make. A key that is not ``subscribe.<trigger>.<service>``
    is ignored, as Argo CD ignores it."""
    found: list[Subscription] = []
    for key, value in sorted(annotations.items()):
        if not key.startswith(ANNOTATION_PREFIX):
            continue
        trigger, dot, service = key[len(ANNOTATION_PREFIX) :].partition(".")
        if not dot or not trigger or not service:
            continue
        found.append(Subscription(trigger, service, split_recipients(str(value or ""))))
    return found


def destinations(trigger: str, subscriptions: Iterable[Subscription]) -> list[Destination]:
    """The (service, recipient) pairs subscribed to ``trigger``, in first-seen order, each once."""
    seen: dict[Destination, None] = {}
    for subscription in subscriptions:
        if subscription.trigger != trigger:
            continue
        for recipient in subscription.recipients:
            seen.setdefault(Destination(subscription.service, recipient), None)
    return list(seen)
