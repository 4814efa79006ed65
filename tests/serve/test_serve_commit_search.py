"""A source commit's message and author: read from GitHub, GitLab and Gitea push payloads (one file per
case under testdata/pushes), kept by the lineage in a real SQLite store (old records without them still
load), searched by ``GET /api/v1/changes?q=`` and printed by ``gitloop trace``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_fakes import FakeApps, FakeLauncher, listeners, open_access

from gitloop.api.app import create_app
from gitloop.api.timelines import matches
from gitloop.cli.trace import render
from gitloop.handoff import CommitContext, render_message
from gitloop.lineage import Lineage, SourcePush
from gitloop.lineage.records import MESSAGE_LIMIT, SOURCE_KIND, owner
from gitloop.ports import Store
from gitloop.service.server import Server
from gitloop.service.server.pushhooks import source_push
from gitloop.triggers import parse_payload

PUSHES = Path(__file__).parent / "testdata" / "pushes"
GITHUB, GITLAB, GITEA = "1" * 40, "2" * 40, "3" * 40
HOSTILE, TRAILER_ONLY, OLD = "4" * 40, "6" * 40, "7" * 40


def _payload(name: str) -> SourcePush | None:
    return source_push(parse_payload((PUSHES / f"{name}.json").read_bytes(), 64))


@pytest.mark.parametrize(
    ("case", "commit", "message", "author", "email"),
    [
        (
            "github-head-commit",
            GITHUB,
            "Fix the checkout total\n\nRounding was off by a cent for basket discounts.",
            "Grace Hopper",
            "grace@example.com",
        ),
        ("gitlab-commits", GITLAB, "Bump the invoice template", "Ada Lovelace", "ada@example.com"),
        ("gitea-commits", GITEA, "Speed up the search index", "Linus", "linus@example.com"),
        (
            "github-hostile-text",
            HOSTILE,
            "[31m<script>alert(1)</script>\nsecond line",
            "Mallory]0;title",
            "",
        ),
        ("gitea-no-commits", "5" * 40, "", "", ""),
    ],
)
def test_a_push_payload_names_its_commits_message_and_author(
    case: str, commit: str, message: str, author: str, email: str
) -> None:
    found = _payload(case)
    assert found is not None and found.commit == commit
    assert (found.message, found.author_name, found.author_email) == (message, author, email)


def test_a_message_is_bounded_plain_text() -> None:
    long = SourcePush.of("a" * 40, message="x" * (MESSAGE_LIMIT * 3), author_name=["not", "text"])
    assert len(long.message) == MESSAGE_LIMIT and long.author_name == ""
    assert long.commit_facts() == {"message": "x" * MESSAGE_LIMIT}
    assert SourcePush.of("a" * 40, message=None).commit_facts() == {}


def _config_message(source: str) -> str:
    context = CommitContext(
        image="registry.local/shop:v9",
        image_name="shop",
        file="dev/shop.yaml",
        branch="main",
        source_commit=source,
        pipelinerun=None,
    )
    return render_message(None, context)


@pytest.fixture
def lineage(store: Store) -> Lineage:
    recorded = Lineage(store)
    for at, case in enumerate(
        ("github-head-commit", "gitlab-commits", "gitea-commits", "github-hostile-text")
    ):
        push = _payload(case)
        assert push is not None
        recorded.record_push(push, runs=[], listener="l", event_id=f"e{at}", received=100.0 + at)
    # a source commit first known from a config commit's trailer: no message, nothing fetched
    recorded.record_config_commit(
        "c" * 40, _config_message(TRAILER_ONLY), repo="http://git/cfg.git", committed=200.0, via="webhook"
    )
    # a record written before messages were kept
    store.put(SOURCE_KIND, OLD, {"commit": OLD, "repo": "http://git/old.git", "ref": "", "firstSeen": 50.0})
    store.append_history(owner(OLD), {"hop": "push", "time": 50.0, "commit": OLD, "repo": "", "ref": "r"})
    return recorded


def test_the_lineage_keeps_them_and_old_records_still_load(lineage: Lineage, store: Store) -> None:
    github = lineage.trace(GITHUB[:8])
    assert github.title == "Fix the checkout total" and github.author_email == "grace@example.com"
    assert github.to_dict()["message"] == "Fix the checkout total"
    assert github.to_dict()["fullMessage"].endswith("basket discounts.")
    index = store.get(SOURCE_KIND, GITLAB)
    assert index is not None and index.doc["authorName"] == "Ada Lovelace"
    for empty in (TRAILER_ONLY, OLD):
        found = lineage.trace(empty).to_dict()
        assert (found["message"], found["author"], found["authorEmail"]) == ("", "", "")
    # the push of a commit first indexed from a trailer adds what it carries to the index
    lineage.record_push(
        SourcePush.of(TRAILER_ONLY, "http://git/shop.git", "refs/heads/main", message="Late push\nbody"),
        runs=[],
        listener="l",
        event_id="late",
        received=300.0,
    )
    late = store.get(SOURCE_KIND, TRAILER_ONLY)
    assert late is not None and late.doc["message"] == "Late push\nbody"
    assert late.doc["repo"] == "http://git/shop.git" and late.labels == {"repo": "http://git/shop.git"}
    assert lineage.trace(TRAILER_ONLY).title == "Late push"


def test_the_trace_printer_shows_author_and_message(lineage: Lineage) -> None:
    text = render(lineage.trace(GITHUB))
    assert "Author: Grace Hopper <grace@example.com>" in text
    assert "    Fix the checkout total\n\n    Rounding was off" in text
    hostile = render(lineage.trace(HOSTILE))
    assert "\x1b" not in hostile and "\x07" not in hostile and "Author: Mallory]0;title\n" in hostile
    assert "Author" not in render(lineage.trace(OLD))


@pytest.fixture
def api(lineage: Lineage, store: Store, launcher: FakeLauncher) -> Iterator[TestClient]:
    server = Server(store, listeners(launcher), lineage, FakeApps({}), access_control=open_access(store))
    with TestClient(create_app(server), raise_server_exceptions=False) as client:
        yield client


def test_the_commit_search_matches_message_and_author(api: TestClient) -> None:
    def found(q: str) -> list[str]:
        answer = api.get("/api/v1/changes", params={"q": q})
        assert answer.status_code == 200, answer.text
        return sorted(c["sourceCommit"] for c in answer.json()["items"])

    assert found("CHECKOUT total") == found("basket discount") == [GITHUB]  # the body too
    assert found("ada lovelace") == found("ADA@example") == [GITLAB]
    assert found("linus@") == found("3333") == [GITEA]
    assert found("<script>") == [HOSTILE]
    assert found("shop:v9") == [TRAILER_ONLY]  # the image tag
    assert found("grace hopper lovelace") == []
    items = {c["sourceCommit"]: c for c in api.get("/api/v1/changes").json()["items"]}
    assert set(items) == {GITHUB, GITLAB, GITEA, HOSTILE, TRAILER_ONLY, OLD}
    github = items[GITHUB]
    assert (github["message"], github["author"], github["authorEmail"]) == (
        "Fix the checkout total",
        "Grace Hopper",
        "grace@example.com",
    )
    assert (items[OLD]["message"], items[OLD]["author"]) == ("", "")
    change = api.get(f"/api/v1/changes/{GITLAB[:10]}").json()
    assert (change["message"], change["author"], change["fullMessage"]) == (
        "Bump the invoice template",
        "Ada Lovelace",
        "Bump the invoice template",
    )


def test_matching_reads_the_whole_message_when_given() -> None:
    summary = {"sourceCommit": "a" * 40, "message": "Title only", "authorEmail": "x@example.com"}
    assert matches(summary, "title") and matches(summary, "X@EXAMPLE")
    assert not matches(summary, "deeper") and matches(summary, "deeper", "Title only\n\nDeeper text")
