"""DORA from a real loop (issue 12 acceptance): a real ``gitloop serve`` on the local cluster and git
server auto-syncs an Application through a scripted series — its first deployment, a good change (its
config commit naming a source commit), a change the API server refuses (the sync fails) and its fix —
then ``gitloop metrics dora -o json``, read from the store and asked of the server, gives the expected
deployments, lead time, failure rate and a restore time."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cd_support import CdWorld, configmap

from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitserver import GitServer

sys.path.insert(0, str(Path(__file__).parents[1] / "serve"))  # the serve tests' process helpers
from serve_process import GITLOOP, ServeProcess, free_port, serve_env

pytestmark = pytest.mark.integration

POLICY = "syncPolicy:\n  automated: {prune: true}\n  syncOptions: [CreateNamespace=true]\n"
SOURCE = "5eed" * 10


@pytest.fixture
def world(local_cluster: LocalCluster, git_server: GitServer, tmp_path: Path) -> Iterator[CdWorld]:
    found = CdWorld.create(
        local_cluster, git_server, tmp_path, {"k8s/cm.yaml": configmap("dora")}, policy=POLICY, name="dora"
    )
    yield found
    asyncio.run(found.cleanup())


def _dora(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [GITLOOP, "metrics", "dora", *args, "-o", "json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def _until(
    read: Callable[[], dict[str, Any]], ok: Callable[[dict[str, Any]], bool], what: str, serve: ServeProcess
) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        figures = read()
        if ok(figures):
            return figures
        assert time.monotonic() < deadline, f"{what}: {json.dumps(figures)}\n{serve.output()}"
        time.sleep(1.0)


def test_a_failure_and_its_fix_are_measured(world: CdWorld, tmp_path: Path) -> None:
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
    store_env = {k: v for k, v in env.items() if k not in ("GITLOOP_SERVER", "GITLOOP_DATABASE_URL")}

    def app() -> dict[str, Any]:
        report = _dora(store_env, "--config", str(config), "--app", world.app)
        return report["applications"][0] if report["applications"] else {"deployments": 0}

    with ServeProcess(config, env) as serve:
        _until(app, lambda a: a["deployments"] == 1, "the first deployment", serve)
        world.commit(
            {"k8s/cm.yaml": configmap("dora", data="v2")},
            f"dora: a good change\n\nGitloop-Source-Commit: {SOURCE}\nGitloop-Image: example/dora:v2",
        )
        _until(app, lambda a: a["deployments"] == 2, "the good change deployed", serve)
        # A manifest the API server refuses (an invalid name): the automated sync of it fails.
        world.commit({"k8s/bad.yaml": configmap("Not_A_Valid_Name")}, "dora: an invalid manifest")
        failed = _until(app, lambda a: a["failedDeployments"] == 1, "the failed sync counted", serve)
        assert failed["failureCauses"] == {"sync-failed": 1}
        assert failed["timeToRestore"]["unrestored"] == 1
        # The fix changes what is deployed: a commit that only made git match the cluster again would
        # leave the Application Synced without a sync operation, and no deployment.
        world.commit(
            {"k8s/bad.yaml": None, "k8s/cm.yaml": configmap("dora", data="v3")}, "dora: a valid manifest"
        )
        figures = _until(app, lambda a: a["deployments"] == 3, "the fix deployed", serve)
        from_server = _dora({**env, **serve.cli_env()}, "--app", world.app)
        assert serve.stop() == 0, serve.output()
    assert figures["changeFailureRate"] == pytest.approx(1 / 3)
    assert figures["failedDeployments"] == 1 and figures["failureCauses"] == {"sync-failed": 1}
    restore = figures["timeToRestore"]
    assert restore["restores"] == 1 and restore["unrestored"] == 0 and restore["median"] > 0
    assert figures["leadTime"]["count"] == 1 and figures["leadTime"]["median"] >= 0
    assert figures["deploymentFrequencyPerDay"] == pytest.approx(3 / 30)
    (served,) = from_server["applications"]
    assert served == figures
    environment = from_server["environments"][0]
    assert environment["applications"] == [world.app] and environment["deployments"] == 3
