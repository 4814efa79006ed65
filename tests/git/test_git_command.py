"""Running git: the isolated environment, errors typed by cause and scrubbed of secrets, timeouts,
and parsing what the remote says. Real ``git`` commands that need no network."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest

from gitloop.errors import AuthError, GitError
from gitloop.git import command
from gitloop.git.command import GitAuthError, base_environment, failure
from gitloop.git.credentials import HttpsCredentials, Scrubber
from gitloop.git.mirror import _check_revision, _tree_path
from gitloop.git.remote import check_url, ls_remote, parse_ls_remote

SECRET = "hunter2-is-the-password"


def test_base_environment_isolates_git() -> None:
    caller = {
        "PATH": "/usr/bin",
        "HOME": "/home/alice",
        "SSH_AUTH_SOCK": "/run/agent",
        "GIT_DIR": "/elsewhere/.git",
        "GIT_WORK_TREE": "/elsewhere",
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "core.sshCommand",
        "GIT_CONFIG_VALUE_0": "evil",
        "GIT_CONFIG_PARAMETERS": "'url.x.insteadof'='https://'",
        "GIT_TRACE_CURL": "/tmp/trace",
        "GIT_ASKPASS": "/usr/bin/ksshaskpass",
        "GIT_SSL_CAINFO": "/etc/corp-ca.pem",
        "GIT_SSH_COMMAND": "ssh -F /home/alice/.ssh/corp",
    }
    env = base_environment(caller)
    assert env["HOME"] == "/home/alice" and env["SSH_AUTH_SOCK"] == "/run/agent"
    assert env["GIT_SSL_CAINFO"] == "/etc/corp-ca.pem"
    assert env["GIT_SSH_COMMAND"] == "ssh -F /home/alice/.ssh/corp"
    for gone in (
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_CONFIG_COUNT",
        "GIT_CONFIG_KEY_0",
        "GIT_CONFIG_PARAMETERS",
        "GIT_TRACE_CURL",
    ):
        assert gone not in env
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GIT_ASKPASS"] == ""  # set and empty: no askpass program at all
    assert env["SSH_ASKPASS_REQUIRE"] == "never"
    assert env["GIT_CONFIG_NOSYSTEM"] == "1" and env["GIT_CONFIG_GLOBAL"] == os.devnull
    assert caller["GIT_DIR"] == "/elsewhere/.git", "the caller's mapping is not changed"


@pytest.mark.parametrize(
    ("stderr", "auth"),
    [
        ("fatal: Authentication failed for 'https://h/r.git/'", True),
        ("fatal: could not read Username for 'https://h': terminal prompts disabled", True),
        ("git@h: Permission denied (publickey).\nfatal: Could not read from remote repository.", True),
        ("Host key verification failed.\nfatal: Could not read from remote repository.", True),
        ("fatal: unable to access 'https://h/r/': The requested URL returned error: 403", True),
        ("fatal: unable to access 'https://h/r/': The requested URL returned error: 404", False),
        ("fatal: repository 'https://h/r/' not found", False),
        ("fatal: unable to access 'https://h/': Could not resolve host: h", False),
    ],
)
def test_failures_are_typed_by_cause(stderr: str, auth: bool) -> None:
    error = failure("git fetch https://h/r", stderr.encode(), str)
    assert isinstance(error, GitError)
    assert isinstance(error, AuthError) is auth
    assert isinstance(error, GitAuthError) is auth
    assert str(error).startswith("git fetch https://h/r: ")


def test_failure_messages_are_scrubbed_and_bounded() -> None:
    scrub = Scrubber([SECRET])
    stderr = f"fatal: unable to access 'https://alice:{SECRET}@h/r/': bad\n" + "x" * 5000
    text = str(failure("git fetch", stderr.encode(), scrub))
    assert SECRET not in text and "alice" not in text
    assert len(text) < 2100


def test_run_scrubs_git_output_from_errors_and_logs(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG, logger="gitloop.git")
    scrub = Scrubber([SECRET])
    env = base_environment({"PATH": os.environ["PATH"], "HOME": str(tmp_path)})
    where = tmp_path / f"no-repo-{SECRET}"  # git repeats the path in its message
    with pytest.raises(GitError) as caught:
        command.run(
            ["ls-remote", "--", str(where)], env=env, what=f"git ls-remote {where}", scrub=scrub, cwd=tmp_path
        )
    assert SECRET not in str(caught.value)
    assert "no-repo-***" in str(caught.value)
    assert caplog.records, "failures are logged at debug level"
    for record in caplog.records:
        assert SECRET not in record.getMessage()


def _running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for init to reap it does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def test_run_kills_the_whole_command_on_timeout(tmp_path: Path) -> None:
    env = base_environment({"PATH": os.environ["PATH"], "HOME": str(tmp_path)})
    pid_file = tmp_path / "child.pid"
    started = time.monotonic()
    with pytest.raises(GitError, match="timed out"):
        command.run(
            ["-c", f"alias.hang=!echo $$ > {pid_file}; exec sleep 30", "hang"],
            env=env,
            what="git hang",
            cwd=tmp_path,
            timeout=0.5,
        )
    assert time.monotonic() - started < 10
    # The alias' shell, a grandchild of ours, is gone too (at most a zombie left for init to reap).
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _running(pid):
        assert time.monotonic() < deadline, "the command's child survived the timeout"
        time.sleep(0.05)


def test_ls_remote_outside_a_repository_ignores_the_callers_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = base_environment({"PATH": os.environ["PATH"], "HOME": str(tmp_path)})
    command.run(["init", "--quiet", str(tmp_path / "work")], env=env, what="git init")
    monkeypatch.chdir(tmp_path / "work")
    with pytest.raises(GitError, match="does not appear to be a git repository"):
        ls_remote("origin", env=env, credentials=HttpsCredentials("a", SECRET))


def test_parse_ls_remote() -> None:
    text = (
        "ref: refs/heads/main\tHEAD\n"
        "1111111111111111111111111111111111111111\tHEAD\n"
        "1111111111111111111111111111111111111111\trefs/heads/main\n"
        "2222222222222222222222222222222222222222\trefs/tags/v1\n"
        "3333333333333333333333333333333333333333\trefs/tags/v1^{}\n"
        "4444444444444444444444444444444444444444\trefs/pull/1/head\n"
    )
    remote = parse_ls_remote(text)
    assert remote.head == "refs/heads/main"
    assert remote.refs["HEAD"] == "1" * 40
    assert remote.refs["refs/tags/v1^{}"] == "3" * 40
    assert remote.branches_and_tags() == {"refs/heads/main": "1" * 40, "refs/tags/v1": "2" * 40}
    assert parse_ls_remote("") == parse_ls_remote("garbage without a tab\n")


@pytest.mark.parametrize("url", ["", "-uupload-pack=touch /tmp/pwned", "https://h/r\n", "https://h/\0r"])
def test_unusable_urls_are_refused(url: str) -> None:
    with pytest.raises(GitError):
        check_url(url)


@pytest.mark.parametrize(
    "revision", ["main", "v1.0.0", "feature/x-y_z", "refs/heads/main", "HEAD", "abc1234", ""]
)
def test_revisions_accepted(revision: str) -> None:
    assert _check_revision(f" {revision} ", "u") == revision


@pytest.mark.parametrize(
    "revision", ["--output=/tmp/x", "main~1", "main^", "HEAD@{1}", "a..b", "main:secret", "a b", "x\ny", "*"]
)
def test_revision_expressions_are_refused(revision: str) -> None:
    with pytest.raises(GitError, match="not a branch, tag or commit SHA"):
        _check_revision(revision, "https://h/r")


@pytest.mark.parametrize(
    ("path", "rel"),
    [
        ("", ""),
        (".", ""),
        ("./", ""),
        ("/", ""),
        ("apps/web", "apps/web"),
        ("./apps/web/", "apps/web"),
        ("/apps", "apps"),
    ],
)
def test_tree_paths(path: str, rel: str) -> None:
    assert _tree_path(path, "u") == rel


@pytest.mark.parametrize("path", ["../x", "apps/../../x", "a\nb"])
def test_tree_paths_stay_inside(path: str) -> None:
    with pytest.raises(GitError):
        _tree_path(path, "u")
