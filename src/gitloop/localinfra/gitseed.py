"""Put files into a repository on the local git server, and read a repository's tree back, with the
real ``git`` CLI. Used by the demo and tests to create app-source / app-config repositories."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from gitloop.errors import GitError
from gitloop.localinfra.gitrepos import git_executable

_IDENTITY = {
    "GIT_AUTHOR_NAME": "gitloop demo",
    "GIT_AUTHOR_EMAIL": "demo@gitloop.invalid",
    "GIT_COMMITTER_NAME": "gitloop demo",
    "GIT_COMMITTER_EMAIL": "demo@gitloop.invalid",
    "GIT_TERMINAL_PROMPT": "0",
}


def _git(args: list[str], cwd: Path) -> str:
    env = {**os.environ, **_IDENTITY}
    proc = subprocess.run(
        [git_executable(), *args], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=120
    )
    if proc.returncode != 0:
        raise GitError(f"git {args[0]} failed in {cwd}: {proc.stderr.strip()}")
    return proc.stdout


def commit_files(clone_url: str, files: Mapping[str, str], message: str, *, branch: str = "main") -> str:
    """Clone ``clone_url``, write ``files`` (path → text), commit and push to ``branch``; returns the SHA."""
    with tempfile.TemporaryDirectory(prefix="gitloop-seed-") as tmp:
        work = Path(tmp) / "work"
        _git(["clone", "--quiet", clone_url, str(work)], Path(tmp))
        _git(["checkout", "--quiet", "-B", branch], work)
        for rel, text in files.items():
            path = work / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        _git(["add", "--all"], work)
        _git(["commit", "--quiet", "-m", message], work)
        _git(["push", "--quiet", "origin", f"HEAD:refs/heads/{branch}"], work)
        return _git(["rev-parse", "HEAD"], work).strip()


def checkout(clone_url: str, dest: Path, *, revision: str = "main") -> str:
    """Clone ``clone_url`` at ``revision`` into ``dest``; returns the commit SHA checked out."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    _git(["clone", "--quiet", "--branch", revision, clone_url, str(dest)], dest.parent)
    return _git(["rev-parse", "HEAD"], dest).strip()


def commit_and_push(work: Path, message: str, *, branch: str = "main") -> tuple[str, float]:
    """Commit every change of the checkout ``work`` and push it to ``branch``: the new commit's SHA and
    the time (``time.time()``) the push began, for measuring what follows it."""
    _git(["add", "--all"], work)
    _git(["commit", "--quiet", "-m", message], work)
    sha = _git(["rev-parse", "HEAD"], work).strip()
    pushed_at = time.time()
    _git(["push", "--quiet", "origin", f"HEAD:refs/heads/{branch}"], work)
    return sha, pushed_at
