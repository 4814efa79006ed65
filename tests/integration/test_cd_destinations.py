"""``gitloop serve`` with two real local clusters side by side: an Application lands on the cluster its
destination names — by ``destination.name`` or by the cluster's URL in ``destination.server`` — and
only there; one whose destination names no configured cluster gets an ``InvalidSpecError`` condition
and nothing of it reaches either cluster (it used to land on the first one)."""

from __future__ import annotations

import asyncio
import textwrap
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from gitloop.errors import NotFoundError
from gitloop.kube import KubeCluster
from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitseed import commit_files
from gitloop.localinfra.gitserver import GitServer
from gitloop.service.server import open_server
from gitloop.spec.serveconfig import load

pytestmark = pytest.mark.integration

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {colour: blue}\n"


def _application(name: str, repo_url: str, destination: str, namespace: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {{name: {name}, namespace: argocd}}
        spec:
          project: default
          source: {{repoURL: {repo_url}, targetRevision: main, path: k8s}}
          destination: {{{destination}, namespace: {namespace}}}
          syncPolicy:
            automated: {{prune: true}}
            syncOptions: [CreateNamespace=true]
        """)


async def _settings(cluster: LocalCluster, namespace: str) -> dict[str, Any] | None:
    """The ConfigMap ``settings`` of ``namespace`` on ``cluster``, or ``None``."""
    async with KubeCluster.from_kubeconfig(cluster.kubeconfig) as kube:
        try:
            return await kube.get("v1", "ConfigMap", "settings", namespace)
        except NotFoundError:
            return None


async def _namespace_exists(cluster: LocalCluster, namespace: str) -> bool:
    async with KubeCluster.from_kubeconfig(cluster.kubeconfig) as kube:
        try:
            return await kube.get("v1", "Namespace", namespace, None) is not None
        except NotFoundError:
            return False


def _synced_healthy(status: Mapping[str, Any]) -> bool:
    return status["sync"]["status"] == "Synced" and (status["health"] or {}).get("status") == "Healthy"


def test_each_application_lands_only_on_the_cluster_its_destination_names(
    local_cluster: LocalCluster,
    second_cluster: LocalCluster,
    git_server: GitServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITLOOP_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GITLOOP_CACHE_DIR", str(tmp_path / "cache"))
    second_url = second_cluster.status().server
    assert second_url and second_url != local_cluster.status().server
    suffix = uuid.uuid4().hex[:6]
    repo_url = git_server.create_repo(f"destinations-{suffix}")
    commit_files(repo_url, {"k8s/settings.yaml": CONFIGMAP}, "settings")
    by_name, unknown, by_server = (f"{what}-{suffix}" for what in ("by-name", "unknown", "by-server"))
    apps = tmp_path / "apps"
    apps.mkdir()
    (apps / "by-name.yaml").write_text(_application(by_name, repo_url, "name: second", by_name))
    (apps / "unknown.yaml").write_text(_application(unknown, repo_url, "name: elsewhere", unknown))
    (apps / "by-server.yaml").write_text(
        _application(by_server, repo_url, f"server: '{second_url}/'", by_server)
    )
    config_file = tmp_path / "serve.yaml"
    config_file.write_text(
        textwrap.dedent(f"""\
            listen: 127.0.0.1:0
            pollInterval: 2s
            applications:
              - files: [apps]
            clusters:
              - {{name: first, kubeconfig: {local_cluster.kubeconfig}}}
              - {{name: second, kubeconfig: {second_cluster.kubeconfig}}}
            """)
    )
    config = load(config_file)

    async def scenario() -> dict[str, Mapping[str, Any]]:
        async with open_server(config) as server:
            assert server.apps is not None
            deadline = time.monotonic() + 120
            while True:
                statuses = {
                    name: server.apps.status(name)["status"] for name in (by_name, unknown, by_server)
                }
                refused = [c for c in statuses[unknown]["conditions"] if c["type"] == "InvalidSpecError"]
                landed = _synced_healthy(statuses[by_name]) and _synced_healthy(statuses[by_server])
                if landed and refused:
                    break
                assert time.monotonic() < deadline, f"the Applications did not settle: {statuses}"
                await asyncio.sleep(0.5)
            await asyncio.sleep(3)  # a later reconcile must not deploy the refused one either
            return {name: server.apps.status(name)["status"] for name in statuses}

    statuses = asyncio.run(scenario())
    [condition] = [c for c in statuses[unknown]["conditions"] if c["type"] == "InvalidSpecError"]
    assert condition["message"].startswith(
        "unable to find destination server: there are no clusters with this name: elsewhere"
    )
    assert statuses[unknown]["sync"]["status"] == "Unknown" and statuses[unknown]["resources"] == []

    async def placed() -> None:
        for namespace in (by_name, by_server):
            found = await _settings(second_cluster, namespace)
            assert found is not None and found["data"] == {"colour": "blue"}, namespace
            assert not await _namespace_exists(local_cluster, namespace), namespace
        for cluster in (local_cluster, second_cluster):
            assert not await _namespace_exists(cluster, unknown), cluster.name
            assert await _settings(cluster, unknown) is None, cluster.name

    asyncio.run(placed())
