"""The audit trail against a real SQLite store: recording, filters, redaction."""

from __future__ import annotations

import pytest
from access_parts import FakeClock, clock, store, stored_text

from gitloop.access.audit import OWNER, AuditEntry, AuditLog, redact_details
from gitloop.ports import Store

__all__ = ["clock", "store"]
TOKEN = "gitloop_0123456789abcdef_" + "s" * 43


def test_record_and_read(store: Store, clock: FakeClock) -> None:
    audit = AuditLog(store, clock=clock)
    audit.record(user="alice", action="login", object="", source="127.0.0.1")
    clock.advance(1)
    audit.record(
        user="bob", action="applications.sync", object="default/web", outcome="denied", details={"n": 3}
    )
    entries = audit.entries()
    assert [(e.user, e.action, e.object, e.outcome) for e in entries] == [
        ("alice", "login", "", "ok"),
        ("bob", "applications.sync", "default/web", "denied"),
    ]
    assert entries[1].details == {"n": "3"}
    assert list(entries[0].to_dict()) == [
        "id",
        "time",
        "user",
        "action",
        "object",
        "source",
        "outcome",
        "details",
    ]
    assert entries[0].to_dict()["time"] == "2027-01-15T08:00:00Z"
    assert len(store.history(OWNER)) == 2


@pytest.mark.parametrize(
    ("since", "user", "limit", "expected"),
    [
        (None, None, None, ["a0", "b1", "a2", "b3"]),
        (None, "alice", None, ["a0", "a2"]),
        (2.0, None, None, ["a2", "b3"]),
        (2.5, None, None, ["b3"]),
        (1.0, "bob", None, ["b1", "b3"]),
        (None, None, 3, ["b1", "a2", "b3"]),
        (None, "alice", 1, ["a2"]),
        (None, None, 0, []),
        (10.0, None, None, []),
    ],
)
def test_filters(
    store: Store,
    clock: FakeClock,
    since: float | None,
    user: str | None,
    limit: int | None,
    expected: list[str],
) -> None:
    start = clock.now
    audit = AuditLog(store, clock=clock)
    for i, who in enumerate(["alice", "bob", "alice", "bob"]):
        audit.record(user=who, action="x", object=f"{who[0]}{i}")
        clock.advance(1)
    found = audit.entries(since=None if since is None else start + since, user=user, limit=limit)
    assert [e.object for e in found] == expected


def test_negative_limit_is_refused(store: Store, clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="negative"):
        AuditLog(store, clock=clock).entries(limit=-1)


@pytest.mark.parametrize(
    ("details", "expected"),
    [
        ({"password": "hunter2!"}, {"password": "***"}),
        ({"newPassword": "x"}, {"newPassword": "***"}),
        ({"Token": "abc"}, {"Token": "***"}),
        ({"clientSecret": "abc"}, {"clientSecret": "***"}),
        ({"note": f"used {TOKEN} here"}, {"note": "***"}),
        ({"repo": "https://me:pw123@git.example/r.git"}, {"repo": "https://me:***@git.example/r.git"}),
        ({"app": "web", "count": 2}, {"app": "web", "count": "2"}),
        (None, {}),
    ],
)
def test_redaction(details: dict[str, object] | None, expected: dict[str, str]) -> None:
    assert redact_details(details) == expected


def test_no_secret_reaches_the_store(store: Store, clock: FakeClock) -> None:
    audit = AuditLog(store, clock=clock)
    audit.record(
        user="alice",
        action="accounts.token.create",
        object=TOKEN,
        details={"token": TOKEN, "password": "hunter2!", "why": f"Bearer {TOKEN}"},
    )
    text = stored_text(store, ())
    assert TOKEN not in text and "hunter2!" not in text
    entry = audit.entries()[0]
    assert entry == AuditEntry(
        id=entry.id,
        time=clock.now,
        user="alice",
        action="accounts.token.create",
        object="***",
        source="",
        outcome="ok",
        details={"token": "***", "password": "***", "why": "***"},
    )
