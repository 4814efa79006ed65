"""The landing of a handoff over a fake config branch: commit and push, a refused push tried again on
the new tip, giving up after the last attempt, and no commit when nothing changes."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import pytest

from gitloop.errors import GitError, UsageError
from gitloop.handoff import BranchMoved, PushRetry, land, plan_handoff

FILE = "deploy.yaml"
TEXT = "image: registry/app:v1\n"


class FakeBranch:
    """A branch whose pushes are refused ``refusals`` times (another writer pushed first)."""

    where = "https://git.example/config.git"
    name = "main"
    remote = True

    def __init__(self, text: str = TEXT, refusals: int = 0) -> None:
        self.text = text
        self.refusals = refusals
        self.tip = 0
        self.commits: list[str] = []

    def turn(self) -> AbstractContextManager[None]:
        return nullcontext()

    def fetch(self) -> str:
        return f"tip{self.tip}"

    def read_file(self, commit: str, file: str) -> tuple[bytes, str] | None:
        return (self.text.encode(), "100644") if file == FILE else None

    def commit_file(self, base: str, file: str, content: bytes, *, message: str, mode: str) -> str | None:
        self.commits.append(message)
        return f"commit-on-{base}"

    def push(self, commit: str, *, parent: str) -> None:
        if self.refusals:
            self.refusals -= 1
            self.tip += 1
            raise BranchMoved("moved on")


def test_a_refused_push_is_made_again_on_the_new_tip() -> None:
    branch, pauses = FakeBranch(refusals=2), list[float]()
    plan = plan_handoff(file=FILE, image="registry/app=registry/app:v2", source_commit="a" * 40)
    result = land(branch, plan, FILE, retry=PushRetry(sleep=pauses.append))
    assert (result.commit, result.base, result.attempts, result.pushed) == ("commit-on-tip2", "tip2", 3, True)
    assert len(pauses) == 2 and 0 <= pauses[0] <= 0.2 and 0 <= pauses[1] <= 0.4
    assert "Gitloop-Source-Commit: " + "a" * 40 in branch.commits[-1]


def test_it_gives_up_after_the_last_attempt() -> None:
    plan = plan_handoff(file=FILE, image="registry/app=registry/app:v2")
    with pytest.raises(GitError, match="moved on before each of 2 pushes"):
        land(FakeBranch(refusals=5), plan, FILE, retry=PushRetry(max_attempts=2, sleep=lambda _: None))


def test_an_edit_that_changes_nothing_makes_no_commit() -> None:
    branch = FakeBranch(text="image: registry/app:v2\n")
    result = land(
        branch, plan_handoff(file=FILE, image="registry/app=registry/app:v2"), FILE, retry=PushRetry()
    )
    assert result.commit is None and not result.pushed and branch.commits == []


def test_at_least_one_attempt() -> None:
    with pytest.raises(UsageError, match="at least 1"):
        PushRetry(max_attempts=0)
