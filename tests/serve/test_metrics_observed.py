"""What the adapters report and the engine's refreshes, as ``/metrics`` families: the labels of a
Kubernetes API request read from its URL, the buckets an observation falls in, repository URLs without
credentials, and the families rendered by the real registry and parsed back."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gitloop.api.metrics import Metrics
from gitloop.gitops.status import AppStatus, OperationSummary
from gitloop.kube.observed import request_labels
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.ports import Store
from gitloop.service.server.metrics_feed import AppEvents, MetricsFeed, app_info
from gitloop.service.server.observations import (
    GIT_BUCKETS,
    RECONCILE_BUCKETS,
    Observations,
    Tally,
    repo_label,
)
from gitloop.spec.argocd import Application, Destination

SERVER = "https://kubernetes.default.svc"
WEB = Application("web", (), Destination(server=SERVER, namespace="web"), "team")


@pytest.mark.parametrize(
    ("method", "path", "query", "labels"),
    [
        ("GET", "/api/v1/namespaces/web/configmaps/a", "", ("Get", "configmaps", "web")),
        ("GET", "/api/v1/namespaces/web/configmaps", "labelSelector=x", ("List", "configmaps", "web")),
        ("GET", "/api/v1/configmaps", "", ("List", "configmaps", "")),
        ("GET", "/apis/apps/v1/deployments", "watch=true&resourceVersion=5", ("Watch", "deployments", "")),
        ("GET", "/apis/apps/v1/namespaces/web/deployments", "watch=1", ("Watch", "deployments", "web")),
        (
            "PATCH",
            "/apis/apps/v1/namespaces/web/deployments/web",
            "force=true",
            ("Patch", "deployments", "web"),
        ),
        ("PATCH", "/apis/apps/v1/namespaces/web/deployments/web/status", "", ("Patch", "deployments", "web")),
        ("POST", "/api/v1/namespaces", "", ("Create", "namespaces", "")),
        ("GET", "/api/v1/namespaces/web", "", ("Get", "namespaces", "")),
        ("DELETE", "/api/v1/namespaces/web/pods/p", "", ("Delete", "pods", "web")),
        ("PUT", "/apis/x.io/v1/things/t", "", ("Update", "things", "")),
        ("OPTIONS", "/api/v1/pods", "", ("Unknown", "pods", "")),
        ("GET", "/api", "", ("Get", "", "")),
        ("GET", "/apis/apps/v1", "", ("Get", "", "")),
        ("GET", "/version", "", ("Get", "", "")),
    ],
)
def test_request_labels(method: str, path: str, query: str, labels: tuple[str, str, str]) -> None:
    assert request_labels(method, path, query) == labels


@pytest.mark.parametrize(
    ("values", "cumulative"),
    [
        ((), (0, 0, 0, 0, 0, 0, 0)),
        ((0.25,), (1, 1, 1, 1, 1, 1, 1)),  # a value equal to a bound is counted in it
        ((0.3, 3.0), (0, 1, 1, 1, 2, 2, 2)),
        ((16.0, 17.0, 100.0), (0, 0, 0, 0, 0, 0, 1)),  # past every bound: only in +Inf (the count)
    ],
)
def test_tally_buckets(values: tuple[float, ...], cumulative: tuple[int, ...]) -> None:
    tally = Tally(RECONCILE_BUCKETS)
    for value in values:
        tally.add(value)
    assert tally.cumulative() == cumulative
    assert tally.count == len(values) and tally.total == pytest.approx(sum(values))


@pytest.mark.parametrize(
    ("url", "label"),
    [
        ("https://user:s3cret@git.example.com/org/config.git", "https://git.example.com/org/config.git"),
        ("http://token@git.example.com/config", "http://git.example.com/config"),
        ("https://git.example.com/org/config.git", "https://git.example.com/org/config.git"),
        ("git@github.com:org/config.git", "git@github.com:org/config.git"),  # a user, no secret
        ("ssh://git:s3cret@host/org/config", "ssh://git:***@host/org/config"),
        (" https://a:b@h/r ", "https://h/r"),
    ],
)
def test_repo_label_has_no_credentials(url: str, label: str) -> None:
    assert repo_label(url) == label
    item = {"metadata": {"name": "web"}, "spec": {"source": {"repoURL": url}}}
    assert app_info(item)[5] == label  # argocd_app_info's repo too


def _families(text: str) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    return {
        family.name: [(s.name, dict(s.labels), s.value) for s in family.samples]
        for family in text_string_to_metric_families(text)
    }


def test_observed_families_render_and_parse_back(store: Store) -> None:
    observed = Observations()
    repo = "https://bot:s3cret@git.example.com/config.git"
    for seconds in (0.05, 0.3):
        observed("git_request", (repo, "ls-remote"), seconds)
    observed("git_request", (repo, "fetch"), 30.0)
    observed("k8s_request", (SERVER, "Patch", "configmaps", "web", "200"), 0.02)
    observed("k8s_request", (SERVER, "Patch", "configmaps", "web", "200"), 0.04)
    observed("k8s_request", (SERVER, "Get", "configmaps", "web", "404"), 0.003)
    observed("no_such_event", ("x",), 1.0)  # an unknown report is no family
    observed("git_request", ("too", "many", "labels"), 1.0)

    events = AppEvents()
    events.reconciled(WEB, 0.3)
    events.reconciled(WEB, 5.0)
    events.reconciled(None, 1.0)  # an Application deleted meanwhile
    running = OperationSummary("op1", "Running", "", ("c1",), started_at=100.0)
    events.observe(WEB, AppStatus("web", health=HealthResult(HealthStatus.PROGRESSING), operation=running))
    done = OperationSummary("op1", "Succeeded", "", ("c1",), started_at=100.0, finished_at=112.5)
    events.observe(WEB, AppStatus("web", health=HealthResult(HealthStatus.HEALTHY), operation=done))
    failed = OperationSummary("op2", "Failed", "", ("c2",), started_at=200.0, finished_at=260.0)
    events.observe(WEB, AppStatus("web", health=HealthResult(HealthStatus.HEALTHY), operation=failed))

    metrics = Metrics()
    metrics.attach(MetricsFeed(store, applications=lambda: [], events=events, observations=observed))
    text = (asyncio.run(metrics.scrape()) or b"").decode()
    assert "s3cret" not in text and "no_such_event" not in text
    families = _families(text)
    clean = "https://git.example.com/config.git"

    assert sorted((s[1]["request_type"], s[2]) for s in families["argocd_git_request"]) == [
        ("fetch", 1.0),
        ("ls-remote", 2.0),
    ]
    git = {
        (s[0], s[1].get("request_type"), s[1].get("le")): s[2]
        for s in families["argocd_git_request_duration_seconds"]
    }
    assert {s[1]["repo"] for s in families["argocd_git_request_duration_seconds"]} == {clean}
    assert git[("argocd_git_request_duration_seconds_bucket", "ls-remote", "0.1")] == 1.0
    assert git[("argocd_git_request_duration_seconds_bucket", "ls-remote", "0.5")] == 2.0
    assert git[("argocd_git_request_duration_seconds_bucket", "fetch", "20.0")] == 0.0
    assert git[("argocd_git_request_duration_seconds_bucket", "fetch", "+Inf")] == 1.0
    assert git[("argocd_git_request_duration_seconds_sum", "fetch", None)] == 30.0
    assert len([k for k in git if k[0].endswith("_bucket") and k[1] == "fetch"]) == len(GIT_BUCKETS) + 1

    requests = {
        (s[1]["verb"], s[1]["response_code"]): (s[1], s[2]) for s in families["argocd_app_k8s_request"]
    }
    assert requests[("Patch", "200")] == (
        {
            "namespace": "",
            "name": "",
            "project": "",
            "server": SERVER,
            "verb": "Patch",
            "resource_kind": "configmaps",
            "resource_namespace": "web",
            "response_code": "200",
        },
        2.0,
    )
    assert requests[("Get", "404")][1] == 1.0
    k8s = {
        (s[0], s[1]["verb"]): s[2]
        for s in families["gitloop_k8s_request_duration_seconds"]
        if "le" not in s[1]
    }
    assert k8s[("gitloop_k8s_request_duration_seconds_count", "Patch")] == 2.0
    assert k8s[("gitloop_k8s_request_duration_seconds_sum", "Patch")] == pytest.approx(0.06)

    reconcile = {
        (s[0], s[1].get("le")): (s[1]["namespace"], s[1]["dest_server"], s[2])
        for s in families["argocd_app_reconcile"]
    }
    assert reconcile[("argocd_app_reconcile_count", None)] == ("argocd", SERVER, 2.0)
    assert reconcile[("argocd_app_reconcile_bucket", "0.5")][2] == 1.0
    assert reconcile[("argocd_app_reconcile_bucket", "8.0")][2] == 2.0
    assert families["argocd_app_sync_duration_seconds"] == [
        (
            "argocd_app_sync_duration_seconds_total",
            {"namespace": "argocd", "name": "web", "project": "team", "dest_server": SERVER},
            12.5,  # only the operation that Succeeded, as Argo CD counts
        )
    ]
