"""Authentication: every way a credential becomes a principal, or is refused."""

from __future__ import annotations

import pytest
from access_parts import CHEAP, FakeClock, clock, store

from gitloop.access.accounts import Accounts
from gitloop.access.authn import Authenticator, Principal
from gitloop.access.tokens import Tokens
from gitloop.ports import Store

__all__ = ["clock", "store"]
LEGACY = b"legacy-api-token-value"


@pytest.mark.parametrize(
    ("anonymous", "credential", "expected"),
    [
        (True, None, Principal(subject="", kind="anonymous")),
        (True, "", Principal(subject="", kind="anonymous")),
        (False, None, None),
        (False, "", None),
        (True, "gitloop_0123456789abcdef_" + "A" * 43, None),
        (True, "not a token", None),
        (False, LEGACY.decode(), Principal(subject="admin", kind="apiTokenFile")),
        (True, LEGACY.decode() + "x", None),
    ],
)
def test_credentials_without_tokens(
    store: Store, clock: FakeClock, anonymous: bool, credential: str | None, expected: Principal | None
) -> None:
    authn = Authenticator(
        Accounts(store, clock=clock, hasher=CHEAP),
        Tokens(store, clock=clock),
        anonymous=anonymous,
        legacy_token=LEGACY,
    )
    assert authn.principal(credential) == expected


def test_legacy_token_only_when_configured(store: Store, clock: FakeClock) -> None:
    authn = Authenticator(
        Accounts(store, clock=clock, hasher=CHEAP), Tokens(store, clock=clock), anonymous=False
    )
    assert authn.principal(LEGACY.decode()) is None


@pytest.mark.parametrize("kind", ["session", "api"])
@pytest.mark.parametrize(
    ("account_state", "accepted"), [("enabled", True), ("disabled", False), ("missing", False)]
)
def test_account_tokens_follow_their_account(
    store: Store, clock: FakeClock, kind: str, account_state: str, accepted: bool
) -> None:
    accounts = Accounts(store, clock=clock, hasher=CHEAP)
    tokens = Tokens(store, clock=clock)
    if account_state != "missing":
        accounts.create("bob", None, enabled=account_state == "enabled")
    info, token = tokens.issue("bob", kind=kind, expires_in=3600, scope=("applications:get",))
    principal = Authenticator(accounts, tokens, anonymous=True).principal(token)
    if accepted:
        assert principal == Principal(subject="bob", kind=kind, token_id=info.id, scope=("applications:get",))
        assert not principal.anonymous
        assert principal.permits("applications", "get") and not principal.permits("applications", "sync")
    else:
        assert principal is None, "a bad token never falls back to anonymous"


def test_project_token_is_its_role(store: Store, clock: FakeClock) -> None:
    accounts = Accounts(store, clock=clock, hasher=CHEAP)
    tokens = Tokens(store, clock=clock)
    info, token = tokens.issue("proj:web:ci", kind="project", expires_in=None)
    principal = Authenticator(accounts, tokens, anonymous=False).principal(token)
    assert principal == Principal(subject="proj:web:ci", kind="project", token_id=info.id)
    assert principal.permits("applications", "sync")


def test_expired_and_revoked_tokens_are_refused(store: Store, clock: FakeClock) -> None:
    accounts = Accounts(store, clock=clock, hasher=CHEAP)
    accounts.create("bob", None)
    tokens = Tokens(store, clock=clock)
    authn = Authenticator(accounts, tokens, anonymous=True)
    _, expiring = tokens.issue("bob", kind="api", expires_in=10)
    revoked_info, revoked = tokens.issue("bob", kind="api", expires_in=None)
    assert authn.principal(expiring) is not None and authn.principal(revoked) is not None
    clock.advance(10)
    tokens.revoke(revoked_info.id)
    assert authn.principal(expiring) is None
    assert authn.principal(revoked) is None


def test_anonymous_principal() -> None:
    principal = Principal(subject="", kind="anonymous")
    assert principal.anonymous
    assert principal.permits("applications", "delete")
