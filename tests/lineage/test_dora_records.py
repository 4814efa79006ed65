"""DORA read from a real (SQLite) store: the lineage records a scripted series — a linked deployment,
a failed sync, its fix by a commit without trailers, a revert, a degradation — as the server does,
the sync history is appended as the GitOps driver does, and the report has the hand-computed figures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitloop.gitops.history import history_owner
from gitloop.lineage import Lineage, SourcePush
from gitloop.ports import Store
from gitloop.service.dora import dora_report, is_revert, records
from gitloop.store import open_store

APP = "web-prod"
S1, S2 = "1" * 40, "2" * 40


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(str(tmp_path / "gitloop.db"))
    yield opened
    opened.close()


def _sync(
    store: Store, lineage: Lineage, revision: str, message: str, phase: str, started: float, finished: float
) -> None:
    operation: dict[str, Any] = {
        "id": f"op-{revision}",
        "phase": phase,
        "startedAt": started,
        "finishedAt": finished,
    }
    lineage.record_sync(APP, revision, message, repo="config", committed=started - 10, operation=operation)
    store.append_history(
        history_owner(APP),
        {
            "operation": operation["id"],
            "revision": revision,
            "phase": phase,
            "sourceCommit": {"sha": revision, "message": message},
            "rollbackOf": None,
            "startedAt": started,
            "finishedAt": finished,
        },
    )


def _series(store: Store) -> None:
    lineage = Lineage(store, clock=lambda: 0.0)
    lineage.record_push(
        SourcePush(S1, "src", "refs/heads/main", 100.0), runs=[], listener="l", event_id="e1", received=110
    )
    lineage.record_push(
        SourcePush(S2, "src", "refs/heads/main", 1000.0), runs=[], listener="l", event_id="e2", received=1010
    )
    _sync(store, lineage, "c1", f"web: image v1\n\nGitloop-Source-Commit: {S1}", "Succeeded", 190, 200)
    assert lineage.record_healthy(APP, "c1", healthy=260)
    _sync(store, lineage, "c2", f"web: image v2\n\nGitloop-Source-Commit: {S2}", "Failed", 1290, 1300)
    assert not lineage.record_healthy(APP, "c2", healthy=1400)
    _sync(store, lineage, "c3", "web: fix the manifest", "Succeeded", 1890, 1900)
    assert lineage.record_healthy(APP, "c3", healthy=2000)
    _sync(
        store,
        lineage,
        "c4",
        'Revert "web: fix the manifest"\n\nThis reverts commit c3c3c3c3.',
        "Succeeded",
        5000,
        5010,
    )
    assert lineage.record_healthy(APP, "c4", healthy=5050)
    assert lineage.record_degraded(APP, "c4", degraded=5100)
    assert not lineage.record_degraded(APP, "c4", degraded=5200)
    assert not lineage.record_degraded(APP, "c2", degraded=5200)


def test_records_from_the_store(store: Store) -> None:
    _series(store)
    deployments, failures = records(store)
    assert sorted((d.revision, d.healthy_at, d.committed_at) for d in deployments) == [
        ("c1", 260, 100),
        ("c3", 2000, None),
        ("c4", 5050, None),
    ]
    assert sorted((f.at, f.cause) for f in failures) == [
        (1300, "sync-failed"),
        (5000, "revert"),
        (5100, "degraded"),
    ]


def test_report_from_the_store(store: Store) -> None:
    _series(store)
    report = dora_report(store, since=0.0, until=86400.0, env="prod")
    (figures,) = report.applications
    assert figures.deployments == 3
    assert (figures.lead_time_median, figures.lead_time_count) == (160, 1)
    assert figures.failed_deployments == 3 and figures.change_failure_rate == 1.0
    assert figures.failure_causes == {"degraded": 1, "revert": 1, "sync-failed": 1}
    assert (figures.time_to_restore_median, figures.restores, figures.unrestored) == (375, 2, 1)
    assert [e.name for e in report.environments] == ["prod"]
    assert dora_report(store, since=0.0, until=86400.0, env="dev").applications == []


@pytest.mark.parametrize(
    ("message", "revert"),
    [
        ('Revert "web: image v2"\n\nThis reverts commit 0123abcd.', True),
        ("manual\n\nThis reverts commit 0123abcdef.", True),
        ("web: image v2 (no revert)", False),
        ("Reverted nothing", False),
    ],
)
def test_is_revert(message: str, revert: bool) -> None:
    assert is_revert(message) is revert


def test_a_history_rollback_fails_the_deployment_and_restores_at_its_end(store: Store) -> None:
    lineage = Lineage(store, clock=lambda: 0.0)
    _sync(store, lineage, "c1", "v1", "Succeeded", 90, 100)
    lineage.record_healthy(APP, "c1", healthy=100)
    _sync(store, lineage, "c2", "v2", "Succeeded", 990, 1000)
    lineage.record_healthy(APP, "c2", healthy=1000)
    store.append_history(
        history_owner(APP),
        {"revision": "c1", "phase": "Succeeded", "rollbackOf": 0, "startedAt": 1500, "finishedAt": 1510},
    )
    (figures,) = dora_report(store, since=0.0, until=86400.0).applications
    assert figures.deployments == 2 and figures.failed_deployments == 1
    assert figures.failure_causes == {"rollback": 1}
    assert (figures.time_to_restore_median, figures.unrestored) == (10, 0)
