"""Accounts against a real SQLite store: create, change, log in, throttle, bootstrap admin."""

from __future__ import annotations

import pytest
from access_parts import CHEAP, FakeClock, clock, store, stored_text

from gitloop.access.accounts import KIND, Account, Accounts, LoginFailed, LoginThrottled
from gitloop.access.throttle import LoginThrottle
from gitloop.errors import AuthError, UsageError
from gitloop.ports import Store

__all__ = ["clock", "store"]
PASSWORD = "correct horse battery"


def accounts_of(store: Store, clock: FakeClock) -> Accounts:
    return Accounts(store, clock=clock, hasher=CHEAP)


def test_create_get_list(store: Store, clock: FakeClock) -> None:
    accounts = accounts_of(store, clock)
    made = accounts.create("bob", PASSWORD)
    assert made == Account("bob", True, True, clock.now, clock.now)
    accounts.create("alice", None, enabled=False)
    assert accounts.get("alice") == Account("alice", False, False, clock.now, None)
    assert accounts.get("carol") is None
    assert [a.name for a in accounts.list()] == ["alice", "bob"]
    assert set(made.to_dict()) == {"name", "enabled", "passwordSet", "created", "passwordChanged"}


@pytest.mark.parametrize(
    ("name", "password", "reason"),
    [("Bob", PASSWORD, "lowercase"), ("role:x", PASSWORD, "reserved"), ("bob", "short", "at least 8")],
)
def test_create_refuses_bad_input(
    store: Store, clock: FakeClock, name: str, password: str, reason: str
) -> None:
    with pytest.raises(UsageError, match=reason):
        accounts_of(store, clock).create(name, password)
    assert store.query(KIND) == []


def test_create_twice_is_refused(store: Store, clock: FakeClock) -> None:
    accounts = accounts_of(store, clock)
    accounts.create("bob", PASSWORD)
    with pytest.raises(UsageError, match="already exists"):
        accounts.create("bob", "another password")
    assert accounts.login("bob", PASSWORD).name == "bob"


def test_store_holds_only_the_hash(store: Store, clock: FakeClock) -> None:
    accounts = accounts_of(store, clock)
    accounts.create("bob", PASSWORD)
    accounts.set_password("bob", "a new password here")
    text = stored_text(store, (KIND,))
    assert PASSWORD not in text and "a new password here" not in text
    assert "$argon2id$" in text
    assert "argon2" not in repr(accounts.get("bob"))


def test_login_and_password_change(store: Store, clock: FakeClock) -> None:
    accounts = accounts_of(store, clock)
    accounts.create("bob", PASSWORD)
    assert accounts.login("bob", PASSWORD).name == "bob"
    clock.advance(5)
    accounts.set_password("bob", "a new password here")
    with pytest.raises(LoginFailed):
        accounts.login("bob", PASSWORD)
    assert accounts.login("bob", "a new password here").password_changed == clock.now


@pytest.mark.parametrize(
    "reason", ["unknown user", "wrong password", "disabled", "no password", "empty name"]
)
def test_login_failures_look_alike(store: Store, clock: FakeClock, reason: str) -> None:
    accounts = accounts_of(store, clock)
    accounts.create("bob", PASSWORD)
    accounts.create("nopass", None)
    accounts.create("off", PASSWORD, enabled=False)
    name, password = {
        "unknown user": ("carol", PASSWORD),
        "wrong password": ("bob", "wrong password"),
        "disabled": ("off", PASSWORD),
        "no password": ("nopass", PASSWORD),
        "empty name": ("", PASSWORD),
    }[reason]
    with pytest.raises(LoginFailed) as caught:
        accounts.login(name, password)
    assert isinstance(caught.value, AuthError)
    assert str(caught.value) == "invalid username or password"


def test_disable_and_enable(store: Store, clock: FakeClock) -> None:
    accounts = accounts_of(store, clock)
    accounts.create("bob", PASSWORD)
    accounts.set_enabled("bob", False)
    with pytest.raises(LoginFailed):
        accounts.login("bob", PASSWORD)
    accounts.set_enabled("bob", True)
    assert accounts.login("bob", PASSWORD).enabled


@pytest.mark.parametrize("change", ["set_password", "set_enabled"])
def test_changing_a_missing_account_is_refused(store: Store, clock: FakeClock, change: str) -> None:
    accounts = accounts_of(store, clock)
    with pytest.raises(UsageError, match="no such account"):
        if change == "set_password":
            accounts.set_password("ghost", PASSWORD)
        else:
            accounts.set_enabled("ghost", False)


def test_throttling_after_five_failures(store: Store, clock: FakeClock) -> None:
    accounts = Accounts(store, clock=clock, hasher=CHEAP, throttle=LoginThrottle(clock=clock))
    accounts.create("bob", PASSWORD)
    for _ in range(5):
        with pytest.raises(LoginFailed):
            accounts.login("bob", "wrong password")
    with pytest.raises(LoginThrottled) as caught:
        accounts.login("bob", PASSWORD)
    assert caught.value.retry_after == pytest.approx(300)
    assert isinstance(caught.value, AuthError)
    clock.advance(300)
    assert accounts.login("bob", PASSWORD).name == "bob"
    with pytest.raises(LoginFailed):
        accounts.login("bob", "wrong password")
    assert accounts.login("bob", PASSWORD).name == "bob", "a success cleared the failures"


def test_login_rehashes_with_new_parameters(store: Store, clock: FakeClock) -> None:
    Accounts(store, clock=clock, hasher=CHEAP).create("bob", PASSWORD)
    before = store.get(KIND, "bob")
    from argon2 import PasswordHasher

    stronger = Accounts(store, clock=clock, hasher=PasswordHasher(time_cost=2, memory_cost=8, parallelism=1))
    stronger.login("bob", PASSWORD)
    after = store.get(KIND, "bob")
    assert before is not None and after is not None
    assert after.doc["passwordHash"] != before.doc["passwordHash"]
    assert "t=2" in str(after.doc["passwordHash"])
    assert stronger.login("bob", PASSWORD).name == "bob"


def test_bootstrap_admin_with_password(store: Store, clock: FakeClock) -> None:
    accounts = accounts_of(store, clock)
    password = accounts.bootstrap_admin(with_password=True)
    assert password and len(password) == 24
    assert accounts.login("admin", password).name == "admin"
    assert accounts.bootstrap_admin(with_password=True) is None
    assert password not in stored_text(store, (KIND,))


def test_bootstrap_admin_without_password(store: Store, clock: FakeClock) -> None:
    accounts = accounts_of(store, clock)
    assert accounts.bootstrap_admin(with_password=False) == ""
    admin = accounts.get("admin")
    assert admin is not None and not admin.has_password
    assert accounts.bootstrap_admin(with_password=False) is None
