"""Push events: parsing ``post-receive`` input, building GitHub-shaped payloads, signing them."""

from __future__ import annotations

import json

import pytest

from gitloop.localinfra.pushevent import (
    MAX_COMMITS,
    Commit,
    Person,
    PushEvent,
    RefUpdate,
    RepoRef,
    is_zero,
    parse_name_status,
    parse_updates,
    signature,
)

ZERO = "0" * 40
A, B = "a" * 40, "b" * 40
REPO = RepoRef("app", "gitloop/app", "http://127.0.0.1:8080/app.git")


def _commit(sha: str, message: str = "msg") -> Commit:
    person = Person("Ann", "ann@example.invalid")
    return Commit(sha, message, "2024-05-01T12:00:00+02:00", person, person, "t" * 40, ("new",), (), ("old",))


def test_signature_matches_githubs_documented_example() -> None:
    # https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
    assert signature(b"Hello, World!", "It's a Secret to Everybody") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )
    assert signature(b"Hello, World!", "another secret") != signature(
        b"Hello, World!", "It's a Secret to Everybody"
    )


@pytest.mark.parametrize(
    ("sha", "zero"),
    [(ZERO, True), ("0" * 64, True), (A, False), ("", False), ("00a0", False)],
)
def test_is_zero(sha: str, zero: bool) -> None:
    assert is_zero(sha) is zero


def test_parse_updates() -> None:
    text = f"{ZERO} {A} refs/heads/main\n\n{A} {B} refs/tags/v1\n{B} {ZERO} refs/heads/gone\n"
    updates = parse_updates(text)
    assert updates == [
        RefUpdate(ZERO, A, "refs/heads/main"),
        RefUpdate(A, B, "refs/tags/v1"),
        RefUpdate(B, ZERO, "refs/heads/gone"),
    ]
    assert [(u.created, u.deleted) for u in updates] == [(True, False), (False, False), (False, True)]
    with pytest.raises(ValueError, match="not a post-receive line"):
        parse_updates("just two\n")


@pytest.mark.parametrize(
    ("relative", "name", "full_name", "clone_url"),
    [
        ("app.git", "app", "gitloop/app", "http://h:1/app.git"),
        ("team/app.git", "app", "team/app", "http://h:1/team/app.git"),
        ("/team/app.git/", "app", "team/app", "http://h:1/team/app.git"),
    ],
)
def test_repo_ref_from_path(relative: str, name: str, full_name: str, clone_url: str) -> None:
    ref = RepoRef.from_path(relative, "http://h:1/")
    assert (ref.name, ref.full_name, ref.clone_url) == (name, full_name, clone_url)
    assert ref.html_url == clone_url.removesuffix(".git")


def test_push_event_for_a_new_branch() -> None:
    first, second = _commit(A, "first"), _commit(B, "second\n\nbody")
    event = PushEvent(RefUpdate(ZERO, B, "refs/heads/main"), REPO, "alice", [first, second], second).to_json()
    assert (event["ref"], event["before"], event["after"]) == ("refs/heads/main", ZERO, B)
    assert (event["created"], event["deleted"], event["forced"]) == (True, False, False)
    assert event["repository"]["name"] == "app"
    assert event["repository"]["full_name"] == "gitloop/app"
    assert event["repository"]["clone_url"] == REPO.clone_url
    assert event["repository"]["owner"]["login"] == "gitloop"
    assert [c["id"] for c in event["commits"]] == [A, B]
    head = event["head_commit"]
    assert head["id"] == B
    assert head["message"] == "second\n\nbody"
    assert head["timestamp"] == "2024-05-01T12:00:00+02:00"
    assert head["author"] == {"name": "Ann", "email": "ann@example.invalid", "username": "Ann"}
    assert (head["added"], head["removed"], head["modified"]) == (["new"], [], ["old"])
    assert event["pusher"]["name"] == "alice"
    assert event["sender"]["login"] == "alice"


def test_push_event_for_a_deleted_branch_has_no_head() -> None:
    event = PushEvent(RefUpdate(A, ZERO, "refs/heads/gone"), REPO, "bob").to_json()
    assert event["deleted"] is True
    assert event["head_commit"] is None
    assert event["commits"] == []


def test_push_event_lists_at_most_the_newest_commits() -> None:
    commits = [_commit(f"{i:040x}") for i in range(MAX_COMMITS + 5)]
    event = PushEvent(
        RefUpdate(A, B, "refs/heads/main"), REPO, "x", commits, commits[-1], forced=True
    ).to_json()
    assert [c["id"] for c in event["commits"]] == [c.id for c in commits[-MAX_COMMITS:]]
    assert event["forced"] is True


def test_push_event_body_is_compact_utf8_json() -> None:
    event = PushEvent(RefUpdate(ZERO, A, "refs/heads/main"), REPO, "zoë", [_commit(A, "ünïcode")], _commit(A))
    body = event.body()
    assert json.loads(body) == event.to_json()
    assert "zoë".encode() in body
    assert b"\n" not in body.replace(b"\\n", b"")


@pytest.mark.parametrize(
    ("raw", "added", "removed", "modified"),
    [
        ("", (), (), ()),
        ("A\0new.txt\0", ("new.txt",), (), ()),
        ("D\0old.txt\0M\0mod.txt\0T\0link\0", (), ("old.txt",), ("mod.txt", "link")),
        ("R100\0from.txt\0to.txt\0", ("to.txt",), ("from.txt",), ()),
        ("C075\0orig.txt\0copy.txt\0", ("copy.txt",), (), ()),
        ("A\0with space/and\nnewline\0", ("with space/and\nnewline",), (), ()),
        ("M\0", (), (), ()),
    ],
)
def test_parse_name_status(
    raw: str, added: tuple[str, ...], removed: tuple[str, ...], modified: tuple[str, ...]
) -> None:
    assert parse_name_status(raw) == (added, removed, modified)
