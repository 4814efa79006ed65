"""A git source of the serve config followed by push webhook: a real ``gitloop serve`` process, the
real local git server and the real local cluster. A commit adding an Application file, announced by
the webhook, registers it within a second of the answer (and it syncs to the cluster); a commit
removing the whole directory is an error that deletes nothing; a commit removing the file deletes the
Application, and its resources finalizer deletes its resources from the cluster."""

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


@pytest.fixture
def world(local_cluster: LocalCluster, git_server: GitServer, tmp_path: Path) -> Iterator[CdWorld]:
    files = {"k8s/a.yaml": configmap("alpha"), "argocd/README.md": "Applications of this repository.\n"}
    found = CdWorld.create(local_cluster, git_server, tmp_path, files, name="cfg")
    yield found
    asyncio.run(found.cleanup())


def _application(world: CdWorld) -> str:
    return textwrap.dedent(f"""\
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata:
          name: {world.app}
          namespace: argocd
          finalizers: [resources-finalizer.argocd.argoproj.io]
        spec:
          project: default
          source: {{repoURL: {world.repo_url}, targetRevision: main, path: k8s}}
          destination: {{server: https://kubernetes.default.svc, namespace: {world.namespace}}}
          syncPolicy:
            automated: {{prune: true}}
            syncOptions: [CreateNamespace=true]
        """)


def _webhook(client: httpx.Client, world: CdWorld, sha: str) -> float:
    """The push announced; when its answer came."""
    body = github_push(repo=world.repo_url.removesuffix(".git"), after=sha)
    answer = client.post("/api/webhook", content=body, headers={"X-GitHub-Event": "push"})
    assert answer.status_code == 200, answer.text
    return time.monotonic()


def _status(client: httpx.Client) -> dict[str, Any]:
    [entry] = client.get("/api/status").json()["applicationSources"]
    assert isinstance(entry, dict)
    return entry


def test_a_git_source_follows_pushes_by_webhook(world: CdWorld, tmp_path: Path) -> None:
    config, env = serve_config(
        world, tmp_path, f"{{repoURL: {world.repo_url}, revision: main, path: argocd}}"
    )
    app_url = f"/api/v1/applications/{world.app}"
    with ServeProcess(config, env) as serve, serve.client() as client:
        [entry] = client.get("/api/status").json()["applicationSources"]
        assert "error" not in entry and len(entry["revision"]) == 40, entry
        assert client.get(app_url).status_code == 404

        added = world.commit({"argocd/app.yaml": _application(world)}, "add an Application")
        answered = _webhook(client, world, added)
        seen = until(lambda: client.get(app_url).status_code == 200, 5, "the Application")
        assert seen - answered < 1.0, f"registered {seen - answered:.2f}s after the webhook answer"
        assert client.get("/api/status").json()["applicationSources"][0]["revision"] == added
        until(lambda: asyncio.run(world.live("v1", "ConfigMap", "alpha")) is not None, 60, "the sync")

        # The whole directory gone: an error of the source, nothing deleted.
        gone = world.commit({"argocd/app.yaml": None, "argocd/README.md": None}, "remove the directory")
        _webhook(client, world, gone)
        until(lambda: "error" in _status(client), 5, "the error in /api/status")
        assert (
            "argocd is not a directory" in _status(client)["error"] and gone[:12] in _status(client)["error"]
        )
        assert client.get(app_url).status_code == 200

        removed = world.commit({"argocd/README.md": "Applications of this repository.\n"}, "only the README")
        _webhook(client, world, removed)
        until(lambda: client.get(app_url).status_code == 404, 60, "the deletion")
        assert "error" not in _status(client) and _status(client)["revision"] == removed
        assert asyncio.run(world.live("v1", "ConfigMap", "alpha")) is None
        assert "deleted " + world.app in serve.output()
        assert serve.stop() == 0, serve.output()
