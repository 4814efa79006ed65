"""The notifications engine composed: an event (an Application's status, a PipelineRun's end) → the
triggers that fire (``triggers.decide``) → the subscribed destinations (``subscriptions``) → one rendered
delivery each (``templates``), kept pending in the store (``deliveries``); ``send_due`` makes the attempts
through the ``Service`` ports. The only module that wires the engine's parts.

The "condition held at the previous event" memory of a trigger without ``oncePer`` is kept in the store
(kind ``NotificationCondition``, ``<trigger>/<subject>``), as Argo CD keeps it in an annotation, so a
restart does not send again what was sent for a condition that still holds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from gitloop.errors import GitloopError, SpecError
from gitloop.notify import subscriptions as subs
from gitloop.notify.deliveries import FAILED, Delivery, DeliveryBook, after_attempt, delivery_id
from gitloop.notify.ports import Service
from gitloop.notify.templates import DEFAULTS, Message, MessageTemplate, render
from gitloop.notify.triggers import APP, CATALOG, PROMOTION, RUN, Event, Trigger, decide
from gitloop.ports import Store
from gitloop.spec.serve_notifications import NotificationsConfig

CONDITION_KIND = "NotificationCondition"

log = logging.getLogger(__name__)


def message_templates(config: NotificationsConfig) -> dict[str, MessageTemplate]:
    """The built-in templates with the config's titles and bodies in their place."""
    found = dict(DEFAULTS)
    for trigger, override in config.templates.items():
        base = found[trigger]
        found[trigger] = MessageTemplate(
            base.title if override.title is None else override.title,
            base.body if override.body is None else override.body,
        )
    return found


def default_subscriptions(config: NotificationsConfig) -> list[subs.Subscription]:
    """The config's ``defaultSubscriptions`` as subscriptions (one per trigger and service)."""
    found: list[subs.Subscription] = []
    for entry in config.default_subscriptions:
        for trigger in entry.triggers:
            by_service: dict[str, list[str]] = {}
            for service, recipient in entry.recipients:
                by_service.setdefault(service, []).append(recipient)
            found += [subs.Subscription(trigger, s, tuple(r)) for s, r in by_service.items()]
    return found


class Notifications:
    """Deliveries made from events and sent through ``services``. Safe to call from several threads."""

    def __init__(
        self,
        store: Store,
        services: Mapping[str, Service],
        config: NotificationsConfig,
        *,
        url: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.book = DeliveryBook(store, clock)
        self._store = store
        self._services = dict(services)
        self._templates = message_templates(config)
        self._defaults = default_subscriptions(config)
        self._url = config.url or url.rstrip("/")
        self._clock = clock
        self._active: dict[str, tuple[bool, float]] = {}
        self._made_ids: set[str] = set()
        """Deliveries known to exist: not rendered or read again (an id is a few dozen bytes)."""
        self._lock = threading.Lock()

    # -- making deliveries ------------------------------------------------------------------------

    def app_changed(
        self,
        app: Mapping[str, Any],
        *,
        project_annotations: Mapping[str, str] | None = None,
        commit: Mapping[str, Any] | None = None,
    ) -> list[Delivery]:
        """The deliveries an Application's (Argo CD-shaped) current state makes."""
        event = Event(APP, app)
        return self._made(event, self._subscriptions(app, project_annotations), commit or {})

    def run_ended(
        self,
        run: Mapping[str, Any],
        *,
        app: Mapping[str, Any] | None = None,
        project_annotations: Mapping[str, str] | None = None,
        commit: Mapping[str, Any] | None = None,
    ) -> list[Delivery]:
        """The deliveries a PipelineRun that ended makes (``app``: the Application it ran for, if any)."""
        event = Event(RUN, app or {}, run)
        return self._made(event, self._subscriptions(app or {}, project_annotations), commit or {})

    def promotion_changed(
        self,
        promotion: Mapping[str, Any],
        *,
        app: Mapping[str, Any] | None = None,
        project_annotations: Mapping[str, str] | None = None,
        commit: Mapping[str, Any] | None = None,
    ) -> list[Delivery]:
        """The deliveries a promotion's new state makes (``app``: the Application it promotes into)."""
        event = Event(PROMOTION, app or {}, promotion=promotion)
        return self._made(event, self._subscriptions(app or {}, project_annotations), commit or {})

    def _subscriptions(
        self, app: Mapping[str, Any], project_annotations: Mapping[str, str] | None
    ) -> list[subs.Subscription]:
        metadata = app.get("metadata") if isinstance(app.get("metadata"), Mapping) else {}
        annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
        own = subs.from_annotations(annotations if isinstance(annotations, Mapping) else {})
        return [*own, *subs.from_annotations(project_annotations or {}), *self._defaults]

    def _made(
        self, event: Event, found: list[subs.Subscription], commit: Mapping[str, Any]
    ) -> list[Delivery]:
        made: list[Delivery] = []
        for trigger in CATALOG.values():
            if trigger.kind != event.kind:
                continue
            destinations = subs.destinations(trigger.name, found)
            if not destinations:
                continue
            key = self._decided_key(trigger, event)
            if key:
                made += self._deliveries(trigger, event, key, destinations, commit)
        return made

    def _decided_key(self, trigger: Trigger, event: Event) -> str:
        """The once-key of a send ``trigger`` makes now (``""``: none), remembering the condition."""
        subject = event.subject
        if not subject:
            return ""
        name = f"{trigger.name}/{subject}"
        now = self._clock()
        with self._lock:
            was, since = self._condition(name)
            decision = decide(trigger, event, was_active=was, episode=since if was else now)
            if trigger.once_per is None and decision.active != was:
                self._active[name] = (decision.active, now)
                self._store.put(CONDITION_KIND, name, {"active": decision.active, "since": now})
        return decision.key if decision.send else ""

    def _condition(self, name: str) -> tuple[bool, float]:
        if name not in self._active:
            found = self._store.get(CONDITION_KIND, name)
            doc = found.doc if found is not None else {}
            self._active[name] = (bool(doc.get("active")), float(str(doc.get("since") or 0.0)))
        return self._active[name]

    def _deliveries(
        self,
        trigger: Trigger,
        event: Event,
        key: str,
        destinations: Iterable[subs.Destination],
        commit: Mapping[str, Any],
    ) -> list[Delivery]:
        subject = event.subject
        made: list[Delivery] = []
        now = self._clock()
        for destination in destinations:
            service = self._services.get(destination.service)
            if service is None:
                log.warning(
                    "%s: %s names no configured notifications service %r",
                    subject,
                    trigger.name,
                    destination.service,
                )
                continue
            full_key = f"{key}|{destination.service}|{destination.recipient}"
            name = delivery_id(full_key, subject, trigger.name)
            if name in self._made_ids or self.book.exists(name):
                self._made_ids.add(name)
                continue
            delivery = Delivery(
                id=name,
                trigger=trigger.name,
                subject=subject,
                service=destination.service,
                recipient=destination.recipient,
                title="",
                body="",
                once_per=key.split("|", 2)[2],
                max_attempts=service.max_attempts,
                next_attempt_at=now,
                created_at=now,
            )
            try:
                message = self._render(trigger.name, event, service.type, commit)
            except SpecError as exc:
                delivery = replace(delivery, state=FAILED, last_error=str(exc)[:500])
            else:
                delivery = replace(delivery, title=message.title, body=message.body)
            if self.book.create(delivery):
                made.append(delivery)
            self._made_ids.add(name)
        return made

    def _render(self, trigger: str, event: Event, service_type: str, commit: Mapping[str, Any]) -> Message:
        data: dict[str, Any] = {
            "app": dict(event.app),
            "context": {"argocdUrl": self._url, "notificationType": trigger},
            "commit": {"sha": "", "author": "", "message": "", "leadTimeSeconds": "", **commit},
            "serviceType": service_type,
        }
        if event.run is not None:
            data["pipelineRun"] = dict(event.run)
        if event.promotion is not None:
            data["promotion"] = dict(event.promotion)
        return render(trigger, self._templates[trigger], data)

    # -- sending ----------------------------------------------------------------------------------

    def next_due(self) -> float | None:
        return self.book.next_due()

    def send_due(self) -> list[Delivery]:
        """Attempt every pending delivery that is due; the deliveries after their attempt."""
        done: list[Delivery] = []
        for delivery in self.book.due(self._clock()):
            if not self.book.claim_attempt(delivery):
                continue  # another worker makes this attempt
            done.append(self.attempt(delivery))
        return done

    def attempt(self, delivery: Delivery) -> Delivery:
        """One attempt at ``delivery``, recorded."""
        service = self._services.get(delivery.service)
        error: str | None = None
        if service is None:
            error = f"notifications service {delivery.service!r} is no longer configured"
        else:
            try:
                service.send(
                    title=delivery.title,
                    body=delivery.body,
                    recipient=delivery.recipient,
                    trigger=delivery.trigger,
                    subject=delivery.subject,
                )
            except GitloopError as exc:
                error = str(exc)
        after = after_attempt(delivery, error=error, now=self._clock())
        self.book.put(after)
        if error is None:
            log.info("%s: %s sent to %s", delivery.subject, delivery.trigger, delivery.service)
        else:
            log.warning(
                "%s: %s to %s, attempt %d: %s",
                delivery.subject,
                delivery.trigger,
                delivery.service,
                after.attempts,
                after.last_error,
            )
        return after
