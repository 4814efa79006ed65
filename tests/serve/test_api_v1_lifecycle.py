"""Applications created, changed and deleted through ``/api/v1`` of a real ``gitloop serve`` on a real
local cluster and git server: ``POST`` (409 without ``upsert``, 400 for a document or a destination the
engine refuses) registers one that syncs itself (automated), ``PUT`` changes its ``targetRevision``,
``DELETE`` with Argo CD's resources finalizer removes its resources from the cluster, and the stream
says ``ADDED``, ``MODIFIED`` and ``DELETED``."""

from __future__ import annotations

import asyncio
import copy
import queue
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from click.testing import CliRunner
from serve_process import ServeProcess
from test_api_v1_contract import Stream, _delete_namespaces, _synced, _until, application, error, world

from gitloop.cli.main import cli
from gitloop.errors import NotFoundError
from gitloop.kube import KubeCluster
from gitloop.localinfra.cluster import LocalCluster

pytestmark = pytest.mark.integration
__all__ = ["world"]

FINALIZER = "resources-finalizer.argocd.argoproj.io"


def _document(name: str, url: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": name,
            "namespace": "argocd",
            "labels": {"team": "life"},
            "finalizers": [FINALIZER],
        },
        "spec": {
            "project": "default",
            "source": {"repoURL": url, "targetRevision": "main", "path": "web"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            "syncPolicy": {"automated": {"prune": True}, "syncOptions": ["CreateNamespace=true"]},
        },
    }


async def _deployment(cluster: LocalCluster, namespace: str) -> bool:
    async with KubeCluster.from_kubeconfig(cluster.kubeconfig) as kube:
        try:
            await kube.get("apps/v1", "Deployment", "web", namespace)
        except NotFoundError:
            return False
        return True


def _events(stream: Stream, until: str, timeout: float = 120.0) -> list[str]:
    seen: list[str] = []
    while until not in seen:
        try:
            seen.append(stream.next(timeout)["result"]["type"])
        except queue.Empty:
            break
    return seen


def test_applications_are_created_changed_and_deleted_through_the_api(
    world: tuple[ServeProcess, dict[str, str]], local_cluster: LocalCluster
) -> None:
    serve, names = world
    name, namespace = f"life-{names['ns']}", f"{names['ns']}-life"
    doc = _document(name, names["url"], namespace)
    stream = Stream(serve, {"selector": "team=life"})
    try:
        with serve.client() as client:
            _walk(client, stream, local_cluster, doc, namespace)
    finally:
        stream.close()
        asyncio.run(_delete_namespaces(local_cluster, [namespace]))


def _walk(
    client: httpx.Client, stream: Stream, cluster: LocalCluster, doc: dict[str, Any], namespace: str
) -> None:
    name = doc["metadata"]["name"]
    created = application(client.post("/api/v1/applications", json=doc).json())
    assert created["metadata"]["finalizers"] == [FINALIZER]
    assert client.post("/api/v1/applications", json=doc).status_code == 200, "the same spec again"
    other = copy.deepcopy(doc)
    other["spec"]["source"]["targetRevision"] = "HEAD"
    error(client.post("/api/v1/applications", json=other), 409)
    nowhere = copy.deepcopy(doc)
    nowhere["metadata"]["name"] = name + "-x"
    nowhere["spec"]["destination"]["server"] = "https://nowhere.example:6443"
    error(client.post("/api/v1/applications", json=nowhere), 400)
    broken = copy.deepcopy(doc)
    del broken["spec"]["destination"]
    error(client.post("/api/v1/applications", json=broken), 400)

    # Automated: it syncs itself into the real cluster.
    _until(lambda: _synced(client, name), 180, "the created Application to sync")
    assert asyncio.run(_deployment(cluster, namespace))

    # PUT replaces the spec; 404 for an unknown name, 400 for another name.
    answer = client.put(f"/api/v1/applications/{name}", json=other)
    assert answer.status_code == 200, answer.text
    assert client.get(f"/api/v1/applications/{name}").json()["spec"]["source"]["targetRevision"] == "HEAD"
    error(client.put("/api/v1/applications/nope", json=other), 404)
    renamed = copy.deepcopy(other)
    renamed["metadata"]["name"] = "another"
    error(client.put(f"/api/v1/applications/{name}", json=renamed), 400)
    error(client.delete(f"/api/v1/applications/{name}", params={"propagationPolicy": "sideways"}), 400)

    # DELETE answers at once; with the finalizer its resources go, then the Application.
    answer = client.delete(f"/api/v1/applications/{name}")
    assert answer.status_code == 200 and answer.json() == {}
    _until(lambda: client.get(f"/api/v1/applications/{name}").status_code == 404, 180, "the deletion")
    assert not asyncio.run(_deployment(cluster, namespace)), "the finalizer deleted its resources"
    seen = _events(stream, "DELETED")
    assert seen[0] == "ADDED" and "MODIFIED" in seen and seen[-1] == "DELETED", seen


def test_gitloop_app_create_set_and_delete_ask_the_server(
    world: tuple[ServeProcess, dict[str, str]], tmp_path: Path
) -> None:
    serve, names = world
    name = f"cli-{names['ns']}"
    doc = _document(name, names["url"], names["ns"])
    doc["metadata"].pop("finalizers")
    doc["spec"].pop("syncPolicy")
    (tmp_path / "app.yaml").write_text(yaml.safe_dump(doc))
    env = serve.cli_env()

    def app(*args: str, code: int = 0, server: bool = True) -> str:
        result = CliRunner().invoke(cli, ["app", *args], env=env if server else {"GITLOOP_SERVER": ""})
        assert result.exit_code == code, (args, result.output)
        return result.output

    assert "needs --server" in app("create", "-f", str(tmp_path / "app.yaml"), code=2, server=False)
    assert app("create", "-f", str(tmp_path / "app.yaml")) == f"application '{name}' created\n"
    assert app("create", "-f", str(tmp_path / "app.yaml"), "--upsert") == f"application '{name}' created\n"
    with serve.client() as client:

        def spec() -> dict[str, Any]:
            found: dict[str, Any] = client.get(f"/api/v1/applications/{name}").json()["spec"]
            return found

        assert app("set", name, "--revision", "HEAD", "--path", "hung", "-p", "replicas=2") == (
            f"application '{name}' updated\n"
        )
        assert spec()["source"]["targetRevision"] == "HEAD" and spec()["source"]["path"] == "hung"
        assert spec()["source"]["helm"]["parameters"] == [{"name": "replicas", "value": "2"}]
        app("set", name, "--path", "web", "--sync-policy", "automated")
        assert spec()["syncPolicy"]["automated"] == {}
        app("set", name, "--sync-policy", "none")
        assert "automated" not in spec()["syncPolicy"]
    assert app("delete", name, "--no-cascade", "--wait") == f"application '{name}' deleted\n"
    assert "no Application named" in app("get", name, code=1)
