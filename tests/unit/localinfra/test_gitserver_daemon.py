"""The git server daemon's bookkeeping and command line, without starting a server."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from gitloop.cli.main import cli
from gitloop.errors import InfraError, UsageError
from gitloop.localinfra import processes
from gitloop.localinfra.gitdaemon import DaemonState, GitServerDaemon, ServeOptions, read_secret


def _files(tmp_path: Path) -> tuple[Path, Path]:
    password, secret = tmp_path / "password", tmp_path / "secret"
    password.write_text("pa55word\n")
    secret.write_text("wh-secret\nignored second line\n")
    return password, secret


def test_secrets_are_read_from_files(tmp_path: Path) -> None:
    password, secret = _files(tmp_path)
    options = ServeOptions(tmp_path, webhook_url="http://127.0.0.1:1/", webhook_secret_file=secret,
                           user="u", password_file=password)  # fmt: skip
    auth, webhook = options.auth(), options.webhook()
    assert auth is not None and (auth.user, auth.password) == ("u", "pa55word")
    assert webhook is not None and webhook.secret == "wh-secret"
    argv = options.serve_argv(tmp_path / "port")
    assert argv[1:5] == ["-m", "gitloop", "gitserver", "serve"]
    assert str(password) in argv and str(secret) in argv
    assert not any("pa55word" in a or "wh-secret" in a for a in argv)


@pytest.mark.parametrize(
    ("content", "message"), [(None, "cannot read"), ("", "is empty"), ("\nsecond", "is empty")]
)
def test_read_secret_errors(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "secret"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UsageError, match=message):
        read_secret(path, "secret")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"user": "u"}, "go together"),
        ({"password_file": Path("p")}, "go together"),
        ({"webhook_secret_file": Path("s")}, "needs --webhook-url"),
        ({"webhook_url": "127.0.0.1:80/hook"}, "http"),
        ({"port": 70000}, "bad port"),
    ],
)
def test_bad_options(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        ServeOptions(tmp_path, **kwargs)  # type: ignore[arg-type]


def _dead_state(tmp_path: Path) -> DaemonState:
    # A PID that exists (ours) with the wrong start time: recorded by someone, no longer that process.
    start = processes.start_time(os.getpid()) or 0
    rec = processes.Recorded("gitserver", os.getpid(), start + 1, str(tmp_path / "log"))
    return DaemonState("http://127.0.0.1:1", 1, str(tmp_path / "repos"), rec, None, "u")


def test_state_round_trips(tmp_path: Path) -> None:
    state = _dead_state(tmp_path)
    assert DaemonState.from_json(json.loads(json.dumps(state.to_json()))) == state


def test_status_absent_then_stale_and_down_clears_it(tmp_path: Path) -> None:
    daemon = GitServerDaemon(tmp_path)
    assert daemon.status().state == "absent"
    assert daemon.down() is False
    daemon.dir.mkdir(parents=True, exist_ok=True)
    daemon.state_file.write_text(json.dumps(_dead_state(tmp_path).to_json()))
    assert daemon.status().state == "stale"
    with pytest.raises(InfraError, match="not running"):
        daemon.create_repo("app")
    assert daemon.down() is False, "a stale record is not ours to kill"
    assert not daemon.state_file.exists()


def test_corrupt_state_is_reported(tmp_path: Path) -> None:
    daemon = GitServerDaemon(tmp_path)
    daemon.dir.mkdir(parents=True, exist_ok=True)
    daemon.state_file.write_text("{not json")
    with pytest.raises(InfraError, match="unreadable"):
        daemon.status()


def test_state_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITLOOP_STATE_DIR", str(tmp_path))
    assert GitServerDaemon().dir == tmp_path / "gitserver"
    assert GitServerDaemon().default_root() == tmp_path / "gitserver" / "repos"


@pytest.mark.parametrize(
    ("args", "code", "output"),
    [
        (["up", "--user", "u"], 2, "--user and --password-file go together"),
        (["up", "--webhook-url", "http://127.0.0.1:1/", "--webhook-secret-file", "/nonexistent/s"], 2,
         "cannot read the webhook secret file"),
        (["status"], 1, "not running"),
        (["down"], 0, "was not running"),
        (["create-repo", "app"], 1, "not running"),
        (["create-repo", "../app"], 1, "not running"),
    ],
)  # fmt: skip
def test_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], code: int, output: str
) -> None:
    monkeypatch.setenv("GITLOOP_STATE_DIR", str(tmp_path))
    result = CliRunner().invoke(cli, ["gitserver", *args])
    assert result.exit_code == code, result.output
    assert output in result.output
    assert not (tmp_path / "gitserver" / "state.json").exists()
