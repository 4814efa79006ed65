"""``gitloop audit`` on a real SQLite store file."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from gitloop.access.audit import AuditLog
from gitloop.cli.audit import parse_since
from gitloop.cli.main import cli
from gitloop.errors import UsageError
from gitloop.store import open_store


def test_json_lists_entries_with_their_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gitloop.db'}"
    made = CliRunner().invoke(cli, ["account", "create", "alice", "--database-url", url])
    assert made.exit_code == 0, made.output
    store = open_store(url)
    try:
        AuditLog(store).record(
            user="bob", action="applications.sync", object="default/web", source="10.0.0.1"
        )
    finally:
        store.close()
    result = CliRunner().invoke(cli, ["audit", "--database-url", url, "-o", "json"])
    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)
    assert [list(e) for e in entries] == [
        ["id", "time", "user", "action", "object", "source", "outcome", "details"]
    ] * 2
    assert [(e["action"], e["object"]) for e in entries] == [
        ("accounts.create", "alice"),
        ("applications.sync", "default/web"),
    ]
    assert entries[0]["user"].startswith("cli:") and entries[0]["time"].endswith("Z")
    only_bob = json.loads(
        CliRunner().invoke(cli, ["audit", "--database-url", url, "--user", "bob", "-o", "json"]).stdout
    )
    assert [e["user"] for e in only_bob] == ["bob"]
    recent = CliRunner().invoke(cli, ["audit", "--database-url", url, "--since", "1h"])
    assert recent.exit_code == 0
    assert "applications.sync" in recent.stdout and "ACTION" in recent.stdout
    future = CliRunner().invoke(
        cli, ["audit", "--database-url", url, "--since", "2999-01-01T00:00:00Z", "-o", "json"]
    )
    assert json.loads(future.stdout) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1h", 1000.0 - 3600),
        ("30m", 1000.0 - 1800),
        ("2d", 1000.0 - 2 * 86400),
        ("1970-01-01T00:01:00Z", 60.0),
    ],
)
def test_parse_since(text: str, expected: float) -> None:
    assert parse_since(text, now=1000.0) == expected


@pytest.mark.parametrize(
    ("text", "message"), [("yesterday", "expected a duration"), ("2026-01-01T00:00:00", "offset")]
)
def test_parse_since_refuses(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_since(text, now=time.time())
