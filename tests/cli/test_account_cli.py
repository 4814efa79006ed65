"""``gitloop account`` on a real SQLite store file: create → login works, tokens shown once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gitloop.access.accounts import Accounts, LoginFailed
from gitloop.access.audit import AuditLog
from gitloop.access.tokens import Tokens
from gitloop.cli.account import parse_expiry
from gitloop.cli.main import cli
from gitloop.store import open_store

PASSWORD = "correct horse battery"


def run(db: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["account", *args, "--database-url", f"sqlite:///{db}"], input=input)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "gitloop.db"


def login(db: Path, name: str, password: str) -> str:
    store = open_store(f"sqlite:///{db}")
    try:
        return Accounts(store).login(name, password).name
    finally:
        store.close()


def test_create_from_file_then_login(db: Path, tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    result = run(db, "create", "alice", "--password-file", str(secret))
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert login(db, "alice", PASSWORD) == "alice"


def test_create_from_stdin_and_passwd(db: Path) -> None:
    assert run(db, "create", "bob", "--password-file", "-", input=PASSWORD + "\n").exit_code == 0
    assert run(db, "passwd", "bob", "--password-file", "-", input="another password\n").exit_code == 0
    assert login(db, "bob", "another password") == "bob"
    with pytest.raises(LoginFailed):
        login(db, "bob", PASSWORD)


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("create", "Bob", "--password-file", "-"), PASSWORD, "lowercase"),
        (("create", "bob", "--password-file", "-"), "short\n", "at least 8"),
        (("create", "bob", "--password-file", "/nonexistent/pw"), None, "cannot read"),
        (("passwd", "ghost", "--password-file", "-"), PASSWORD, "no such account"),
        (("disable", "ghost"), None, "no such account"),
        (("token", "create", "ghost"), None, "no such account"),
        (("token", "create", "root", "--expires-in", "soon"), None, "expected a duration"),
        (("token", "create", "root", "--scope", "everything"), None, "resource:action"),
        (("token", "revoke", "root", "0123456789abcdef"), None, "has no token"),
    ],
)
def test_usage_errors_exit_2(db: Path, args: tuple[str, ...], stdin: str | None, message: str) -> None:
    assert run(db, "create", "root", "--password-file", "-", input=PASSWORD).exit_code == 0
    result = run(db, *args, input=stdin)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert PASSWORD not in result.stderr


def test_a_store_is_required() -> None:
    result = CliRunner().invoke(cli, ["account", "list"], env={"GITLOOP_DATABASE_URL": ""})
    assert result.exit_code == 2
    assert "--config FILE" in result.stderr


def test_config_names_the_store(tmp_path: Path, db: Path) -> None:
    config = tmp_path / "serve.yaml"
    config.write_text(f"kind: ServeConfig\ndatabaseURL: sqlite:///{db}\n")
    result = CliRunner().invoke(
        cli, ["account", "create", "carol", "--config", str(config), "--password-file", "-"], input=PASSWORD
    )
    assert result.exit_code == 0, result.output
    assert login(db, "carol", PASSWORD) == "carol"


def test_list(db: Path) -> None:
    run(db, "create", "alice", "--password-file", "-", input=PASSWORD)
    run(db, "create", "bob")
    run(db, "token", "create", "alice")
    run(db, "disable", "bob")
    listed = json.loads(run(db, "list", "-o", "json").stdout)
    assert [(a["name"], a["enabled"], a["passwordSet"], a["tokens"]) for a in listed] == [
        ("alice", True, True, 1),
        ("bob", False, False, 0),
    ]
    table = run(db, "list").stdout.splitlines()
    assert table[0].split() == ["NAME", "ENABLED", "PASSWORD", "TOKENS"]
    assert table[1].split() == ["alice", "true", "true", "1"]


def test_token_create_prints_only_the_token(db: Path) -> None:
    run(db, "create", "alice")
    result = run(
        db,
        "token",
        "create",
        "alice",
        "--expires-in",
        "30d",
        "--scope",
        "applications:sync",
        "--description",
        "ci",
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert result.stdout == token + "\n"
    assert token.startswith("gitloop_")
    assert "token id: " in result.stderr and token not in result.stderr
    store = open_store(f"sqlite:///{db}")
    try:
        info = Tokens(store).authenticate(token)
        assert info is not None and info.subject == "alice" and info.scope == ("applications:sync",)
        assert info.expires == pytest.approx(info.issued + 30 * 86400)
        assert info.id in result.stderr
    finally:
        store.close()
    listed = json.loads(run(db, "token", "list", "alice", "-o", "json").stdout)
    assert [(t["id"], t["description"], t["scope"]) for t in listed] == [
        (info.id, "ci", ["applications:sync"])
    ]
    assert token.split("_")[-1] not in run(db, "token", "list", "alice").stdout


def test_token_revoke_and_disable_revokes_all(db: Path) -> None:
    run(db, "create", "alice")
    first = run(db, "token", "create", "alice").stdout.strip()
    second = run(db, "token", "create", "alice").stdout.strip()
    first_id = first.split("_")[1]
    assert run(db, "token", "revoke", "alice", first_id).exit_code == 0
    assert run(db, "disable", "alice").exit_code == 0
    store = open_store(f"sqlite:///{db}")
    try:
        tokens = Tokens(store)
        assert tokens.authenticate(first) is None and tokens.authenticate(second) is None
        assert run(db, "enable", "alice").exit_code == 0
        account = Accounts(store).get("alice")
        assert account is not None and account.enabled
        actions = [(e.action, e.object, e.source) for e in AuditLog(store).entries()]
        assert actions == [
            ("accounts.create", "alice", "cli"),
            ("accounts.token.create", "alice", "cli"),
            ("accounts.token.create", "alice", "cli"),
            ("accounts.token.revoke", "alice", "cli"),
            ("accounts.disable", "alice", "cli"),
            ("accounts.enable", "alice", "cli"),
        ]
        assert all(e.user.startswith("cli:") for e in AuditLog(store).entries())
    finally:
        store.close()


@pytest.mark.parametrize(
    ("text", "seconds"), [(None, None), ("0", None), ("30d", 30 * 86400.0), ("12h", 43200.0), ("90m", 5400.0)]
)
def test_parse_expiry(text: str | None, seconds: float | None) -> None:
    assert parse_expiry(text) == seconds
