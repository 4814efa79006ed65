"""``Engine.live_resource`` (Argo CD's ``GetResource``) over the in-memory cluster port: a managed
resource and an object owned by it are read from the cluster now, a Secret's values come masked, and an
object of the same namespace that is not in the Application's tree is refused naming it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_cd_reconciler import World, app_yaml, configmap, deployment, run

from gitloop.gitops.diff import REPLACEMENT
from gitloop.gitops.operation import SyncRequest
from gitloop.gitops.resource import NotInTree, ResourceRef

SECRET = "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\ndata: {password: c2VjcmV0}\n"


def test_the_engine_reads_nodes_of_the_tree_and_nothing_else(tmp_path: Path) -> None:
    files = {"app/web.yaml": deployment("web"), "app/cm.yaml": configmap("settings"), "app/s.yaml": SECRET}
    world = World(tmp_path, app_yaml(), files)

    async def scenario() -> None:
        engine = world.engine
        operation = await engine.sync("guestbook", SyncRequest())
        assert operation.phase.value == "Succeeded", operation.summary().message
        web = world.live("Deployment", "web")
        assert web is not None
        owner = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": web["metadata"]["uid"]}
        world.cluster.update(
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {"name": "web-5d8", "namespace": "shop", "ownerReferences": [owner]},
                "spec": {"replicas": 1},
            }
        )
        world.cluster.update(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other", "namespace": "shop"}}
        )

        async def read(**ref: str) -> dict[str, Any]:
            found: dict[str, Any] = json.loads(await engine.live_resource("guestbook", ResourceRef(**ref)))
            return found

        replicaset = await read(name="web-5d8", kind="ReplicaSet", group="apps", namespace="shop")
        assert replicaset["metadata"]["ownerReferences"][0]["uid"] == web["metadata"]["uid"]
        deployed = await read(name="web", kind="Deployment", group="apps", namespace="shop", version="v1")
        assert deployed["spec"]["replicas"] == 1
        secret = await read(name="creds", kind="Secret", namespace="shop")
        assert secret["data"] == {"password": REPLACEMENT}
        with pytest.raises(NotInTree, match="ConfigMap 'other' in namespace shop is not a resource of"):
            await read(name="other", kind="ConfigMap", namespace="shop")
        with pytest.raises(NotInTree, match="'guestbook'"):
            await read(name="web-5d8", kind="ReplicaSet", namespace="shop")  # the core group: not it

    run(scenario)
