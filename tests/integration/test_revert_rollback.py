"""Rollback by git revert on the real local cluster and git server (issue 12 acceptance): a real
``gitloop serve`` auto-syncs an Application at image v1, then a config change to v2; ``gitloop app
rollback APP --revert`` (a real CLI process against the server) pushes a new config commit whose
content is v1's, with ``Gitloop-Revert-Of`` and the original's ``Gitloop-Source-Commit``, and the
server's auto-sync brings the cluster back to v1."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cd_support import CdWorld

from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitrepos import git_executable
from gitloop.localinfra.gitserver import GitServer
from gitloop.model.trailers import parse_trailers

sys.path.insert(0, str(Path(__file__).parents[1] / "serve"))  # the serve tests' process helpers
from serve_process import GITLOOP, ServeProcess, free_port, serve_env

pytestmark = pytest.mark.integration

POLICY = "syncPolicy:\n  automated: {prune: true}\n  syncOptions: [CreateNamespace=true]\n"
FILE = "k8s/deploy.yaml"
SOURCE = "5eed" * 10


def _deploy(tag: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: web}}
        spec:
          replicas: 1
          selector: {{matchLabels: {{app: web}}}}
          template:
            metadata: {{labels: {{app: web}}}}
            spec:
              containers:
                - name: web
                  image: localhost/web:{tag}
        """)


@pytest.fixture
def world(local_cluster: LocalCluster, git_server: GitServer, tmp_path: Path) -> Iterator[CdWorld]:
    found = CdWorld.create(
        local_cluster, git_server, tmp_path, {FILE: _deploy("v1")}, policy=POLICY, name="rv"
    )
    yield found
    asyncio.run(found.cleanup())


def _until(read: Callable[[], Any], what: str, serve: ServeProcess, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = read()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{serve.output()[-4000:]}"
        time.sleep(0.5)


def _image(world: CdWorld) -> str:
    live = asyncio.run(world.live("apps/v1", "Deployment", "web"))
    return "" if live is None else str(live["spec"]["template"]["spec"]["containers"][0]["image"])


def test_a_revert_rollback_restores_the_previous_image_through_git(world: CdWorld, tmp_path: Path) -> None:
    config = tmp_path / "serve.yaml"
    config.write_text(
        textwrap.dedent(f"""\
            listen: 127.0.0.1:{free_port()}
            pollInterval: 2s
            applications:
              - files: [{world.apps_file.parent}]
            clusters:
              - {{name: local, kubeconfig: {world.cluster.kubeconfig}}}
            """)
    )
    env = serve_env(tmp_path / "state")
    env["GITLOOP_CACHE_DIR"] = str(tmp_path / "cache")
    checkout = tmp_path / "checkout"
    git = git_executable()

    def show(*args: str) -> str:
        return subprocess.run([git, *args], cwd=checkout, capture_output=True, text=True, check=True).stdout

    with ServeProcess(config, env) as serve, serve.client() as client:

        def synced_at(revision: str | None = None) -> dict[str, Any] | None:
            status = client.get(f"/api/v1/applications/{world.app}").json().get("status") or {}
            sync, health = status.get("sync") or {}, status.get("health") or {}
            done = sync.get("status") == "Synced" and health.get("status") == "Healthy"
            running = (status.get("operationState") or {}).get("phase") in ("Running", "Terminating")
            ok = done and not running and (revision is None or sync.get("revision") == revision)
            return status if ok else None

        first = _until(synced_at, "the first sync", serve)["sync"]["revision"]
        assert _image(world) == "localhost/web:v1"
        v2 = world.commit(
            {FILE: _deploy("v2")},
            f"web v2\n\nGitloop-Image: localhost/web:v2\nGitloop-Source-Commit: {SOURCE}",
        )
        _until(lambda: synced_at(v2), "the v2 change synced", serve)
        assert _image(world) == "localhost/web:v2"

        done = subprocess.run(
            [GITLOOP, "app", "rollback", world.app, "--revert"],
            env={**env, **serve.cli_env()},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr + serve.output()[-4000:]
        assert done.stdout.startswith(f'Reverted {v2[:12]} "web v2": commit '), done.stdout
        assert serve.token not in done.stdout + done.stderr

        subprocess.run([git, "clone", "-q", world.repo_url, str(checkout)], check=True, capture_output=True)
        revert = show("rev-parse", "origin/main").strip()
        assert revert not in (first, v2) and show("rev-parse", "origin/main^").strip() == v2
        assert show("show", f"origin/main:{FILE}") == _deploy("v1")
        assert show("diff", first, "origin/main", "--", FILE) == ""
        message = show("log", "-1", "--format=%B", "origin/main")
        assert message.startswith(f'Revert "web v2"\n\nThis reverts commit {v2}.')
        assert parse_trailers(message) == {"Gitloop-Revert-Of": v2, "Gitloop-Source-Commit": SOURCE}

        # The server's auto-sync applies the revert: the cluster is back at v1, by an automated sync.
        _until(lambda: synced_at(revert), "the revert synced", serve)
        assert _image(world) == "localhost/web:v1"

        def recorded() -> dict[str, Any] | None:
            status = synced_at(revert) or {}
            return next((h for h in status.get("history") or [] if h.get("revision") == revert), None)

        entry = _until(recorded, "the revert's sync in the history", serve, timeout=30)
        assert entry["initiatedBy"].get("automated") is True, entry
        status = client.get(f"/api/v1/applications/{world.app}").json()["status"]
        assert not (status.get("gitloop") or {}).get("autoSyncPausedAt")
        assert serve.stop() == 0, serve.output()
