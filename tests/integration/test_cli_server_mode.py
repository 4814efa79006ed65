"""``gitloop app`` prints the same with ``--server`` as with ``-f``: a real ``gitloop serve`` over the real
local cluster and git server, and the local mode over the same Application file, kubeconfig and store.

Operations run through the server only (the local mode reads what the server stored): two engines that
both change one Application would each hold their own idea of its last operation."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cd_support import CdWorld, configmap
from click.testing import CliRunner, Result

from gitloop.cli import app_output
from gitloop.cli.app_modes import LocalApps
from gitloop.cli.main import cli
from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitserver import GitServer

sys.path.insert(0, str(Path(__file__).parents[1] / "serve"))  # the serve tests' process helpers
from serve_process import ServeProcess, free_port, serve_env

pytestmark = pytest.mark.integration

TOKEN = "cli-server-mode-token"


@pytest.fixture
def world(local_cluster: LocalCluster, git_server: GitServer, tmp_path: Path) -> Iterator[CdWorld]:
    files = {"k8s/a.yaml": configmap("alpha"), "k8s/b.yaml": configmap("beta", data="b1")}
    policy = "syncPolicy: {syncOptions: [CreateNamespace=true]}\n"
    found = CdWorld.create(local_cluster, git_server, tmp_path, files, policy=policy, name="cli")
    yield found
    asyncio.run(found.cleanup())


@pytest.fixture
def serve(world: CdWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServeProcess]:
    state, cache = tmp_path / "state", tmp_path / "cache"
    (tmp_path / "api-token").write_text(TOKEN + "\n")
    config = tmp_path / "serve.yaml"
    config.write_text(
        textwrap.dedent(f"""\
            listen: 127.0.0.1:{free_port()}
            pollInterval: 10m
            apiTokenFile: api-token
            applications:
              - files: [{world.apps_file.parent}]
            clusters:
              - {{name: local, kubeconfig: {world.cluster.kubeconfig}}}
            """)
    )
    env = serve_env(state)
    env["GITLOOP_CACHE_DIR"] = str(cache)
    # The local mode: the same store as the server (git mirrors of its own).
    monkeypatch.setenv("GITLOOP_CACHE_DIR", str(tmp_path / "local-cache"))
    monkeypatch.setenv("GITLOOP_STATE_DIR", str(state))
    monkeypatch.delenv("GITLOOP_SERVER", raising=False)
    monkeypatch.delenv("GITLOOP_AUTH_TOKEN", raising=False)
    world.database = state / "gitloop.db"
    with ServeProcess(config, env) as process:
        _until_known(process.url, world.app)
        yield process
        assert process.stop() == 0, process.output()
    assert TOKEN not in process.output()


def _until_known(url: str, app: str) -> None:
    deadline = time.monotonic() + 60
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        while client.get(f"/api/v1/applications/{app}").status_code != 200:
            assert time.monotonic() < deadline, f"the server never showed {app}"
            time.sleep(0.2)


def _server(serve: ServeProcess, *args: str) -> Result:
    env = {"GITLOOP_SERVER": serve.url, "GITLOOP_AUTH_TOKEN": TOKEN}
    return CliRunner().invoke(cli, ["app", *args], env=env)


def _local(world: CdWorld, *args: str) -> Result:
    return CliRunner().invoke(cli, ["app", *args, *world.cli_args()])


def _both(world: CdWorld, serve: ServeProcess, *args: str, code: int = 0) -> str:
    """The output of ``gitloop app ARGS`` in both modes, asserted identical."""
    remote, local = _server(serve, *args), _local(world, *args)
    assert remote.exit_code == code, (args, remote.output, serve.output())
    assert local.exit_code == code, (args, local.output)
    assert remote.output == local.output, (args, remote.output, local.output)
    assert TOKEN not in remote.output
    return remote.output


def _without_times(found: Any) -> Any:
    """JSON without the reconcile time and condition times: the only fields that are timing."""
    if isinstance(found, dict):
        return {
            k: _without_times(v) for k, v in found.items() if k not in ("reconciledAt", "lastTransitionTime")
        }
    if isinstance(found, list):
        return [_without_times(v) for v in found]
    return found


def test_every_verb_prints_the_same_with_a_server_and_with_files(world: CdWorld, serve: ServeProcess) -> None:
    name = world.app
    # Before the first sync: both resources to create.
    diff = _both(world, serve, "diff", name, code=1)
    assert "+kind: ConfigMap" in diff and "name: alpha" in diff and "name: beta" in diff
    _both(world, serve, "manifests", name)

    synced = _server(serve, "sync", name)
    assert synced.exit_code == 0, (synced.output, serve.output())
    assert synced.output.startswith(f"Operation {name}-") and "Succeeded" in synced.output
    stored = LocalApps(world.config()).application(name)
    assert app_output.operation(stored) + "\n" == synced.output

    get = _both(world, serve, "get", name)
    assert "Synced to main" in get and "Last operation:   Succeeded" in get
    assert name in _both(world, serve, "list")
    history = _both(world, serve, "history", name)
    assert "initial manifests" in history and "Succeeded" in history
    assert _both(world, serve, "diff", name) == ""
    assert "alpha" in _both(world, serve, "manifests", name, "--source", "live")
    assert _both(world, serve, "refresh", name).startswith(f"{name}: Synced (")
    _both(world, serve, "wait", name, "--sync", "--timeout", "60")

    remote = json.loads(_server(serve, "get", name, "-o", "json").output)
    local = json.loads(_local(world, "get", name, "-o", "json").output)
    assert _without_times(remote) == _without_times(local)

    # A change in git: both see the same difference.
    world.commit({"k8s/b.yaml": configmap("beta", data="b2")}, "beta b2")
    diff = _both(world, serve, "diff", name, code=1)
    assert "-  version: b1\n+  version: b2\n" in diff
    assert "OutOfSync to main" in _both(world, serve, "get", name)

    synced = _server(serve, "sync", name, "--resource", ":ConfigMap:beta")
    assert synced.exit_code == 0, (synced.output, serve.output())
    assert app_output.operation(LocalApps(world.config()).application(name)) + "\n" == synced.output
    history = _both(world, serve, "history", name)
    assert "beta b2" in history

    rolled = _server(serve, "rollback", name)
    assert rolled.exit_code == 0, (rolled.output, serve.output())
    assert app_output.operation(LocalApps(world.config()).application(name)) + "\n" == rolled.output
    history = _both(world, serve, "history", name)
    first, last = history.splitlines()[1], history.splitlines()[-1]
    assert f"rollback to {first.split()[0]}" in last and last.endswith("initial manifests")
    assert "version: b1" in _both(world, serve, "manifests", name, "--source", "live")


def test_server_errors(world: CdWorld, serve: ServeProcess) -> None:
    unknown = _server(serve, "get", "no-such-app")
    assert unknown.exit_code == 1 and "no-such-app" in unknown.output, unknown.output
    wrong = CliRunner().invoke(cli, ["app", "list", "--server", serve.url, "--auth-token", "wrong-token"])
    assert wrong.exit_code == 1 and "--auth-token" in wrong.output and "wrong-token" not in wrong.output
    refused = _server(serve, "get", world.app, "-f", str(world.apps_file))
    assert refused.exit_code == 2 and "exclude each other" in refused.output
    watch = _server(serve, "watch")
    assert watch.exit_code == 2 and "local only" in watch.output
