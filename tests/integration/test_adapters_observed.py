"""The adapters' reports to their :class:`~gitloop.ports.Observer`, against the real parts: a git mirror
of a repository of the real local git server (``ls-remote`` each fetch, ``fetch`` only when a ref moved,
the URL reported without the credentials it was given), and a cluster client of the real local cluster
(every request with its verb, resource, namespace and response code)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from gitloop.errors import NotFoundError
from gitloop.git import MirrorCache
from gitloop.kube import KubeCluster
from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitseed import commit_files
from gitloop.localinfra.gitserver import GitServer

pytestmark = pytest.mark.integration

Report = tuple[str, tuple[str, ...], float]


def test_git_mirror_reports_ls_remote_and_fetch(
    git_server: GitServer, git_env: dict[str, str], tmp_path: Path
) -> None:
    url = git_server.create_repo(f"observed-{uuid.uuid4().hex[:8]}")
    commit_files(url, {"a.yaml": "a: 1\n"}, "first")
    reports: list[Report] = []
    secret_url = url.replace("://", "://bot:s3cret@", 1)
    cache = MirrorCache(
        tmp_path / "cache", env=git_env, timeout=60, observe=lambda *report: reports.append(report)
    )
    mirror = cache.get(secret_url)

    def requests() -> list[tuple[str, tuple[str, ...]]]:
        found = [(event, labels) for event, labels, _ in reports]
        assert all(seconds > 0 for _, _, seconds in reports), reports
        reports.clear()
        return found

    mirror.fetch()
    assert requests() == [("git_request", (url, "ls-remote")), ("git_request", (url, "fetch"))]
    mirror.fetch()
    assert requests() == [("git_request", (url, "ls-remote"))], "nothing moved: no fetch"
    commit_files(url, {"a.yaml": "a: 2\n"}, "second")
    mirror.fetch()
    assert requests() == [("git_request", (url, "ls-remote")), ("git_request", (url, "fetch"))]
    assert "main" in {ref.rsplit("/", 1)[-1] for ref in mirror.ls_remote()}
    assert requests() == [("git_request", (url, "ls-remote"))]


def test_cluster_client_reports_every_request(local_cluster: LocalCluster) -> None:
    reports: list[Report] = []
    namespace = f"observed-{uuid.uuid4().hex[:6]}"
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "observed", "namespace": namespace},
        "data": {"a": "1"},
    }

    async def scenario() -> str:
        cluster = KubeCluster.from_kubeconfig(
            local_cluster.kubeconfig, observe=lambda *report: reports.append(report)
        )
        async with cluster:
            await cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
            await cluster.apply(configmap)
            await cluster.get("v1", "ConfigMap", "observed", namespace)
            await cluster.list("v1", "ConfigMap", namespace)
            with pytest.raises(NotFoundError):
                await cluster.get("v1", "ConfigMap", "absent", namespace)
            await cluster.delete("v1", "Namespace", namespace, propagation="Background")
            return cluster.server

    server = asyncio.run(scenario())
    assert all(event == "k8s_request" and seconds > 0 for event, _, seconds in reports), reports
    seen = [labels for _, labels, _ in reports]
    assert all(labels[0] == server for labels in seen)
    assert ("Get", "", "", "200") in {labels[1:] for labels in seen}, "discovery is counted too"
    made = [labels[1:] for labels in seen if labels[2] in ("namespaces", "configmaps")]
    assert made == [
        ("Patch", "namespaces", "", "201"),
        ("Patch", "configmaps", namespace, "201"),
        ("Get", "configmaps", namespace, "200"),
        ("List", "configmaps", namespace, "200"),
        ("Get", "configmaps", namespace, "404"),
        ("Delete", "namespaces", "", "200"),
    ]
