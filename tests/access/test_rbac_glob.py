"""Argo CD's RBAC glob (gitloop.access.glob): a table of pattern, text and answer, malformed patterns,
and long inputs that would make a backtracking matcher crawl."""

from __future__ import annotations

import time

import pytest

from gitloop.access.glob import check_glob, glob_match

MATCHES = [
    ("*", "", True),
    ("*", "proj/app", True),
    ("proj/*", "proj/app", True),
    ("proj/*", "proj/ns/app", True),  # * crosses /
    ("proj/*", "other/app", False),
    ("proj/*", "proj", False),
    ("*/app", "a/b/app", True),
    ("action/*", "action/apps/Deployment/restart", True),
    ("action/*", "actions/x", False),
    ("app?", "app1", True),
    ("app?", "app", False),
    ("app?", "app12", False),
    ("[abc]x", "bx", True),
    ("[abc]x", "dx", False),
    ("[a-c]x", "cx", True),
    ("[!a]x", "ax", False),
    ("[!a]x", "bx", True),
    ("[!a-c]x", "dx", True),
    ("{dev,staging}/*", "staging/web", True),
    ("{dev,staging}/*", "prod/web", False),
    ("team-{a,b{1,2}}", "team-b2", True),
    ("team-{a,b{1,2}}", "team-b", False),
    ("get", "get", True),
    ("get", "GET", False),
    ("get", "gets", False),
    ("a.b", "axb", False),  # no regex meaning leaks
    ("a+", "aa", False),
    ("a\\*", "a*", True),
    ("a\\*", "ab", False),
    ("*a*b*c", "xxaxxbxxc", True),
    ("*a*b*c", "xxaxxcxxb", False),
    ("**", "a/b", True),
]


@pytest.mark.parametrize(("pattern", "text", "expected"), MATCHES)
def test_glob_table(pattern: str, text: str, expected: bool) -> None:
    assert glob_match(pattern, text) is expected


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("[abc", "not closed"),
        ("{a,b", "not closed"),
        ("a}", "closes no"),
        ("a]", "closes no"),
        ("[z-a]", "reversed"),
        ("a\\", "escapes nothing"),
        ("{" + ",".join("abcdefghijklmnopq") + "}" * 1 + "{" + ",".join("abcdefghijklmnopq") + "}", "256"),
    ],
)
def test_malformed_globs(pattern: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_glob(pattern)


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("*a*a*a*a*a*a*a*b", "a" * 20_000, False),
        ("*a*a*a*a*a*a*a*a", "a" * 20_000, True),
        ("*?*?*?*?*?*?*x", "y" * 20_000, False),
        ("{a,b}*{c,d}*{e,f}*z", "abcdef" * 3_000, False),
    ],
)
def test_long_inputs_are_quick(pattern: str, text: str, expected: bool) -> None:
    started = time.perf_counter()
    assert glob_match(pattern, text) is expected
    assert time.perf_counter() - started < 0.5
