"""``ManifestSource.commit_info`` over real git mirrors: a commit of a repository no Application follows
(a promotion reading the author of a source commit) or one pushed after the last fetch is fetched once,
then read; a commit the remote does not have either is a ``GitError`` naming it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cd_fakes import FakeRenderer

from gitloop.errors import GitError
from gitloop.git.mirror import MirrorCache
from gitloop.gitops.source import ManifestSource

_ENV = {
    "GIT_AUTHOR_NAME": "Dana Dev",
    "GIT_AUTHOR_EMAIL": "dana@example.invalid",
    "GIT_COMMITTER_NAME": "Dana Dev",
    "GIT_COMMITTER_EMAIL": "dana@example.invalid",
    "PATH": "/usr/bin:/bin",
    "HOME": "/nonexistent",
}


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=_ENV, capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout.strip()


def _push(work: Path, name: str) -> str:
    (work / name).write_text(name)
    _git(work, "add", name)
    _git(work, "commit", "-q", "-m", f"add {name}")
    _git(work, "push", "-q", "origin", "HEAD:main")
    return _git(work, "rev-parse", "HEAD")


@pytest.fixture
def remote(tmp_path: Path) -> tuple[str, Path]:
    bare = tmp_path / "source.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True, timeout=30)
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True, timeout=30, capture_output=True)
    return str(bare), work


def test_a_commit_of_a_never_fetched_repository_is_fetched_then_read(
    tmp_path: Path, remote: tuple[str, Path]
) -> None:
    url, work = remote
    first = _push(work, "a")
    sources = ManifestSource(MirrorCache(tmp_path / "mirrors").get, FakeRenderer(), tmp_path / "checkouts")

    info = sources.commit_info(url, first)
    assert (info.author, info.email, info.message) == ("Dana Dev", "dana@example.invalid", "add a")

    later = _push(work, "b")  # pushed after the mirror's fetch
    assert sources.commit_info(url, later).message == "add b"


def test_a_commit_the_remote_does_not_have_is_an_error_naming_it(
    tmp_path: Path, remote: tuple[str, Path]
) -> None:
    url, work = remote
    _push(work, "a")
    sources = ManifestSource(MirrorCache(tmp_path / "mirrors").get, FakeRenderer(), tmp_path / "checkouts")
    missing = "0" * 40
    with pytest.raises(GitError, match=missing):
        sources.commit_info(url, missing)
