"""App of Apps on the real parts: a real ``gitloop serve`` process, the real local git server and the
real local cluster. A root Application (automated, prune) whose path holds three child Applications
(each with the resources finalizer, each deploying one ConfigMap) registers them and they sync on their
own; a push adding a fourth, announced by the webhook, registers it within a second of the answer; a
push removing one deletes it, and its finalizer deletes its ConfigMap from the cluster."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cd_support import CdWorld, configmap
from serve_support import serve_config, until

from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitserver import GitServer

sys.path.insert(0, str(Path(__file__).parents[1] / "serve"))  # the serve tests' process helpers
from serve_fakes import github_push
from serve_process import ServeProcess

pytestmark = pytest.mark.integration

POLICY = "syncPolicy: {automated: {prune: true}, syncOptions: [CreateNamespace=true]}\n"


def _child(world: CdWorld, name: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata:
          name: {name}
          namespace: argocd
          finalizers: [resources-finalizer.argocd.argoproj.io]
        spec:
          project: default
          source: {{repoURL: {world.repo_url}, targetRevision: main, path: {name}}}
          destination: {{server: https://kubernetes.default.svc, namespace: {world.namespace}}}
          syncPolicy:
            automated: {{prune: true}}
            syncOptions: [CreateNamespace=true]
        """)


def _files(world: CdWorld, *names: str) -> dict[str, str]:
    found = {f"apps/{n}.yaml": _child(world, n) for n in names}
    found.update({f"{n}/cm.yaml": configmap(f"cm-{n}") for n in names})
    return found


@pytest.fixture
def world(local_cluster: LocalCluster, git_server: GitServer, tmp_path: Path) -> Iterator[CdWorld]:
    readme = {"README.md": "An App of Apps.\n"}
    found = CdWorld.create(
        local_cluster, git_server, tmp_path, readme, policy=POLICY, name="root", path="apps"
    )
    found.commit(_files(found, *(f"{found.app}-{n}" for n in ("one", "two", "three"))), "three children")
    yield found
    asyncio.run(found.cleanup())


def _webhook(client: httpx.Client, world: CdWorld, sha: str) -> float:
    """The push announced; when its answer came."""
    body = github_push(repo=world.repo_url.removesuffix(".git"), after=sha)
    answer = client.post("/api/webhook", content=body, headers={"X-GitHub-Event": "push"})
    assert answer.status_code == 200, answer.text
    return time.monotonic()


def _synced_healthy(client: httpx.Client, name: str) -> bool:
    answer = client.get(f"/api/v1/applications/{name}")
    if answer.status_code != 200:
        return False
    status: dict[str, Any] = answer.json()["status"]
    return status["sync"]["status"] == "Synced" and status["health"]["status"] == "Healthy"


def _live(world: CdWorld, name: str) -> bool:
    return asyncio.run(world.live("v1", "ConfigMap", f"cm-{name}")) is not None


def test_a_root_application_registers_its_children_and_follows_pushes(world: CdWorld, tmp_path: Path) -> None:
    config, env = serve_config(world, tmp_path, f"files: [{world.apps_file.parent}]")
    one, two, three, four = (f"{world.app}-{n}" for n in ("one", "two", "three", "four"))
    with ServeProcess(config, env) as serve, serve.client() as client:
        for name in (one, two, three):
            until(lambda n=name: _synced_healthy(client, n), 90, f"{name} Synced and Healthy")
            assert _live(world, name), f"the ConfigMap of {name} is in the cluster"
        until(lambda: _synced_healthy(client, world.app), 30, "the root Synced and Healthy")
        root = client.get(f"/api/v1/applications/{world.app}").json()
        children = {r["name"]: r for r in root["status"]["resources"] if r["kind"] == "Application"}
        assert sorted(children) == sorted([one, two, three])
        assert {
            (r["group"], r["namespace"], r["status"], r["health"]["status"]) for r in children.values()
        } == {("argoproj.io", "argocd", "Synced", "Healthy")}
        tree = client.get(f"/api/v1/applications/{world.app}/resource-tree").json()
        assert sorted(n["name"] for n in tree["nodes"] if n["kind"] == "Application") == sorted(children)

        added = world.commit(_files(world, four), "a fourth child")
        answered = _webhook(client, world, added)
        seen = until(lambda: client.get(f"/api/v1/applications/{four}").status_code == 200, 10, four)
        assert seen - answered < 1.0, f"registered {seen - answered:.2f}s after the webhook answer"
        until(lambda: _synced_healthy(client, four) and _live(world, four), 90, f"{four} deployed")

        removed = world.commit({f"apps/{two}.yaml": None}, "the second child goes")
        _webhook(client, world, removed)
        until(lambda: client.get(f"/api/v1/applications/{two}").status_code == 404, 60, f"{two} deleted")
        assert not _live(world, two), "its finalizer deleted its ConfigMap"
        assert _live(world, one) and _live(world, four)
        assert serve.stop() == 0, serve.output()
