"""``gitloop metrics dora`` on a real SQLite store file: a deployment, a failed sync and its fix
recorded as the server records them, then the figures as JSON and as a table, and bad flags refused."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from gitloop.cli.main import cli
from gitloop.gitops.history import history_owner
from gitloop.lineage import Lineage, SourcePush
from gitloop.store import open_store

SOURCE = "a" * 40


def _record(url: str, now: float) -> None:
    store = open_store(url)
    try:
        lineage = Lineage(store)
        lineage.record_push(
            SourcePush(SOURCE, "src", "refs/heads/main", now - 3000),
            runs=[],
            listener="l",
            event_id="e",
            received=now - 2990,
        )
        for revision, message, phase, finished, healthy in (
            ("c1", f"image v1\n\nGitloop-Source-Commit: {SOURCE}", "Succeeded", now - 2500, now - 2400),
            ("c2", "image v2 (broken)", "Failed", now - 2000, None),
            ("c3", "image v2 (fixed)", "Succeeded", now - 1000, now - 900),
        ):
            operation = {"id": revision, "phase": phase, "startedAt": finished - 5, "finishedAt": finished}
            lineage.record_sync(
                "web-prod", revision, message, repo="config", committed=None, operation=operation
            )
            store.append_history(history_owner("web-prod"), {"revision": revision, **operation})
            if healthy is not None:
                lineage.record_healthy("web-prod", revision, healthy=healthy)
    finally:
        store.close()


def test_json_and_table(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gitloop.db'}"
    _record(url, time.time())
    result = CliRunner().invoke(
        cli, ["metrics", "dora", "--database-url", url, "--env", "prod", "-o", "json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    (app,) = report["applications"]
    assert app["name"] == "web-prod" and app["deployments"] == 2
    assert app["leadTime"] == {"median": pytest.approx(600.0), "p90": pytest.approx(600.0), "count": 1}
    assert app["changeFailureRate"] == 0.5 and app["failureCauses"] == {"sync-failed": 1}
    assert app["timeToRestore"] == {"median": pytest.approx(1100.0), "restores": 1, "unrestored": 0}
    assert [e["name"] for e in report["environments"]] == ["prod"]
    assert report["failureWindowSeconds"] == 3600.0
    shown = CliRunner().invoke(cli, ["metrics", "dora", "--database-url", url])
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0].split()[:3] == ["SCOPE", "NAME", "DEPLOYS"]
    assert lines[1].split()[:3] == ["env", "prod", "2"] and "50% (1)" in lines[1]
    assert lines[2].split()[:3] == ["app", "web-prod", "2"]
    tight = json.loads(
        CliRunner()
        .invoke(cli, ["metrics", "dora", "--database-url", url, "--failure-window", "5m", "-o", "json"])
        .stdout
    )
    assert tight["applications"][0]["changeFailureRate"] == 0.0
    none = CliRunner().invoke(cli, ["metrics", "dora", "--database-url", url, "--app", "other"])
    assert none.exit_code == 0 and "no deployments recorded" in none.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "--since 'yesterday': expected a duration"),
        (["--since", "2026-01-01T00:00:00"], "needs its offset"),
        (["--failure-window", "soon"], "--failure-window 'soon': expected a duration"),
        (["--failure-window", "0"], "must be longer than 0"),
        (["--server", "http://127.0.0.1:9"], "exclude each other"),
    ],
)
def test_bad_flags(tmp_path: Path, args: list[str], message: str) -> None:
    url = f"sqlite:///{tmp_path / 'gitloop.db'}"
    result = CliRunner().invoke(cli, ["metrics", "dora", "--database-url", url, *args])
    assert result.exit_code == 2
    assert message in result.output


def test_a_store_is_required() -> None:
    result = CliRunner().invoke(
        cli, ["metrics", "dora"], env={"GITLOOP_DATABASE_URL": "", "GITLOOP_SERVER": ""}
    )
    assert result.exit_code == 2 and "give --config FILE" in result.output
