"""Deliveries on a real SQLite store: the backoff, the state machine, once-only creation and attempts,
and the engine from an Application's state to a message a real HTTP receiver gets — retried, never twice,
and still pending (then sent) after a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from notify_receivers import HttpReceiver, serve_http

from gitloop.notifiers import open_service
from gitloop.notify import Notifications
from gitloop.notify.deliveries import FAILED, PENDING, SENT, Delivery, DeliveryBook, after_attempt, backoff
from gitloop.spec.serve_notifications import DefaultSubscription, NotificationsConfig, ServiceConfig
from gitloop.store.sql import SqlStore, open_store

ANNOTATION = "notifications.argoproj.io/subscribe."


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("attempt", "delay"), [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (10, 300.0), (0, 1.0)]
)
def test_backoff(attempt: int, delay: float) -> None:
    assert backoff(attempt) == delay


def pending(**kwargs: Any) -> Delivery:
    fields: dict[str, Any] = {
        "id": "d",
        "trigger": "on-deployed",
        "subject": "a",
        "service": "s",
        "recipient": "",
        "title": "t",
        "body": "b",
        "max_attempts": 3,
    }
    return Delivery(**{**fields, **kwargs})


@pytest.mark.parametrize(
    ("before", "error", "state", "attempts", "next_at"),
    [
        (pending(), None, SENT, 1, 0.0),
        (pending(), "HTTP 500", PENDING, 1, 11.0),
        (pending(attempts=1), "HTTP 500", PENDING, 2, 12.0),
        (pending(attempts=2), "HTTP 500", FAILED, 3, 0.0),
        (pending(attempts=2), None, SENT, 3, 0.0),
    ],
)
def test_state_machine(
    before: Delivery, error: str | None, state: str, attempts: int, next_at: float
) -> None:
    after = after_attempt(before, error=error, now=10.0)
    assert (after.state, after.attempts, after.next_attempt_at) == (state, attempts, next_at)
    assert after.last_error == (error or "")


def test_a_finished_delivery_is_not_attempted_again() -> None:
    with pytest.raises(ValueError, match="is sent"):
        after_attempt(pending(state=SENT), error=None, now=0.0)


def test_errors_are_kept_redacted() -> None:
    after = after_attempt(pending(), error="could not reach https://bot:hunter22@hooks.example/x", now=0)
    assert "hunter22" not in after.last_error


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    opened = open_store(str(tmp_path / "gitloop.db"))
    yield opened
    opened.close()


def test_book_creates_and_claims_once(store: SqlStore) -> None:
    book = DeliveryBook(store, Clock())
    assert book.create(pending(next_attempt_at=5.0))
    assert not book.create(pending(title="again"))
    assert book.get("d") == pending(next_attempt_at=5.0)
    assert [d.id for d in book.due(5.0)] == ["d"] and book.due(4.0) == []
    assert book.next_due() == 5.0
    delivery = book.due(5.0)[0]
    assert book.claim_attempt(delivery) and not book.claim_attempt(delivery)


def shaped(phase: str, revision: str = "c1", health: str = "Healthy") -> dict[str, Any]:
    return {
        "metadata": {
            "name": "guestbook",
            "annotations": {
                ANNOTATION + "on-deployed.hook": "",
                ANNOTATION + "on-sync-failed.hook": "oncall",
            },
        },
        "spec": {"project": "default"},
        "status": {
            "health": {"status": health},
            "sync": {"status": "Synced", "revision": revision},
            "operationState": {"phase": phase, "message": "boom", "syncResult": {"revision": revision}},
        },
    }


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    yield from serve_http(HttpReceiver(statuses=[500, 200]))


def make(store: SqlStore, receiver: HttpReceiver, clock: Clock) -> Notifications:
    services = {"hook": open_service(ServiceConfig("hook", "webhook", url=receiver.url, retries=2))}
    config = NotificationsConfig(
        services={"hook": ServiceConfig("hook", "webhook", url=receiver.url, retries=2)},
        default_subscriptions=(DefaultSubscription(("on-sync-succeeded",), (("hook", "team"),)),),
    )
    return Notifications(store, services, config, url="http://127.0.0.1:8080", clock=clock)


def test_engine_delivers_once_with_retry_and_survives_restart(
    store: SqlStore, receiver: HttpReceiver
) -> None:
    clock = Clock()
    engine = make(store, receiver, clock)
    made = engine.app_changed(shaped("Succeeded"), commit={"sha": "abc", "leadTimeSeconds": 7})
    assert sorted(d.trigger for d in made) == ["on-deployed", "on-sync-succeeded"]
    deployed = next(d for d in made if d.trigger == "on-deployed")
    assert (
        "Lead time: 7s." in deployed.body and "http://127.0.0.1:8080/applications/guestbook" in deployed.body
    )
    assert engine.app_changed(shaped("Succeeded")) == []  # the same state again: nothing new
    first = engine.send_due()
    assert {d.state for d in first} == {PENDING, SENT}  # the receiver answers 500 once
    assert engine.send_due() == []  # the retry waits for its backoff
    clock.now += 1.0
    restarted = make(store, receiver, clock)  # a new process on the same store
    assert restarted.app_changed(shaped("Succeeded")) == []
    assert [d.state for d in restarted.send_due()] == [SENT]
    bodies = [r.json() for r in receiver.requests]
    assert sorted(b["trigger"] for b in bodies) == ["on-deployed", "on-deployed", "on-sync-succeeded"]
    assert {b["recipient"] for b in bodies if b["trigger"] == "on-sync-succeeded"} == {"team"}


def test_condition_without_once_per_sends_again_only_after_it_cleared(
    store: SqlStore, receiver: HttpReceiver
) -> None:
    clock = Clock()
    engine = make(store, receiver, clock)
    assert [d.trigger for d in engine.app_changed(shaped("Failed"))] == ["on-sync-failed"]
    assert engine.app_changed(shaped("Failed")) == []
    assert make(store, receiver, clock).app_changed(shaped("Failed")) == []  # remembered across a restart
    engine.app_changed(shaped("Running"))
    clock.now += 5
    again = engine.app_changed(shaped("Failed"))
    assert [(d.trigger, d.recipient) for d in again] == [("on-sync-failed", "oncall")]


def test_deployed_once_per_revision(store: SqlStore, receiver: HttpReceiver) -> None:
    engine = make(store, receiver, Clock())
    triggers = [
        d.trigger
        for s in (shaped("Succeeded"), shaped("Succeeded", "c2"), shaped("Succeeded"))
        for d in engine.app_changed(s)
        if d.trigger == "on-deployed"
    ]
    assert triggers == ["on-deployed", "on-deployed"]


def test_a_delivery_that_keeps_failing_ends_failed(store: SqlStore) -> None:
    for running in serve_http(HttpReceiver(statuses=[502])):
        clock = Clock()
        engine = make(store, running, clock)
        engine.app_changed(shaped("Running", health="Progressing"))
        engine.app_changed(shaped("Failed", health="Progressing"))
        states = []
        for _ in range(3):
            states += [d.state for d in engine.send_due()]
            clock.now += 10
        assert states == [PENDING, PENDING, FAILED]
        (failed,) = engine.book.listed(FAILED)
        assert failed.attempts == 3 and "HTTP 502" in failed.last_error
        assert len(running.requests) == 3


def test_a_condition_that_holds_writes_nothing_more(store: SqlStore, receiver: HttpReceiver) -> None:
    """A delivery made once is neither rendered nor claimed again while its condition holds, also by a
    new process on the same store."""
    clock = Clock()
    (made,) = [
        d for d in make(store, receiver, clock).app_changed(shaped("Succeeded")) if d.trigger == "on-deployed"
    ]
    engine = make(store, receiver, clock)
    for _ in range(3):
        engine.app_changed(shaped("Succeeded"))
    assert len(store.history(f"notify/{made.id}")) == 1
