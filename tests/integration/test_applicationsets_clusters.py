"""The ApplicationSet ``clusters`` generator on two real local clusters: ``gitloop serve`` registers both
from its config with a label; an ApplicationSet selecting that label (POSTed through the API) makes one
Application per cluster, each deploying the ConfigMap of the same git path to its own cluster."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from gitloop.errors import NotFoundError
from gitloop.kube import KubeCluster
from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitseed import commit_files
from gitloop.localinfra.gitserver import GitServer

sys.path.insert(0, str(Path(__file__).parents[1] / "serve"))  # the serve tests' process helpers
from serve_process import ServeProcess, free_port, serve_env

pytestmark = pytest.mark.integration

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {colour: green}\n"


def _appset(name: str, repo_url: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": name},
        "spec": {
            "goTemplate": True,
            "generators": [{"clusters": {"selector": {"matchLabels": {"fleet": name}}}}],
            "template": {
                "metadata": {"name": f"{name}-{{{{.name}}}}"},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": repo_url, "targetRevision": "main", "path": "k8s"},
                    "destination": {"name": "{{.name}}", "namespace": namespace},
                    "syncPolicy": {"automated": {"prune": True}, "syncOptions": ["CreateNamespace=true"]},
                },
            },
        },
    }


async def _settings(cluster: LocalCluster, namespace: str) -> dict[str, Any] | None:
    async with KubeCluster.from_kubeconfig(cluster.kubeconfig) as kube:
        try:
            return await kube.get("v1", "ConfigMap", "settings", namespace)
        except NotFoundError:
            return None


async def _delete_namespace(cluster: LocalCluster, namespace: str) -> None:
    async with KubeCluster.from_kubeconfig(cluster.kubeconfig) as kube:
        with contextlib.suppress(NotFoundError):
            await kube.delete("v1", "Namespace", namespace, None)


def _synced(client: httpx.Client, name: str) -> bool:
    answer = client.get(f"/api/v1/applications/{name}")
    if answer.status_code != 200:
        return False
    status: dict[str, Any] = answer.json()["status"]
    return status["sync"]["status"] == "Synced" and status["health"]["status"] == "Healthy"


def test_the_clusters_generator_deploys_to_two_real_clusters(
    local_cluster: LocalCluster, second_cluster: LocalCluster, git_server: GitServer, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:6]
    name, namespace = f"fleet-{suffix}", f"fleet-{suffix}"
    repo_url = git_server.create_repo(f"fleet-{suffix}")
    commit_files(repo_url, {"k8s/settings.yaml": CONFIGMAP}, "settings")
    (tmp_path / "apps").mkdir()
    config = tmp_path / "serve.yaml"
    config.write_text(
        textwrap.dedent(f"""\
            listen: 127.0.0.1:{free_port()}
            pollInterval: 10m
            applications:
              - files: [apps]
            clusters:
              - {{name: first, kubeconfig: {local_cluster.kubeconfig}, labels: {{fleet: {name}}}}}
              - {{name: second, kubeconfig: {second_cluster.kubeconfig}, labels: {{fleet: {name}}}}}
              - {{name: other, kubeconfig: {second_cluster.kubeconfig}, server: https://other.example}}
            """)
    )
    env = serve_env(tmp_path / "state")
    env["GITLOOP_CACHE_DIR"] = str(tmp_path / "cache")
    try:
        with ServeProcess(config, env) as serve, serve.client() as client:
            created = client.post("/api/v1/applicationsets", json=_appset(name, repo_url, namespace))
            assert created.status_code == 200, created.text + serve.output()[-3000:]
            resources = sorted(r["name"] for r in created.json()["status"]["resources"])
            assert resources == [f"{name}-first", f"{name}-second"], "the unlabelled cluster is not selected"
            deadline = time.monotonic() + 120
            while not (_synced(client, f"{name}-first") and _synced(client, f"{name}-second")):
                assert time.monotonic() < deadline, (
                    f"both Applications Synced and Healthy\n{serve.output()[-3000:]}"
                )
                time.sleep(0.2)
            for cluster in (local_cluster, second_cluster):
                found = asyncio.run(_settings(cluster, namespace))
                assert found is not None and found["data"] == {"colour": "green"}, cluster
            second = client.get(f"/api/v1/applications/{name}-second").json()
            assert second["spec"]["destination"] == {"name": "second", "namespace": namespace}
            assert serve.stop() == 0, serve.output()
    finally:
        for cluster in (local_cluster, second_cluster):
            asyncio.run(_delete_namespace(cluster, namespace))
