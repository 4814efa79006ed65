"""Passwords: Argon2id hashes, the length rules, generated passwords."""

from __future__ import annotations

import pytest
from access_parts import CHEAP
from argon2 import PasswordHasher

from gitloop.access.passwords import (
    check_password,
    generate_password,
    hash_password,
    needs_rehash,
    verify_password,
)
from gitloop.errors import UsageError


def test_hash_is_argon2id_and_verifies() -> None:
    hashed = hash_password("correct horse", hasher=CHEAP)
    assert hashed.startswith("$argon2id$")
    assert "correct horse" not in hashed
    assert verify_password(hashed, "correct horse", hasher=CHEAP)


@pytest.mark.parametrize(
    ("hashed", "password"),
    [
        (hash_password("correct horse", hasher=CHEAP), "wrong horse"),
        (hash_password("correct horse", hasher=CHEAP), ""),
        (hash_password("correct horse", hasher=CHEAP), "x" * 2000),
        ("not-a-hash", "correct horse"),
        ("", "correct horse"),
        ("$argon2id$v=19$m=8,t=1,p=1$broken", "correct horse"),
    ],
)
def test_verify_is_false_never_an_error(hashed: str, password: str) -> None:
    assert verify_password(hashed, password, hasher=CHEAP) is False


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("", "at least 8"),
        ("short12", "at least 8"),
        ("é" * 600, "at most 1024 bytes"),
        ("x" * 1025, "at most 1024"),
    ],
)
def test_password_rules_never_quote_the_password(password: str, rule: str) -> None:
    with pytest.raises(UsageError, match=rule) as caught:
        hash_password(password, hasher=CHEAP)
    if password:
        assert password[:7] not in str(caught.value)


@pytest.mark.parametrize("password", ["12345678", "x" * 1024, "pässwörd"])
def test_password_rules_accept(password: str) -> None:
    assert check_password(password) == password


def test_needs_rehash_when_parameters_change() -> None:
    hashed = hash_password("correct horse", hasher=CHEAP)
    assert not needs_rehash(hashed, hasher=CHEAP)
    assert needs_rehash(hashed, hasher=PasswordHasher(time_cost=2, memory_cost=8, parallelism=1))
    assert needs_rehash("garbage", hasher=CHEAP)


def test_generated_passwords_are_long_random_and_valid() -> None:
    made = {generate_password() for _ in range(20)}
    assert len(made) == 20
    for password in made:
        assert len(password) == 24
        assert check_password(password) == password
