"""Which config commit a revert rollback undoes, and the message it writes: pure rules, table-driven."""

from __future__ import annotations

import pytest

from gitloop.errors import SyncError
from gitloop.handoff.revert import ConfigCommit, choose_commit, revert_message
from gitloop.model.trailers import parse_trailers


def _c(sha: str, *, parents: int = 1, message: str = "") -> ConfigCommit:
    return ConfigCommit(sha * 40, tuple(f"{i}" * 40 for i in range(parents)), message or f"change {sha}\n")


def _revert_of(sha: str, mine: str) -> ConfigCommit:
    return _c(
        mine,
        message=f'Revert "change {sha}"\n\nThis reverts commit {sha * 40}.\n\nGitloop-Revert-Of: {sha * 40}\n',
    )


CHOICES = [
    ("the newest change", [_c("c"), _c("b"), _c("a")], "c"),
    ("a revert and what it reverted are passed over", [_revert_of("c", "d"), _c("c"), _c("b")], "b"),
    (
        "two reverts in a row go two changes back",
        [_revert_of("b", "e"), _revert_of("c", "d"), _c("c"), _c("b"), _c("a")],
        "a",
    ),
    ("a revert of a commit not looked at", [_revert_of("z", "d"), _c("b")], "b"),
    (
        "git's own revert without the trailer is a change",
        [_c("d", message='Revert "x"\n\nThis reverts commit ' + "c" * 40 + ".\n"), _c("c")],
        "d",
    ),
]


@pytest.mark.parametrize(("case", "commits", "expected"), CHOICES, ids=[c[0] for c in CHOICES])
def test_choice(case: str, commits: list[ConfigCommit], expected: str) -> None:
    assert choose_commit("web", "apps/web", commits).sha == expected * 40


REFUSALS = [
    ("a merge", [_c("m", parents=2)], "is a merge; revert it by hand"),
    ("the first commit", [_c("a", parents=0)], "is the first commit of path 'apps/web'"),
    ("nothing", [], "no commit of path 'apps/web' to revert in the 0 looked at"),
    (
        "only reverted pairs",
        [_revert_of("c", "d"), _c("c")],
        "no commit of path 'apps/web' to revert in the 2",
    ),
]


@pytest.mark.parametrize(("case", "commits", "message"), REFUSALS, ids=[c[0] for c in REFUSALS])
def test_refusal(case: str, commits: list[ConfigCommit], message: str) -> None:
    with pytest.raises(SyncError, match=message) as caught:
        choose_commit("web", "apps/web", commits)
    assert str(caught.value).startswith("web: ")


MESSAGES = [
    (
        "a handoff commit keeps its source commit",
        "Set web:v2\n\nGitloop-Image: r/web:v2\nGitloop-Source-Commit: " + "5" * 40 + "\n",
        {"Gitloop-Revert-Of": "b" * 40, "Gitloop-Source-Commit": "5" * 40},
    ),
    ("a hand-made commit", "bump web\n", {"Gitloop-Revert-Of": "b" * 40}),
]


@pytest.mark.parametrize(("case", "original", "trailers"), MESSAGES, ids=[m[0] for m in MESSAGES])
def test_message(case: str, original: str, trailers: dict[str, str]) -> None:
    message = revert_message(ConfigCommit("b" * 40, ("a" * 40,), original))
    subject = original.split("\n", 1)[0]
    assert message.startswith(f'Revert "{subject}"\n\nThis reverts commit {"b" * 40}.\n\n')
    assert parse_trailers(message) == trailers


def test_dora_counts_it_as_a_revert() -> None:
    from gitloop.service.dora import is_revert

    assert is_revert(revert_message(ConfigCommit("b" * 40, ("a" * 40,), "Set web:v2\n")))
