"""Reverting config commits in real git repositories (a bare upstream in tmp_path): the new commit's
content and trailers, later changes elsewhere kept, a conflict that changes nothing, a second
rollback going one change further back, and a push refused because another writer pushed first."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gitloop.errors import GitError
from gitloop.git.revert import RevertTree
from gitloop.handoff.landing import PushRetry
from gitloop.handoff.revert import RevertConflict, RevertResult, land_revert
from gitloop.model.trailers import parse_trailers
from gitloop.service.handoff import WorktreeBranch
from gitloop.service.revert import CloneBranch

FILE = "apps/web/deploy.yaml"
SOURCE = "5" * 40


def _deploy(tag: str) -> str:
    return f"kind: Deployment\nspec:\n  replicas: 1\n  image: registry/web:{tag}\n"


@dataclass
class Upstream:
    """A bare config repository and a checkout that commits to it."""

    bare: Path
    work: Path

    def git(self, *args: str) -> str:
        env = {
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "dev",
            "GIT_AUTHOR_EMAIL": "dev@example.com",
            "GIT_COMMITTER_NAME": "dev",
            "GIT_COMMITTER_EMAIL": "dev@example.com",
            "PATH": "/usr/bin:/bin",
        }
        done = subprocess.run(
            ["git", *args], cwd=self.work, env=env, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    def commit(self, files: dict[str, str], message: str) -> str:
        for name, text in files.items():
            (self.work / name).parent.mkdir(parents=True, exist_ok=True)
            (self.work / name).write_text(text)
        self.git("add", "--", *files)
        self.git("commit", "-q", "-m", message)
        self.git("push", "-q", "origin", "HEAD:main")
        return self.git("rev-parse", "HEAD")

    def show(self, revision: str, file: str) -> str:
        self.git("fetch", "-q", "origin")
        return self.git("show", f"{revision}:{file}") + "\n"


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[Upstream]:
    bare, work = tmp_path / "config.git", tmp_path / "work"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True, capture_output=True)
    repo = Upstream(bare, work)
    repo.commit({FILE: _deploy("v1"), "README": "config\n"}, "web v1")
    yield repo


def _revert(
    tmp_path: Path, upstream: Upstream, synced: str, *, branch_type: type[CloneBranch] = CloneBranch
) -> RevertResult:
    tree = RevertTree(str(upstream.bare), tmp_path / f"clone-{synced[:7]}")
    branch = branch_type(tree, WorktreeBranch(tree.worktree, "main", locks=tmp_path / "locks"))
    return land_revert(
        branch, app="web", path="apps/web", synced=synced, retry=PushRetry(sleep=lambda _: None)
    )


def test_the_revert_restores_the_previous_content_with_trailers(tmp_path: Path, upstream: Upstream) -> None:
    v2 = upstream.commit({FILE: _deploy("v2")}, f"web v2\n\nGitloop-Source-Commit: {SOURCE}")
    result = _revert(tmp_path, upstream, v2)
    assert result.commit is not None and result.pushed and (result.reverted, result.base) == (v2, v2)
    assert upstream.show("origin/main", FILE) == _deploy("v1")
    assert upstream.git("rev-parse", "origin/main") == result.commit
    message = upstream.git("log", "-1", "--format=%B", "origin/main")
    assert message.startswith(f'Revert "web v2"\n\nThis reverts commit {v2}.')
    assert parse_trailers(message) == {"Gitloop-Revert-Of": v2, "Gitloop-Source-Commit": SOURCE}


def test_later_changes_elsewhere_stay(tmp_path: Path, upstream: Upstream) -> None:
    v2 = upstream.commit({FILE: _deploy("v2")}, "web v2")
    upstream.commit({"README": "config, edited\n", "apps/api/deploy.yaml": _deploy("a1")}, "other things")
    result = _revert(tmp_path, upstream, v2)
    assert result.commit is not None and result.reverted == v2
    assert upstream.show("origin/main", FILE) == _deploy("v1")
    assert upstream.show("origin/main", "README") == "config, edited\n"
    assert upstream.show("origin/main", "apps/api/deploy.yaml") == _deploy("a1")


def test_the_commit_that_brought_the_synced_revision_is_found_behind_others(
    tmp_path: Path, upstream: Upstream
) -> None:
    v2 = upstream.commit({FILE: _deploy("v2")}, "web v2")
    synced = upstream.commit({"README": "unrelated\n"}, "readme")  # does not touch apps/web
    assert _revert(tmp_path, upstream, synced).reverted == v2
    assert upstream.show("origin/main", FILE) == _deploy("v1")


def test_a_conflict_names_the_commit_and_file_and_changes_nothing(tmp_path: Path, upstream: Upstream) -> None:
    v2 = upstream.commit({FILE: _deploy("v2")}, "web v2")
    tip = upstream.commit({FILE: _deploy("v3")}, "web v3")  # not synced yet: the same line again
    with pytest.raises(RevertConflict, match=rf"{v2[:12]} conflicts with later changes in: {FILE}; nothing"):
        _revert(tmp_path, upstream, v2)
    assert upstream.git("ls-remote", str(upstream.bare), "refs/heads/main").split()[0] == tip


def test_a_second_rollback_goes_one_change_further_back(tmp_path: Path, upstream: Upstream) -> None:
    v2 = upstream.commit({FILE: _deploy("v2")}, "web v2")
    upstream.commit({FILE: _deploy("v3")}, "web v3")
    first = _revert(tmp_path, upstream, upstream.git("rev-parse", "HEAD"))
    assert first.commit is not None and upstream.show("origin/main", FILE) == _deploy("v2")
    second = _revert(tmp_path, upstream, first.commit)
    assert second.reverted == v2 and upstream.show("origin/main", FILE) == _deploy("v1")


def test_an_unknown_synced_revision_is_a_clear_error(tmp_path: Path, upstream: Upstream) -> None:
    with pytest.raises(GitError, match=r"commit 0123456789ab is not in the history of"):
        _revert(tmp_path, upstream, "0123456789ab" * 3 + "0123")


class RacedBranch(CloneBranch):
    """Another writer pushes just before this branch's first push."""

    raced = False
    upstream: Upstream

    def push(self, commit: str, *, parent: str) -> None:
        if not RacedBranch.raced:
            RacedBranch.raced = True
            RacedBranch.upstream.commit({"README": "someone else\n"}, "another writer")
        super().push(commit, parent=parent)


def test_a_refused_push_is_made_again_on_the_new_tip(tmp_path: Path, upstream: Upstream) -> None:
    v2 = upstream.commit({FILE: _deploy("v2")}, "web v2")
    RacedBranch.upstream, RacedBranch.raced = upstream, False
    result = _revert(tmp_path, upstream, v2, branch_type=RacedBranch)
    assert result.attempts == 2 and result.base != v2
    assert upstream.show("origin/main", FILE) == _deploy("v1")
    assert upstream.show("origin/main", "README") == "someone else\n"
    assert upstream.git("rev-parse", "origin/main^") == result.base
