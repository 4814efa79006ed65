"""``/metrics`` of a real ``gitloop serve`` process running a real Application from the real local git
server onto the real local cluster: the refreshes (``argocd_app_reconcile``), the sync's duration, the
git requests and the Kubernetes API requests its adapters made are all counted, and the credentials in
the Application's repository URL are nowhere in the text."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cd_support import CdWorld, configmap
from prometheus_client.parser import text_string_to_metric_families
from serve_support import serve_config, until

from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitserver import GitServer

sys.path.insert(0, str(Path(__file__).parents[1] / "serve"))  # the serve tests' process helpers
from serve_process import ServeProcess

pytestmark = pytest.mark.integration

SERVER = "https://kubernetes.default.svc"
Samples = dict[str, list[tuple[str, dict[str, str], float]]]


@pytest.fixture
def world(local_cluster: LocalCluster, git_server: GitServer, tmp_path: Path) -> Iterator[CdWorld]:
    found = CdWorld.create(local_cluster, git_server, tmp_path, {"k8s/a.yaml": configmap("alpha")}, name="m")
    yield found
    asyncio.run(found.cleanup())


def _scrape(client: httpx.Client) -> tuple[str, Samples]:
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.text
    families = {
        family.name: [(s.name, dict(s.labels), s.value) for s in family.samples]
        for family in text_string_to_metric_families(answer.text)
    }
    return answer.text, families


def _total(families: Samples, family: str, sample: str, **labels: str) -> float:
    return sum(
        value
        for name, found, value in families.get(family, [])
        if name == sample and all(found.get(k) == v for k, v in labels.items())
    )


def test_serve_counts_reconciles_git_and_kubernetes_requests(world: CdWorld, tmp_path: Path) -> None:
    secret_url = world.repo_url.replace("://", "://bot:s3cret@", 1)
    apps = tmp_path / "apps" / "app.yaml"
    apps.write_text(
        textwrap.dedent(f"""\
            apiVersion: argoproj.io/v1alpha1
            kind: Application
            metadata: {{name: {world.app}, namespace: argocd}}
            spec:
              project: default
              source: {{repoURL: {secret_url}, targetRevision: main, path: k8s}}
              destination: {{server: {SERVER}, namespace: {world.namespace}}}
              syncPolicy:
                automated: {{prune: true}}
                syncOptions: [CreateNamespace=true]
            """)
    )
    config, env = serve_config(world, tmp_path, f"{{files: [{apps}]}}")
    with ServeProcess(config, env) as serve, serve.client() as client:
        until(lambda: asyncio.run(world.live("v1", "ConfigMap", "alpha")) is not None, 60, "the sync")
        sync = "argocd_app_sync_duration_seconds"
        until(
            lambda: _total(_scrape(client)[1], sync, f"{sync}_total", name=world.app) > 0,
            30,
            "the sync's duration",
        )
        text, families = _scrape(client)
        assert "s3cret" not in text
        reconcile = "argocd_app_reconcile"
        assert _total(families, reconcile, f"{reconcile}_count", namespace="argocd", dest_server=SERVER) > 0
        assert _total(families, reconcile, f"{reconcile}_bucket", le="+Inf") > 0
        git = "argocd_git_request"
        for request_type in ("ls-remote", "fetch"):
            assert _total(families, git, f"{git}_total", repo=world.repo_url, request_type=request_type) > 0
            duration = "argocd_git_request_duration_seconds"
            assert _total(families, duration, f"{duration}_sum", request_type=request_type) > 0
        k8s = "argocd_app_k8s_request"
        applied = _total(
            families,
            k8s,
            f"{k8s}_total",
            verb="Patch",
            resource_kind="configmaps",
            resource_namespace=world.namespace,
        )
        assert applied > 0, families.get(k8s)
        timed = "gitloop_k8s_request_duration_seconds"
        assert _total(families, timed, f"{timed}_count", verb="Patch") >= applied
        info = [s for s in families["argocd_app_info"] if s[1]["name"] == world.app]
        assert [s[1]["repo"] for s in info] == [world.repo_url]
        assert serve.stop() == 0, serve.output()
