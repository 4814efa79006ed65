"""The Prometheus families of Applications, runs and DORA: the engine's status events counted, the
store's runs read, every family rendered and the exposition text parsed back, and ``/metrics`` of the
real app (over a SQLite store, the CD engine a fake) showing them."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from gitloop.api.metrics import Metrics
from gitloop.gitops.history import history_owner
from gitloop.gitops.status import AppStatus, OperationSummary
from gitloop.lineage import Lineage
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.ports import Store
from gitloop.service.server.metrics_feed import AppEvents, MetricsFeed, app_info, run_status
from gitloop.spec.argocd import Application, Destination

WEB = Application("web", (), Destination(server="https://kubernetes.default.svc", namespace="web"), "team")


def _status(health: HealthStatus, op: tuple[str, str] | None = None, dry_run: bool = False) -> AppStatus:
    operation = None if op is None else OperationSummary(op[0], op[1], "", ("c1",), dry_run=dry_run)
    return AppStatus("web", health=HealthResult(health), operation=operation)


H, P, D = HealthStatus.HEALTHY, HealthStatus.PROGRESSING, HealthStatus.DEGRADED


def test_app_events_count_operations_once_and_health_changes() -> None:
    events = AppEvents()
    for status in (
        _status(P, ("op1", "Running")),
        _status(H, ("op1", "Succeeded")),
        _status(H, ("op1", "Succeeded")),  # the same operation seen again
        _status(D, ("op2", "Failed")),
        _status(D, ("op3", "Succeeded"), dry_run=True),  # a dry run is no sync
        _status(H, ("op4", "Succeeded")),
    ):
        events.observe(WEB, status)
    server = "https://kubernetes.default.svc"
    assert events.syncs == {
        ("web", "argocd", "team", "Succeeded", server): 2,
        ("web", "argocd", "team", "Failed", server): 1,
    }
    assert events.transitions == {
        ("web", "Progressing", "Healthy"): 1,
        ("web", "Healthy", "Degraded"): 1,
        ("web", "Degraded", "Healthy"): 1,
    }


def _run(status: str, reason: str, start: str | None, end: str | None) -> dict[str, Any]:
    times = {k: v for k, v in (("startTime", start), ("completionTime", end)) if v}
    return {"status": {"conditions": [{"type": "Succeeded", "status": status, "reason": reason}], **times}}


@pytest.mark.parametrize(
    ("status", "reason", "label"),
    [
        ("True", "Succeeded", "success"),
        ("False", "Failed", "failed"),
        ("False", "PipelineRunCancelled", "cancelled"),
        ("False", "Cancelled", "cancelled"),
        ("Unknown", "Running", ""),
        ("Unknown", "Pending", ""),
    ],
)
def test_run_status(status: str, reason: str, label: str) -> None:
    assert run_status(_run(status, reason, None, None)) == label


def test_app_info_labels() -> None:
    item = {
        "metadata": {"name": "web", "namespace": "argocd"},
        "spec": {
            "project": "team",
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"},
            "source": {"repoURL": "http://git.example.com/config.git"},
        },
        "status": {
            "sync": {"status": "OutOfSync"},
            "health": {"status": "Progressing"},
            "operationState": {"phase": "Running"},
        },
    }
    assert app_info(item) == (
        "web",
        "argocd",
        "team",
        "https://kubernetes.default.svc",
        "web",
        "http://git.example.com/config.git",
        "OutOfSync",
        "Progressing",
        "sync",
    )
    assert app_info({"metadata": {"name": "x"}})[0] == "x"


def _record_runs(store: Store) -> None:
    store.put(
        "PipelineRun",
        "ok",
        {"manifest": _run("True", "Succeeded", "2026-01-01T00:00:00Z", "2026-01-01T00:00:10Z")},
    )
    store.put(
        "PipelineRun",
        "bad",
        {"manifest": _run("False", "Failed", "2026-01-01T00:00:00Z", "2026-01-01T00:01:40Z")},
    )
    store.put(
        "PipelineRun",
        "waiting",
        {"manifest": _run("Unknown", "Pending", None, None)},
        labels={"gitloop.dev/queued": "true"},
    )
    for name, status in (("t1", "True"), ("t2", "True"), ("t3", "False")):
        store.put("TaskRun", name, {"manifest": _run(status, "x", None, None)})


def _record_deploys(store: Store) -> None:
    lineage = Lineage(store)
    now = time.time()
    for revision, phase, at in (
        ("c1", "Succeeded", now - 600),
        ("c2", "Failed", now - 500),
        ("c3", "Succeeded", now - 200),
    ):
        operation = {"id": revision, "phase": phase, "startedAt": at - 1, "finishedAt": at}
        lineage.record_sync("web", revision, "change", repo="config", committed=None, operation=operation)
        store.append_history(history_owner("web"), {"revision": revision, **operation})
        lineage.record_healthy("web", revision, healthy=at + 10)


def _parsed(text: str) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    families: dict[str, list[tuple[str, dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        families[family.name] = [(s.name, dict(s.labels), s.value) for s in family.samples]
    return families


def test_families_render_and_parse_back(store: Store) -> None:
    _record_runs(store)
    _record_deploys(store)
    events = AppEvents()
    events.observe(WEB, _status(P))
    events.observe(WEB, _status(H, ("op1", "Succeeded")))
    item = {"metadata": {"name": "web", "namespace": "argocd"}, "spec": {"project": "team"}, "status": {}}
    start = time.time()
    ticks = iter([start, start + 30, start + 61])
    feed = MetricsFeed(store, applications=lambda: [item], events=events, clock=lambda: next(ticks))
    metrics = Metrics()
    metrics.attach(feed)
    metrics.observe("hooks", 202, 0.01)
    families = _parsed((asyncio.run(metrics.scrape()) or b"").decode())
    assert families["argocd_app_info"] == [
        (
            "argocd_app_info",
            {
                "name": "web",
                "namespace": "argocd",
                "project": "team",
                "dest_server": "",
                "dest_namespace": "",
                "repo": "",
                "sync_status": "",
                "health_status": "",
                "operation": "",
            },
            1.0,
        )
    ]
    (sync,) = families["argocd_app_sync"]
    assert sync[0] == "argocd_app_sync_total" and sync[1]["phase"] == "Succeeded" and sync[2] == 1.0
    assert families["gitloop_app_health_transitions"] == [
        ("gitloop_app_health_transitions_total", {"name": "web", "from": "Progressing", "to": "Healthy"}, 1.0)
    ]
    assert sorted((s[1]["status"], s[2]) for s in families["gitloop_pipelinerun"]) == [
        ("failed", 1.0),
        ("success", 1.0),
    ]
    durations = {
        (s[0], s[1].get("status"), s[1].get("le")): s[2]
        for s in families["gitloop_pipelinerun_duration_seconds"]
    }
    assert durations[("gitloop_pipelinerun_duration_seconds_bucket", "success", "15.0")] == 1.0
    assert durations[("gitloop_pipelinerun_duration_seconds_bucket", "failed", "60.0")] == 0.0
    assert durations[("gitloop_pipelinerun_duration_seconds_bucket", "failed", "120.0")] == 1.0
    assert durations[("gitloop_pipelinerun_duration_seconds_sum", "failed", None)] == 100.0
    assert sorted((s[1]["status"], s[2]) for s in families["gitloop_taskrun"]) == [
        ("failed", 1.0),
        ("success", 2.0),
    ]
    assert families["gitloop_pipelinerun_queue_depth"] == [("gitloop_pipelinerun_queue_depth", {}, 1.0)]
    assert families["gitloop_dora_change_failure_ratio"] == [
        ("gitloop_dora_change_failure_ratio", {"app": "web"}, 0.5)
    ]
    assert families["gitloop_dora_time_to_restore_seconds"] == [
        ("gitloop_dora_time_to_restore_seconds", {"app": "web"}, 310.0)  # failed at -500, Healthy at -190
    ]
    assert families["gitloop_dora_deployment_frequency_per_day"][0][2] == pytest.approx(2 / 30)
    assert families["gitloop_dora_lead_time_seconds"] == []  # no config commit names a source commit
    assert "gitloop_webhook_requests" in families
    store.put(
        "PipelineRun",
        "waiting2",
        {"manifest": _run("Unknown", "Pending", None, None)},
        labels={"gitloop.dev/queued": "true"},
    )
    again = _parsed((asyncio.run(metrics.scrape()) or b"").decode())  # 30s later: the store is not read again
    assert again["gitloop_pipelinerun_queue_depth"][0][2] == 1.0
    later = _parsed((asyncio.run(metrics.scrape()) or b"").decode())  # 61s later: read again
    assert later["gitloop_pipelinerun_queue_depth"][0][2] == 2.0


def test_metrics_route_of_the_real_app(client: TestClient, store: Store) -> None:
    _record_runs(store)
    answer = client.get("/metrics")
    assert answer.status_code == 200
    families = _parsed(answer.text)
    assert sorted(s[1]["name"] for s in families["argocd_app_info"]) == ["dev", "head", "other", "prod"]
    assert {s[1]["health_status"] for s in families["argocd_app_info"]} == {"Healthy"}
    assert families["gitloop_pipelinerun_queue_depth"][0][2] == 1.0
    assert sorted((s[1]["status"], s[2]) for s in families["gitloop_taskrun"]) == [
        ("failed", 1.0),
        ("success", 2.0),
    ]


def test_the_grafana_dashboard_asks_for_metrics_served(store: Store) -> None:
    import re
    from pathlib import Path

    from gitloop.spec.yaml import load_json

    dashboard = load_json(
        (Path(__file__).parents[2] / "docs" / "grafana-dashboard.json").read_bytes(), source="dashboard"
    )
    asked = {
        re.sub(r"_(bucket|total)$", "", name)
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\b(?:gitloop|argocd)_[a-z0-9_]+", target["expr"])
    }
    metrics = Metrics()
    metrics.attach(MetricsFeed(store, applications=lambda: [], events=AppEvents()))
    metrics.observe("hooks", 202, 0.01)
    served = {
        re.sub(r"_total$", "", name) for name in _parsed((asyncio.run(metrics.scrape()) or b"").decode())
    }
    assert asked and asked <= served, asked - served
