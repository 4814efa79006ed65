"""``gitloop app rollback --revert`` against an HTTP server with canned answers: the body it sends
(gitloop's ``"revert": true``), what it prints, the server's refusal passed on, and the flags it
refuses before asking anything."""

from __future__ import annotations

from typing import Any

import pytest
from test_app_client import Canned, api, app_json, gitloop  # noqa: F401 - api is the fixture

from gitloop.cli import app_output

PATH = "/api/v1/applications/web/rollback"
REVERTED, REVERT = "2" * 40, "3" * 40


def _answer(commit: str | None) -> dict[str, Any]:
    done = {
        "status": "committed" if commit else "unchanged",
        "commit": commit,
        "revertOf": REVERTED,
        "subject": "web v2",
        "sourceCommit": None,
        "repository": "https://git.example/r.git",
        "branch": "main",
        "path": "k8s",
        "base": "1" * 40,
        "attempts": 1,
        "pushed": bool(commit),
    }
    return {**app_json("web"), "revert": done}


def test_it_asks_for_a_revert_and_prints_the_commit(api: Canned) -> None:  # noqa: F811
    api.on("PUT", PATH, (200, _answer(REVERT)))
    result = gitloop(api, "rollback", "web", "--revert")
    assert result.exit_code == 0, result.output
    assert [s.body for s in api.seen] == [{"revert": True}]
    assert result.output.splitlines() == [
        f'Reverted {REVERTED[:12]} "web v2": commit {REVERT[:12]} on main of https://git.example/r.git',
        "web: Synced (abcdef0), Healthy",
    ]


def test_a_conflict_is_the_servers_message(api: Canned) -> None:  # noqa: F811
    message = f"reverting config commit {REVERTED[:12]} conflicts with later changes in: k8s/a.yaml"
    api.on("PUT", PATH, (409, {"error": message, "code": 9, "message": message}))
    result = gitloop(api, "rollback", "web", "--revert")
    assert result.exit_code != 0
    assert "k8s/a.yaml" in result.output and REVERTED[:12] in result.output


@pytest.mark.parametrize("extra", [["3"], ["--prune"], ["--disable-auto-sync"]])
def test_flags_of_a_history_rollback_are_refused(api: Canned, extra: list[str]) -> None:  # noqa: F811
    result = gitloop(api, "rollback", "web", "--revert", *extra)
    assert result.exit_code == 2, result.output
    assert "--revert takes no ID, --disable-auto-sync or --prune" in result.output
    assert api.seen == []


@pytest.mark.parametrize(
    ("commit", "first"),
    [
        (
            REVERT,
            f'Reverted {REVERTED[:12]} "web v2": commit {REVERT[:12]} on main of https://git.example/r.git',
        ),
        (
            None,
            f'Nothing to revert: main of https://git.example/r.git no longer has {REVERTED[:12]} "web v2"',
        ),
    ],
)
def test_what_is_printed(commit: str | None, first: str) -> None:
    assert app_output.reverted(_answer(commit)).splitlines()[0] == first
