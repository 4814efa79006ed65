"""The cluster registry with two real local clusters and a real ``gitloop serve``: the server is configured
with the first; ``gitloop cluster add`` registers the second (a context of its kubeconfig) with a label;
``cluster list`` shows both ``Successful`` with their versions; an Application whose destination names
the second cluster — refused until it is registered — syncs its ConfigMap there; a registered cluster
whose API server refuses connections is ``Failed`` with the reason; ``cluster rm`` removes it; a
restarted server registers the added cluster again. No credential reaches the output or the store."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner, Result

from gitloop.cli.main import cli
from gitloop.errors import NotFoundError
from gitloop.kube import KubeCluster
from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitseed import commit_files
from gitloop.localinfra.gitserver import GitServer

sys.path.insert(0, str(Path(__file__).parents[1] / "serve"))  # the serve tests' process helpers
from serve_process import ServeProcess, free_port, serve_env

pytestmark = pytest.mark.integration

TOKEN = "cluster-registry-api-token"
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {colour: green}\n"
T = TypeVar("T")


def _application(name: str, repo_url: str, namespace: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {{name: {name}, namespace: argocd}}
        spec:
          project: default
          source: {{repoURL: {repo_url}, targetRevision: main, path: k8s}}
          destination: {{name: second, namespace: {namespace}}}
          syncPolicy:
            automated: {{prune: true}}
            syncOptions: [CreateNamespace=true]
        """)


def _cluster(serve: ServeProcess, *args: str) -> Result:
    env = {"GITLOOP_SERVER": serve.url, "GITLOOP_AUTH_TOKEN": TOKEN}
    return CliRunner().invoke(cli, ["cluster", *args], env=env)


def _ok(serve: ServeProcess, *args: str) -> str:
    result = _cluster(serve, *args)
    assert result.exit_code == 0, f"{args}: {result.output}\n{serve.output()[-3000:]}"
    return result.output


def _listed(serve: ServeProcess) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in json.loads(_ok(serve, "list", "-o", "json"))}


def _until(check: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


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


def _dead_kubeconfig(path: Path) -> Path:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: dead\n"
        "contexts: [{name: dead, context: {cluster: dead, user: dead}}]\n"
        f"clusters: [{{name: dead, cluster: {{server: 'https://127.0.0.1:{port}'}}}}]\n"
        "users: [{name: dead, user: {token: dead-cluster-token}}]\n"
    )
    return path


def test_a_cluster_added_through_the_cli_is_deployed_to_listed_and_removed(
    local_cluster: LocalCluster, second_cluster: LocalCluster, git_server: GitServer, tmp_path: Path
) -> None:
    assert local_cluster.kubeconfig is not None and second_cluster.kubeconfig is not None
    second_config = _yaml(second_cluster.kubeconfig)
    second_token = str(next(u["user"]["token"] for u in second_config["users"] if "token" in u["user"]))
    context = str(second_config["current-context"])
    suffix = uuid.uuid4().hex[:6]
    app, namespace = f"to-second-{suffix}", f"registry-{suffix}"
    repo_url = git_server.create_repo(f"registry-{suffix}")
    commit_files(repo_url, {"k8s/settings.yaml": CONFIGMAP}, "settings")
    apps = tmp_path / "apps"
    apps.mkdir()
    (apps / "app.yaml").write_text(_application(app, repo_url, namespace))
    (tmp_path / "api-token").write_text(TOKEN + "\n")
    config = tmp_path / "serve.yaml"
    config.write_text(
        textwrap.dedent(f"""\
            listen: 127.0.0.1:{free_port()}
            pollInterval: 2s
            apiTokenFile: api-token
            applications:
              - files: [apps]
            clusters:
              - {{name: first, kubeconfig: {local_cluster.kubeconfig}, labels: {{env: first}}}}
            """)
    )
    env = serve_env(tmp_path / "state")
    env["GITLOOP_CACHE_DIR"] = str(tmp_path / "cache")
    try:
        with ServeProcess(config, env) as serve:
            assert _cluster(serve, "list", "--server", "").exit_code == 2  # no server: a usage error
            added = _ok(
                serve, "add", context, "--kubeconfig", str(second_cluster.kubeconfig),
                "--name", "second", "--label", "env=second",
            )  # fmt: skip
            assert second_cluster.status().server in added
            refused = _cluster(serve, "add", context, "--kubeconfig", str(second_cluster.kubeconfig))
            assert refused.exit_code == 1 and "has the server" in refused.output, refused.output

            table = _ok(serve, "list")
            assert table.splitlines()[0].split() == [
                "SERVER",
                "NAME",
                "VERSION",
                "STATUS",
                "MESSAGE",
                "PROJECT",
            ]
            listed = _listed(serve)
            assert set(listed) == {"first", "second"}
            for name, cluster in listed.items():
                assert cluster["connectionState"]["status"] == "Successful", cluster
                assert cluster["serverVersion"].startswith("1."), cluster
                assert cluster["labels"] == {"env": name}
            assert listed["second"]["server"] == second_cluster.status().server

            found = _until(lambda: asyncio.run(_settings(second_cluster, namespace)), 120, "the ConfigMap")
            assert found["data"] == {"colour": "green"}
            assert asyncio.run(_settings(local_cluster, namespace)) is None
            assert _listed(serve)["second"]["info"]["applicationsCount"] == 1

            dead = _dead_kubeconfig(tmp_path / "dead.yaml")
            _ok(serve, "add", "dead", "--kubeconfig", str(dead))
            shown = json.loads(_ok(serve, "get", "dead", "-o", "json"))
            assert shown["connectionState"]["status"] == "Failed" and shown["connectionState"]["message"]
            assert "Failed" in _ok(serve, "list")
            _ok(serve, "rm", "dead")
            gone = _cluster(serve, "get", "dead")
            assert gone.exit_code == 1 and "not found" in gone.output
            assert serve.stop() == 0, serve.output()

        with ServeProcess(config, env) as again:  # the added cluster is registered again from the store
            assert set(_listed(again)) == {"first", "second"}
            assert again.stop() == 0, again.output()
        for text in (serve.output(), again.output()):
            assert second_token not in text and "dead-cluster-token" not in text and TOKEN not in text
        stored = b"".join(p.read_bytes() for p in (tmp_path / "state").rglob("gitloop.db*"))
        assert second_token.encode() not in stored and b"dead-cluster-token" not in stored
    finally:
        asyncio.run(_delete_namespace(second_cluster, namespace))


def _yaml(path: Path) -> dict[str, Any]:
    from gitloop.spec.yaml import load_one

    found = load_one(path.read_text(), source=str(path))
    assert isinstance(found, dict)
    return found
