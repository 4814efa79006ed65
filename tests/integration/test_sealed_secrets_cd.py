"""Sealed Secrets in the CD flow on the real local cluster and git server: the key store keeps its keys
as the sealed-secrets controller does (generated once, reused, rotated, labelled), a SealedSecret in a
config repo syncs as the Secret it describes, one sealed (strict) for another namespace fails the
comparison and applies nothing, and the plaintext is in no output, store or diff."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from cd_support import CdWorld, configmap
from click.testing import CliRunner
from serve_support import serve_config, until

from gitloop.cli.main import cli
from gitloop.errors import NotFoundError
from gitloop.kube import KubeCluster
from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitserver import GitServer
from gitloop.sealing import seal
from gitloop.service.sealing import KEY_LABEL, RENEW_CHECK, ClusterKeyStore, renew_due

sys.path.insert(0, str(Path(__file__).parents[1] / "serve"))  # the serve tests' process helpers
from serve_process import ServeProcess

pytestmark = pytest.mark.integration

PLAINTEXT = "Pl41n-" + uuid.uuid4().hex
"""The value sealed: it must reach the cluster's Secret and nothing else."""


async def _namespace(cluster: LocalCluster, name: str, *, delete: bool = False) -> None:
    async with KubeCluster.from_kubeconfig(cluster.kubeconfig) as kc:
        if delete:
            with contextlib.suppress(NotFoundError):
                await kc.delete("v1", "Namespace", name, propagation="Background")
            return
        await kc.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


async def _key_secrets(cluster: LocalCluster, namespace: str) -> list[dict[str, Any]]:
    async with KubeCluster.from_kubeconfig(cluster.kubeconfig) as kc:
        return await kc.list("v1", "Secret", namespace, f"{KEY_LABEL}=active")


def test_key_store_generates_once_reuses_rotates_and_labels_as_the_controller(
    local_cluster: LocalCluster,
) -> None:
    namespace = f"keys-{uuid.uuid4().hex[:6]}"
    asyncio.run(_namespace(local_cluster, namespace))
    try:
        store = ClusterKeyStore(str(local_cluster.kubeconfig), None, namespace=namespace, bits=2048)
        assert store.keys() == []
        first = store.ensure()
        assert store.ensure().name == first.name, "a second ensure reuses the key"
        again = ClusterKeyStore(str(local_cluster.kubeconfig), None, namespace=namespace, bits=2048)
        (read,) = again.keys()
        assert (read.name, read.certificate_pem) == (first.name, first.certificate_pem)

        (secret,) = asyncio.run(_key_secrets(local_cluster, namespace))
        assert secret["type"] == "kubernetes.io/tls"
        assert secret["metadata"]["labels"] == {KEY_LABEL: "active"}
        assert secret["metadata"]["name"].startswith("sealed-secrets-key")
        assert base64.b64decode(secret["data"]["tls.crt"]) == first.certificate_pem
        assert b"PRIVATE KEY" in base64.b64decode(secret["data"]["tls.key"])

        time.sleep(1.1)  # creationTimestamp has a one-second resolution: the newer key must sort first
        second = store.rotate()
        ring = store.keys()
        assert [k.name for k in ring] == [second.name, first.name], "newest first, the old kept for unsealing"
        assert store.ensure().name == second.name

        time.sleep(1.1)
        wait = renew_due(store, 1.0, time.time())
        assert wait == 1.0
        assert len(store.keys()) == 3 and store.keys()[1].name == second.name
        assert renew_due(store, 3600.0, time.time()) == RENEW_CHECK, "a young key is not renewed"
        assert len(store.keys()) == 3
    finally:
        asyncio.run(_namespace(local_cluster, namespace, delete=True))


def _sealed_secret(certificate: bytes, name: str, namespace: str) -> str:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "stringData": {"password": PLAINTEXT},
    }
    return json.dumps(seal(secret, certificate, scope="strict"))


def _assert_nowhere(text: str | bytes, where: str) -> None:
    data = text.encode() if isinstance(text, str) else text
    for form in (PLAINTEXT.encode(), base64.b64encode(PLAINTEXT.encode())):
        assert form not in data, f"the plaintext (or its base64) is in {where}"


CREATE_NAMESPACE = "syncPolicy:\n  syncOptions: [CreateNamespace=true]\n"


def test_a_sealed_secret_syncs_as_its_secret_and_the_plaintext_stays_out_of_outputs(
    local_cluster: LocalCluster, git_server: GitServer, tmp_path: Path
) -> None:
    keys = ClusterKeyStore(str(local_cluster.kubeconfig), None, bits=2048)  # the default cluster's
    certificate = keys.ensure().certificate_pem
    world = CdWorld.create(
        local_cluster,
        git_server,
        tmp_path,
        {"k8s/config.yaml": configmap("settings")},
        policy=CREATE_NAMESPACE,
    )
    world.commit(
        {
            "k8s/config.yaml": configmap("settings"),
            "k8s/db.json": _sealed_secret(certificate, "db", world.namespace),
        },
        "a sealed password",
    )
    runner = CliRunner()
    try:
        result = runner.invoke(cli, ["app", "sync", world.app, *world.cli_args()])
        assert result.exit_code == 0, result.output
        _assert_nowhere(result.output, "the sync output")

        live = asyncio.run(world.live("v1", "Secret", "db"))
        assert live is not None
        assert base64.b64decode(live["data"]["password"]).decode() == PLAINTEXT
        assert live["metadata"]["annotations"]["gitloop.dev/sealed-from"] == "SealedSecret/db"

        for args in (
            ["app", "diff", world.app],
            ["app", "manifests", world.app],
            ["app", "manifests", world.app, "--source", "live"],
            ["app", "get", world.app, "-o", "json"],
            ["app", "history", world.app],
        ):
            result = runner.invoke(cli, [*args, *world.cli_args()])
            assert result.exit_code in (0, 1), result.output
            _assert_nowhere(result.output, " ".join(args))
        _assert_nowhere(world.database.read_bytes(), "the store")
    finally:
        asyncio.run(world.cleanup())


def test_a_sealed_secret_for_another_namespace_fails_the_comparison_and_applies_nothing(
    local_cluster: LocalCluster, git_server: GitServer, tmp_path: Path
) -> None:
    keys = ClusterKeyStore(str(local_cluster.kubeconfig), None, bits=2048)
    certificate = keys.ensure().certificate_pem
    world = CdWorld.create(
        local_cluster,
        git_server,
        tmp_path,
        {"k8s/config.yaml": configmap("settings")},
        policy=CREATE_NAMESPACE,
    )
    sealed = json.loads(_sealed_secret(certificate, "db", "somewhere-else"))
    sealed["metadata"]["namespace"] = world.namespace  # moved, but sealed (strict) for somewhere-else
    world.commit(
        {"k8s/config.yaml": configmap("settings"), "k8s/db.json": json.dumps(sealed)}, "a misplaced secret"
    )
    runner = CliRunner()
    try:
        result = runner.invoke(cli, ["app", "sync", world.app, *world.cli_args()])
        assert result.exit_code != 0, result.output
        _assert_nowhere(result.output, "the failed sync's output")
        result = runner.invoke(cli, ["app", "get", world.app, "-o", "json", *world.cli_args()])
        _assert_nowhere(result.output, "app get")
        status = json.loads(result.output)["status"]
        (condition,) = [c for c in status["conditions"] if c["type"] == "ComparisonError"]
        message = condition["message"]
        assert f"SealedSecret/{world.namespace}/db" in message
        assert "spec.encryptedData.password" in message and "strict" in message
        assert asyncio.run(world.live("v1", "ConfigMap", "settings")) is None, "nothing is applied"
        assert asyncio.run(world.live("v1", "Secret", "db")) is None
        _assert_nowhere(world.database.read_bytes(), "the store")
    finally:
        asyncio.run(world.cleanup())


def test_serve_serves_its_certificate_and_syncs_what_is_sealed_with_it(
    local_cluster: LocalCluster, git_server: GitServer, tmp_path: Path
) -> None:
    policy = "syncPolicy:\n  automated: {prune: true}\n  syncOptions: [CreateNamespace=true]\n"
    world = CdWorld.create(
        local_cluster, git_server, tmp_path, {"k8s/config.yaml": configmap("settings")}, policy=policy
    )
    config, env = serve_config(world, tmp_path, f"{{files: [{world.apps_file.parent}]}}")
    config.write_text(config.read_text() + "sealedSecrets: {keyRenewPeriod: 720h}\n")
    app_url = f"/api/v1/applications/{world.app}"
    try:
        with ServeProcess(config, env) as serve, serve.client() as client:
            answer = client.get("/v1/cert.pem", timeout=120)
            assert answer.status_code == 200, answer.text
            certificate = answer.content
            assert certificate.startswith(b"-----BEGIN CERTIFICATE-----")
            store = ClusterKeyStore(str(local_cluster.kubeconfig), None)
            held = store.keys()
            assert certificate in [key.certificate_pem for key in held], "the default cluster's key"

            world.commit(
                {
                    "k8s/config.yaml": configmap("settings"),
                    "k8s/db.json": _sealed_secret(certificate, "db", world.namespace),
                },
                "a sealed password",
            )
            refreshed = client.post(f"/api/applications/{world.app}/refresh?wait=true", timeout=120)
            assert refreshed.status_code == 200, refreshed.text

            def synced() -> bool:
                return asyncio.run(world.live("v1", "Secret", "db")) is not None

            until(synced, 90, "the unsealed Secret in the cluster")
            live = asyncio.run(world.live("v1", "Secret", "db"))
            assert live is not None
            assert base64.b64decode(live["data"]["password"]).decode() == PLAINTEXT

            for path in ("", "/managed-resources", "/manifests", "/resource-tree", "/events"):
                found = client.get(app_url + path)
                assert found.status_code == 200, (path, found.text)
                _assert_nowhere(found.text, f"GET {app_url}{path}")
            _assert_nowhere(client.get(f"/api/applications/{world.app}").text, "the /api alias")
            assert serve.stop() == 0, serve.output()
            _assert_nowhere(serve.output(), "the serve log")
        for kept in (tmp_path / "state").rglob("*"):
            if kept.is_file() and "sealing-keys" not in kept.parts:
                _assert_nowhere(kept.read_bytes(), str(kept))
    finally:
        asyncio.run(world.cleanup())
