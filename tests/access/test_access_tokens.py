"""Tokens against a real SQLite store: issue, authenticate, expiry, revocation, scope, last use."""

from __future__ import annotations

import pytest
from access_parts import FakeClock, clock, store, stored_text

from gitloop.access.tokens import KIND, USE_KIND, TokenInfo, Tokens, scope_permits, validate_scope
from gitloop.errors import UsageError
from gitloop.ports import Store

__all__ = ["clock", "store"]


def test_issue_and_authenticate(store: Store, clock: FakeClock) -> None:
    tokens = Tokens(store, clock=clock)
    info, token = tokens.issue(
        "alice", kind="api", expires_in=3600, scope=("applications:sync",), description="ci"
    )
    assert token.startswith(f"gitloop_{info.id}_")
    assert len(info.id) == 16 and int(info.id, 16) >= 0
    found = tokens.authenticate(token)
    assert found is not None
    assert (found.id, found.subject, found.kind, found.scope) == (
        info.id,
        "alice",
        "api",
        ("applications:sync",),
    )
    assert found.expires == clock.now + 3600
    record = store.get(KIND, info.id)
    assert record is not None and record.labels == {"subject": "alice", "kind": "api"}


def test_store_holds_no_secret(store: Store, clock: FakeClock) -> None:
    tokens = Tokens(store, clock=clock)
    issued = [tokens.issue("alice", kind=k, expires_in=60, scope=()) for k in ("session", "api")]
    issued.append(tokens.issue("proj:web:ci", kind="project", expires_in=None))
    for _, token in issued:
        assert tokens.authenticate(token) is not None
    text = stored_text(store, (KIND, USE_KIND))
    for info, token in issued:
        secret = token.removeprefix(f"gitloop_{info.id}_")
        assert len(secret) == 43
        assert token not in text and secret not in text
        assert secret not in repr(info) and secret not in repr(info.to_dict())


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: "",
        lambda t: "gitloop_",
        lambda t: t[:-1],
        lambda t: t + "A",
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: t.replace("gitloop_", "gitlop_"),
        lambda t: t.upper(),
        lambda t: "gitloop_0123456789abcdef_" + t[-43:],
        lambda t: f"Bearer {t}",
        lambda t: t + "\n",
    ],
)
def test_malformed_or_wrong_tokens_are_refused(store: Store, clock: FakeClock, mangle: object) -> None:
    tokens = Tokens(store, clock=clock)
    _, token = tokens.issue("alice", kind="api", expires_in=None)
    assert callable(mangle)
    assert tokens.authenticate(mangle(token)) is None
    assert tokens.authenticate(token) is not None


def test_expiry(store: Store, clock: FakeClock) -> None:
    tokens = Tokens(store, clock=clock)
    api, api_token = tokens.issue("alice", kind="api", expires_in=100)
    session, session_token = tokens.issue("alice", kind="session", expires_in=100)
    clock.advance(99)
    assert tokens.authenticate(api_token) is not None
    assert tokens.authenticate(session_token) is not None
    clock.advance(1)
    assert tokens.authenticate(api_token) is None
    assert tokens.authenticate(session_token) is None
    assert store.get(KIND, session.id) is None, "an expired session token is deleted when seen"
    assert [t.id for t in tokens.list(subject="alice")] == [api.id], "an expired API token stays listed"


def test_list_deletes_expired_sessions_and_filters_kinds(store: Store, clock: FakeClock) -> None:
    tokens = Tokens(store, clock=clock)
    session, _ = tokens.issue("alice", kind="session", expires_in=10)
    clock.advance(1)
    api, _ = tokens.issue("alice", kind="api", expires_in=None)
    clock.advance(1)
    other, _ = tokens.issue("bob", kind="api", expires_in=None)
    clock.advance(1)
    project, _ = tokens.issue("proj:web:ci", kind="project", expires_in=None)
    assert [t.id for t in tokens.list()] == [api.id, other.id, project.id]
    assert [t.id for t in tokens.list(subject="alice", kinds=("session", "api"))] == [session.id, api.id]
    clock.advance(7)
    assert [t.id for t in tokens.list(subject="alice", kinds=("session",))] == []
    assert store.get(KIND, session.id) is None


def test_revoke(store: Store, clock: FakeClock) -> None:
    tokens = Tokens(store, clock=clock)
    info, token = tokens.issue("alice", kind="api", expires_in=None)
    assert tokens.revoke(info.id, subject="bob") is False
    assert tokens.authenticate(token) is not None
    assert tokens.revoke(info.id, subject="alice") is True
    assert tokens.authenticate(token) is None
    assert tokens.revoke(info.id) is False


def test_a_late_last_use_write_cannot_bring_a_revoked_token_back(store: Store, clock: FakeClock) -> None:
    tokens = Tokens(store, clock=clock)
    info, token = tokens.issue("alice", kind="api", expires_in=None)
    assert tokens.authenticate(token) is not None
    assert store.get(USE_KIND, info.id) is not None
    assert tokens.revoke(info.id)
    assert store.get(USE_KIND, info.id) is None, "revoking forgets the last use too"
    store.put(USE_KIND, info.id, {"lastUsed": clock.now})  # an authenticate racing the revoke
    assert tokens.authenticate(token) is None
    assert tokens.get(info.id) is None and tokens.list() == []


def test_revoke_subject(store: Store, clock: FakeClock) -> None:
    tokens = Tokens(store, clock=clock)
    alice = [tokens.issue("alice", kind=k, expires_in=None)[1] for k in ("api", "session", "api")]
    _, bob = tokens.issue("bob", kind="api", expires_in=None)
    assert tokens.revoke_subject("alice") == 3
    assert all(tokens.authenticate(t) is None for t in alice)
    assert tokens.authenticate(bob) is not None


def test_last_use_is_written_at_most_once_a_minute(store: Store, clock: FakeClock) -> None:
    tokens = Tokens(store, clock=clock)
    info, token = tokens.issue("alice", kind="api", expires_in=None)
    assert tokens.list()[0].last_used is None
    first = clock.now
    tokens.authenticate(token)
    updated = store.get(USE_KIND, info.id)
    assert updated is not None
    clock.advance(30)
    seen = tokens.authenticate(token)
    assert seen is not None and seen.last_used == first
    again = store.get(USE_KIND, info.id)
    assert again is not None and again.updated == updated.updated, "no write within the minute"
    clock.advance(30)
    seen = tokens.authenticate(token)
    assert seen is not None and seen.last_used == first + 60
    assert tokens.list()[0].last_used == first + 60


@pytest.mark.parametrize(
    ("subject", "kind", "expires_in", "scope", "reason"),
    [
        ("alice", "robot", None, (), "token kind"),
        ("Alice", "api", None, (), "account name"),
        ("alice", "project", None, (), "proj:<project>:<role>"),
        ("proj:web", "project", None, (), "proj:<project>:<role>"),
        ("proj:web:ci", "api", None, (), "reserved"),
        ("alice", "api", 0, (), "positive"),
        ("alice", "api", -5, (), "positive"),
        ("alice", "api", None, ("applications",), "resource:action"),
        ("alice", "api", None, ("applications:",), "resource:action"),
        ("alice", "api", None, (":sync",), "resource:action"),
        ("alice", "api", None, ("apps :sync",), "resource:action"),
        ("alice", "api", None, ("apps:sync\n",), "resource:action"),
        ("proj:web:ci\n", "project", None, (), "proj:<project>:<role>"),
    ],
)
def test_issue_refuses_bad_input(
    store: Store,
    clock: FakeClock,
    subject: str,
    kind: str,
    expires_in: float | None,
    scope: tuple[str, ...],
    reason: str,
) -> None:
    with pytest.raises(UsageError, match=reason):
        Tokens(store, clock=clock).issue(subject, kind=kind, expires_in=expires_in, scope=scope)
    assert store.query(KIND) == []


@pytest.mark.parametrize(
    ("scope", "resource", "action", "allowed"),
    [
        ((), "applications", "delete", True),
        (("applications:sync",), "applications", "sync", True),
        (("applications:sync",), "applications", "delete", False),
        (("applications:sync",), "projects", "sync", False),
        (("applications:*",), "applications", "delete", True),
        (("*:get",), "clusters", "get", True),
        (("*:get",), "clusters", "update", False),
        (("pipelineruns:create", "applications:get"), "applications", "get", True),
        (("applications:action/*",), "applications", "action/apps/Deployment/restart", True),
    ],
)
def test_scope(scope: tuple[str, ...], resource: str, action: str, allowed: bool) -> None:
    assert scope_permits(validate_scope(scope), resource, action) is allowed
    info = TokenInfo(id="0" * 16, subject="a", kind="api", issued=0.0, expires=None, scope=scope)
    assert info.permits(resource, action) is allowed


def test_to_dict_uses_rfc3339() -> None:
    info = TokenInfo(
        id="00ff" * 4,
        subject="alice",
        kind="api",
        issued=0.0,
        expires=86400.0,
        scope=("a:b",),
        last_used=None,
    )
    assert info.to_dict() == {
        "id": "00ff" * 4,
        "subject": "alice",
        "kind": "api",
        "issued": "1970-01-01T00:00:00Z",
        "expires": "1970-01-02T00:00:00Z",
        "scope": ["a:b"],
        "description": "",
        "lastUsed": None,
    }
