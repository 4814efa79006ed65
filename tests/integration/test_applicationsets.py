"""ApplicationSet on the real parts: a real ``gitloop serve`` process, the real local git server and the
real local cluster. An ApplicationSet POSTed through ``/api/v1/applicationsets`` with a git directories
generator over ``envs/*`` creates one Application per directory (each deploying the ConfigMap of
``deploy/<env>``); a push adding ``envs/qa``, announced by the webhook, creates its Application; a push
removing ``envs/dev`` deletes its Application and (the resources finalizer the controller adds) its
ConfigMap; a generator
that errors (a revision that does not exist) deletes nothing and the ApplicationSet shows the error;
deleting the ApplicationSet deletes its Applications."""

from __future__ import annotations

import asyncio
import sys
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
    files = {"k8s/cm.yaml": configmap("cm-base")}
    for env in ("dev", "prod"):
        files.update(_environment(env))
    found = CdWorld.create(local_cluster, git_server, tmp_path, files, name="appset")
    yield found
    asyncio.run(found.cleanup())


def _environment(env: str) -> dict[str, str]:
    """An environment: its directory (what the generator lists) and its manifests."""
    return {
        f"envs/{env}/README.md": f"The {env} environment.\n",
        f"deploy/{env}/cm.yaml": configmap(f"cm-{env}"),
    }


def _appset(world: CdWorld, revision: str = "main") -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": world.app, "namespace": "argocd"},
        "spec": {
            "generators": [
                {
                    "git": {
                        "repoURL": world.repo_url,
                        "revision": revision,
                        "directories": [{"path": "envs/*"}],
                    }
                }
            ],
            "template": {
                "metadata": {"name": f"{{{{path.basename}}}}-{world.app}"},
                "spec": {
                    "project": "default",
                    "source": {
                        "repoURL": world.repo_url,
                        "targetRevision": "main",
                        "path": "deploy/{{path.basename}}",
                    },
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": world.namespace},
                    "syncPolicy": {"automated": {"prune": True}, "syncOptions": ["CreateNamespace=true"]},
                },
            },
        },
    }


def _deployed(client: httpx.Client, world: CdWorld, env: str) -> bool:
    answer = client.get(f"/api/v1/applications/{env}-{world.app}")
    if answer.status_code != 200:
        return False
    status: dict[str, Any] = answer.json()["status"]
    healthy = status["sync"]["status"] == "Synced" and status["health"]["status"] == "Healthy"
    return healthy and _live(world, env)


def _live(world: CdWorld, env: str) -> bool:
    return asyncio.run(world.live("v1", "ConfigMap", f"cm-{env}")) is not None


def _gone(client: httpx.Client, world: CdWorld, env: str) -> bool:
    return client.get(f"/api/v1/applications/{env}-{world.app}").status_code == 404


def _webhook(client: httpx.Client, world: CdWorld, sha: str) -> None:
    body = github_push(repo=world.repo_url.removesuffix(".git"), after=sha)
    answer = client.post("/api/webhook", content=body, headers={"X-GitHub-Event": "push"})
    assert answer.status_code == 200, answer.text
    said = answer.json()
    assert said["applicationSets"] == [world.app] and said["message"] == "refreshing", said


def _conditions(shown: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in shown["status"]["conditions"]}


def _resources(shown: dict[str, Any]) -> list[str]:
    return sorted(r["name"] for r in shown["status"]["resources"])


def test_a_git_directory_applicationset_follows_git_and_an_error_deletes_nothing(
    world: CdWorld, tmp_path: Path
) -> None:
    config, env = serve_config(world, tmp_path, f"files: [{world.apps_file.parent}]")
    dev, prod, qa = (f"{e}-{world.app}" for e in ("dev", "prod", "qa"))
    with ServeProcess(config, env) as serve, serve.client() as client:
        created = client.post("/api/v1/applicationsets", json=_appset(world))
        assert created.status_code == 200, created.text
        shown = created.json()
        assert shown["kind"] == "ApplicationSet" and shown["spec"] == _appset(world)["spec"]
        assert _resources(shown) == sorted([dev, prod])
        assert _conditions(shown)["ResourcesUpToDate"]["status"] == "True"
        again = client.post("/api/v1/applicationsets", json=_appset(world, revision="HEAD"))
        assert again.status_code == 409, again.text
        listed = client.get("/api/v1/applicationsets").json()
        assert [i["metadata"]["name"] for i in listed["items"]] == [world.app]
        for name in ("dev", "prod"):
            until(lambda n=name: _deployed(client, world, n), 90, f"{name} Synced, Healthy and deployed")

        added = world.commit(_environment("qa"), "a qa environment")
        _webhook(client, world, added)
        until(lambda: client.get(f"/api/v1/applications/{qa}").status_code == 200, 10, f"{qa} created")
        until(lambda: _deployed(client, world, "qa"), 90, "qa deployed")

        removed = world.commit({"envs/dev/README.md": None}, "no dev environment any more")
        _webhook(client, world, removed)
        until(lambda: _gone(client, world, "dev"), 60, f"{dev} deleted")
        until(lambda: not _live(world, "dev"), 30, "the finalizer deleting cm-dev")

        broken = client.post(
            "/api/v1/applicationsets?upsert=true", json=_appset(world, revision="no-such-branch")
        )
        assert broken.status_code == 200, broken.text
        conditions = _conditions(broken.json())
        assert conditions["ErrorOccurred"]["status"] == "True", conditions
        assert "no-such-branch" in conditions["ErrorOccurred"]["message"]
        assert conditions["ParametersGenerated"]["status"] == "False"
        time.sleep(1.0)
        assert _deployed(client, world, "prod") and _deployed(client, world, "qa"), "an error deletes nothing"
        shown = client.get(f"/api/v1/applicationsets/{world.app}").json()
        assert _resources(shown) == sorted([prod, qa])
        assert {(r["status"], r["health"]["status"]) for r in shown["status"]["resources"]} == {
            ("Synced", "Healthy")
        }
        assert _conditions(shown)["ErrorOccurred"]["status"] == "True"

        assert client.delete(f"/api/v1/applicationsets/{world.app}").json() == {}
        assert _gone(client, world, "prod") and _gone(client, world, "qa")
        assert client.get(f"/api/v1/applicationsets/{world.app}").status_code == 404
        assert serve.stop() == 0, serve.output()
