"""The promotion triggers (``on-promotion-awaiting-approval``, ``on-promotion-succeeded``) through the
notifications engine on a real SQLite store to a real local HTTP receiver: each fires once per promotion,
for the Application promoted into, with the promotion in its message."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitloop.notifiers import open_service
from gitloop.notify import Notifications
from gitloop.notify.triggers import CATALOG, PROMOTION, Event, decide
from gitloop.spec.serve_notifications import TRIGGER_NAMES, NotificationsConfig, ServiceConfig
from gitloop.store.sql import SqlStore, open_store

sys.path.insert(0, str(Path(__file__).parents[1] / "notify"))  # the notification tests' receivers
from notify_receivers import HttpReceiver, serve_http

SUBSCRIBE = "notifications.argoproj.io/subscribe."
APP = {
    "metadata": {
        "name": "web-prod",
        "annotations": {
            f"{SUBSCRIBE}on-promotion-awaiting-approval.hook": "release",
            f"{SUBSCRIBE}on-promotion-succeeded.hook": "",
        },
    },
    "spec": {},
    "status": {},
}


def promotion(state: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": "web-prod-0123456-abcdef",
        "chain": "web",
        "from": "staging",
        "to": "prod",
        "application": "web-prod",
        "sourceCommit": "0123456789abcdef0123456789abcdef01234567",
        "images": ["registry.local/web:0123456"],
        "state": state,
        "message": "waiting for approval",
        "approvals": [],
        "configCommit": "",
        **extra,
    }


@pytest.mark.parametrize(
    ("state", "fired"),
    [
        ("Pending", []),
        ("WaitingApproval", ["on-promotion-awaiting-approval"]),
        ("Promoting", []),
        ("Succeeded", ["on-promotion-succeeded"]),
        ("Rejected", []),
        ("Failed", []),
    ],
)
def test_which_state_fires_which_trigger(state: str, fired: list[str]) -> None:
    event = Event(PROMOTION, APP, promotion=promotion(state))
    sent = [
        t.name
        for t in CATALOG.values()
        if t.kind == PROMOTION and decide(t, event, was_active=False, episode=0).send
    ]
    assert sent == fired
    assert event.subject == "web-prod-0123456-abcdef"


def test_the_triggers_are_in_the_serve_config_vocabulary() -> None:
    assert {"on-promotion-awaiting-approval", "on-promotion-succeeded"} <= set(TRIGGER_NAMES)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    opened = open_store(str(tmp_path / "gitloop.db"))
    yield opened
    opened.close()


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    yield from serve_http(HttpReceiver())


def test_each_fires_once_per_promotion_to_the_receiver(store: SqlStore, receiver: HttpReceiver) -> None:
    config = NotificationsConfig(services={"hook": ServiceConfig("hook", "webhook", url=receiver.url)})
    engine = Notifications(
        store, {"hook": open_service(config.services["hook"])}, config, url="https://g.example"
    )
    commit = {"sha": "0123456789abcdef0123456789abcdef01234567", "author": "Alice <alice@example.com>"}
    waiting = engine.promotion_changed(promotion("WaitingApproval"), app=APP, commit=commit)
    assert [(d.trigger, d.recipient) for d in waiting] == [("on-promotion-awaiting-approval", "release")]
    assert engine.promotion_changed(promotion("WaitingApproval"), app=APP, commit=commit) == []
    done = promotion("Succeeded", configCommit="f" * 40, approvals=[{"user": "carol"}, {"user": "dave"}])
    assert [d.trigger for d in engine.promotion_changed(done, app=APP, commit=commit)] == [
        "on-promotion-succeeded"
    ]
    assert engine.promotion_changed(done, app=APP, commit=commit) == []
    engine.send_due()
    bodies = {r.json()["trigger"]: r.json() for r in receiver.wait_for(2)}
    awaiting = bodies["on-promotion-awaiting-approval"]
    assert awaiting["title"] == "Promotion web-prod-0123456-abcdef to prod waits for approval."
    assert "- registry.local/web:0123456" in awaiting["body"]
    assert "by Alice <alice@example.com>" in awaiting["body"]
    assert "gitloop approve web-prod-0123456-abcdef" in awaiting["body"]
    succeeded = bodies["on-promotion-succeeded"]["body"]
    assert f"in config commit {'f' * 40}" in succeeded and "Approved by: carol dave." in succeeded
    assert len(receiver.requests) == 2
