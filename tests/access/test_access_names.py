"""Account names: Argo CD's local user name rules."""

from __future__ import annotations

import pytest

from gitloop.access.names import validate_username
from gitloop.errors import UsageError


@pytest.mark.parametrize("name", ["admin", "alice", "a", "bob-2", "ci.bot", "x_y", "0day", "a" * 63])
def test_valid_names_pass(name: str) -> None:
    assert validate_username(name) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty"),
        ("Alice", "lowercase"),
        ("-alice", "starting and ending"),
        ("alice-", "starting and ending"),
        ("a" * 64, "at most 63"),
        ("proj:web:ci", "reserved"),
        ("role:admin", "reserved"),
        ("a:b", "colon"),
        ("a,b", "comma"),
        ("a b", "space"),
        ("al/ice", "lowercase letters"),
        ("ålice", "lowercase letters"),
        ("alice\n", "lowercase letters"),
    ],
)
def test_invalid_names_name_the_rule(name: str, reason: str) -> None:
    with pytest.raises(UsageError, match=reason) as caught:
        validate_username(name)
    if name:
        assert repr(name) in str(caught.value)
