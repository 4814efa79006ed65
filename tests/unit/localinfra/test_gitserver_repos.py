"""Repositories of the local git server: names, bare creation with ``HEAD -> main``, the push hook,
and the in-process server's guard rails."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gitloop.errors import GitError, InfraError, UsageError
from gitloop.localinfra.gitrepos import HOOK_MARKER, hook_script, init_bare_repo, repo_name, repo_path
from gitloop.localinfra.gitserver import GitServer, Webhook


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("app", "app"),
        ("app.git", "app"),
        ("team/app", "team/app"),
        ("/team/app.git/", "team/app"),
        ("my_app-2.0", "my_app-2.0"),
    ],
)
def test_repo_name_accepts(name: str, canonical: str) -> None:
    assert repo_name(name) == canonical


@pytest.mark.parametrize(
    "name",
    ["", "/", "../app", "a/../b", "a/b/c", ".hidden", "-flag", "a b", "app.git.git", "x.lock", "a//b", "ü"],
)
def test_repo_name_rejects(name: str) -> None:
    with pytest.raises(UsageError):
        repo_name(name)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_init_bare_repo(tmp_path: Path) -> None:
    path = init_bare_repo(tmp_path, "team/app")
    assert path == repo_path(tmp_path, "team/app") == tmp_path / "team" / "app.git"
    assert _git(path, "rev-parse", "--is-bare-repository") == "true"
    assert _git(path, "symbolic-ref", "HEAD") == "refs/heads/main"
    assert _git(path, "config", "http.receivepack") == "true"
    hook = path / "hooks" / "post-receive"
    assert hook.read_text() == hook_script()
    assert HOOK_MARKER in hook.read_text()
    assert sys.executable in hook.read_text()
    assert os.access(hook, os.X_OK)
    assert not hook.stat().st_mode & stat.S_IWOTH


def test_init_bare_repo_twice(tmp_path: Path) -> None:
    init_bare_repo(tmp_path, "app")
    with pytest.raises(GitError, match="already exists"):
        init_bare_repo(tmp_path, "app")
    (tmp_path / "app.git" / "hooks" / "post-receive").unlink()
    assert init_bare_repo(tmp_path, "app", exist_ok=True) == tmp_path / "app.git"
    assert (tmp_path / "app.git" / "hooks" / "post-receive").is_file(), "exist_ok refreshes the hook"
    (tmp_path / "plain.git").mkdir()
    with pytest.raises(GitError, match="not a bare git repository"):
        init_bare_repo(tmp_path, "plain", exist_ok=True)


def test_hook_script_quotes_the_interpreter() -> None:
    script = hook_script("/opt/my python/bin/python3")
    assert script.startswith("#!/bin/sh\n")
    assert "exec '/opt/my python/bin/python3' -m gitloop.localinfra.pushhook\n" in script


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::1"])  # noqa: S104
def test_server_listens_on_loopback_only(tmp_path: Path, host: str) -> None:
    with pytest.raises(UsageError, match="loopback"):
        GitServer(tmp_path, host=host)


def test_server_not_started(tmp_path: Path) -> None:
    server = GitServer(tmp_path / "repos", webhook=Webhook("http://127.0.0.1:9/", "s3cr3t"))
    with pytest.raises(InfraError, match="not started"):
        _ = server.url
    with pytest.raises(InfraError, match="not started"):
        server.create_repo("app")
    assert not (tmp_path / "repos" / "app.git").exists()
    server.stop()  # stopping a server that never started is harmless
    assert "s3cr3t" not in repr(server) + repr(server.webhook)
