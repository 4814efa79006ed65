"""Argo CD's subscription annotations and how destinations add up."""

from __future__ import annotations

import pytest

from gitloop.notify.subscriptions import Destination, Subscription, destinations, from_annotations

P = "notifications.argoproj.io/subscribe."


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        ({P + "on-deployed.slack": "dev;ops"}, [Subscription("on-deployed", "slack", ("dev", "ops"))]),
        ({P + "on-deployed.slack": ""}, [Subscription("on-deployed", "slack", ("",))]),
        ({P + "on-deployed.slack": " a ; ;b; "}, [Subscription("on-deployed", "slack", ("a", "b"))]),
        ({P + "on-sync-failed.my-hook": "x"}, [Subscription("on-sync-failed", "my-hook", ("x",))]),
        ({P + "on-deployed": "x"}, []),
        ({P + ".slack": "x"}, []),
        ({"notifications.argoproj.io/other": "x", "team": "a"}, []),
    ],
)
def test_annotations(annotations: dict[str, str], expected: list[Subscription]) -> None:
    assert from_annotations(annotations) == expected


def test_destinations_add_up_once_each() -> None:
    found = [
        Subscription("on-deployed", "slack", ("dev",)),
        Subscription("on-sync-failed", "slack", ("ops",)),
        Subscription("on-deployed", "slack", ("dev", "")),
        Subscription("on-deployed", "mail", ("a@example.com",)),
    ]
    assert destinations("on-deployed", found) == [
        Destination("slack", "dev"),
        Destination("slack", ""),
        Destination("mail", "a@example.com"),
    ]
    assert destinations("on-created", found) == []
