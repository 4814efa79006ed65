"""The ``kube/`` adapter against the real local control plane: apply, observe, list, watch, delete."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from gitloop.errors import NotFoundError
from gitloop.kube import KubeCluster
from gitloop.localinfra.cluster import LocalCluster

pytestmark = pytest.mark.integration


def _deployment(ns: str, name: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": "registry.invalid/web:1.0"}]},
            },
        },
    }


def _service(ns: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]},
    }


async def _wait_available(kc: KubeCluster, ns: str, name: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        dep = await kc.get("apps/v1", "Deployment", name, ns)
        conds = {c["type"]: c["status"] for c in dep.get("status", {}).get("conditions", [])}
        if conds.get("Available") == "True" and dep["status"].get("availableReplicas") == 2:
            return dep
        assert time.monotonic() < deadline, f"Deployment never became Available: {dep.get('status')}"
        await asyncio.sleep(0.25)


def test_apply_deployment_and_service_becomes_available_then_delete(local_cluster: LocalCluster) -> None:
    ns = f"kube-it-{uuid.uuid4().hex[:6]}"

    async def scenario() -> None:
        async with KubeCluster.from_kubeconfig(local_cluster.kubeconfig) as kc:
            await kc.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
            applied = await kc.apply(_deployment(ns, "web"))
            assert applied["metadata"]["managedFields"][0]["manager"] == "gitloop"
            await kc.apply(_service(ns, "web"))

            dep = await _wait_available(kc, ns, "web")
            assert dep["status"]["readyReplicas"] == 2
            pods = await kc.list("v1", "Pod", ns, label_selector="app=web")
            assert len(pods) == 2
            node_names = {p["spec"].get("nodeName") for p in pods}
            assert node_names == {"test-a-node-1"}, "pods run on the hollow node"
            assert all(p["kind"] == "Pod" and p["apiVersion"] == "v1" for p in pods)

            svc = await kc.get("v1", "Service", "web", ns)
            assert svc["spec"]["clusterIP"].startswith("10.0.0.")

            await kc.delete("apps/v1", "Deployment", "web", ns)
            await kc.delete("v1", "Service", "web", ns)
            deadline = time.monotonic() + 30
            while True:
                try:
                    await kc.get("apps/v1", "Deployment", "web", ns)
                except NotFoundError:
                    break
                assert time.monotonic() < deadline, "Deployment was not deleted"
                await asyncio.sleep(0.2)
            with pytest.raises(NotFoundError):
                await kc.get("v1", "Service", "web", ns)
            await kc.delete("v1", "Namespace", ns, propagation="Background")

    asyncio.run(scenario())


def test_discovery_dry_run_and_errors(local_cluster: LocalCluster) -> None:
    async def scenario() -> None:
        async with KubeCluster.from_kubeconfig(local_cluster.kubeconfig) as kc:
            kinds = {(r.gvk.group, r.gvk.kind): r for r in await kc.resources()}
            assert kinds[("apps", "Deployment")].namespaced
            assert not kinds[("", "Namespace")].namespaced
            # Kubernetes 1.20 serves CronJob only in batch/v1beta1, which is not batch's preferred version.
            assert ("batch", "CronJob") not in kinds
            assert (await kc.resource_for("batch/v1beta1", "CronJob")).plural == "cronjobs"

            cm = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "dry", "namespace": "default"},
            }
            predicted = await kc.apply({**cm, "data": {"k": "v"}}, dry_run=True)
            assert predicted["data"] == {"k": "v"}
            with pytest.raises(NotFoundError):
                await kc.get("v1", "ConfigMap", "dry", "default")
            with pytest.raises(NotFoundError, match="does not serve"):
                await kc.resource_for("example.invalid/v1", "Nothing")

    asyncio.run(scenario())


def test_watch_sees_changes(local_cluster: LocalCluster) -> None:
    name = f"watched-{uuid.uuid4().hex[:6]}"

    async def scenario() -> None:
        async with KubeCluster.from_kubeconfig(local_cluster.kubeconfig) as kc:
            existing = await kc.list("v1", "ConfigMap", "default")
            assert all(o["kind"] == "ConfigMap" for o in existing)
            seen: list[str] = []

            async def watch() -> None:
                async for ev in kc.watch("v1", "ConfigMap", "default"):
                    if ev.object["metadata"]["name"] == name:
                        seen.append(ev.type)
                        if ev.type == "DELETED":
                            return

            task = asyncio.create_task(watch())
            await asyncio.sleep(0.3)
            cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}}
            await kc.apply({**cm, "data": {"a": "1"}})
            await kc.apply({**cm, "data": {"a": "2"}})
            await kc.delete("v1", "ConfigMap", name, "default")
            await asyncio.wait_for(task, 20)
            assert seen[0] == "ADDED" and seen[-1] == "DELETED" and "MODIFIED" in seen

    asyncio.run(scenario())
