"""The reconcile loop on the real local cluster and git server: the seed Application (automated prune +
selfHeal + CreateNamespace, acceptance scenario 2), drift self-healed, prune with ``Prune=false``,
and rollback that auto-sync does not undo."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from cd_support import CdWorld, configmap, deployment, eventually, service

from gitloop.errors import SyncError
from gitloop.gitops.engine import Engine
from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitserver import GitServer
from gitloop.model.health import HealthStatus
from gitloop.model.sync import SyncStatus
from gitloop.service.apps import open_apps

pytestmark = pytest.mark.integration

SEED_POLICY = """\
syncPolicy:
  automated:
    prune: true
    selfHeal: true
  syncOptions:
    - CreateNamespace=true
"""


async def _synced_healthy(apps: Engine, name: str, revision: str) -> bool:
    status = apps.status(name)
    return (
        status.revision == revision
        and status.sync_status is SyncStatus.SYNCED
        and status.health.status is HealthStatus.HEALTHY
        and not apps.operating(name)
    )


def test_seed_application_syncs_resyncs_on_push_self_heals_and_prunes(
    local_cluster: LocalCluster, git_server: GitServer, tmp_path: Path
) -> None:
    files = {
        "k8s/deployment.yaml": deployment("myapp", 2),
        "k8s/service.yaml": service("myapp"),
        "k8s/config.yaml": configmap("myapp-config"),
        "k8s/keep.yaml": configmap("keep-me", {"argocd.argoproj.io/sync-options": "Prune=false"}),
    }
    world = CdWorld.create(local_cluster, git_server, tmp_path, files, policy=SEED_POLICY, name="myapp")

    async def scenario() -> None:
        async with open_apps(world.config()) as apps:
            stop = asyncio.Event()
            loop = asyncio.create_task(apps.run(stop))
            try:
                status = await eventually(
                    lambda: _status_when(apps, world.app, SyncStatus.SYNCED, HealthStatus.HEALTHY),
                    90,
                    "the first sync",
                )
                first = status.revision

                # A push, then the refresh trigger a webhook would send: synced within a second.
                sha = world.commit({"k8s/config.yaml": configmap("myapp-config", data="v2")}, "config v2")
                pushed = time.monotonic()
                apps.trigger([world.app])
                await eventually(
                    lambda: _synced_healthy(apps, world.app, sha), 10, "the re-sync after the push"
                )
                took = time.monotonic() - pushed
                assert sha != first
                assert took < 2.0, f"commit-to-synced took {took:.2f}s"
                cm = await world.live("v1", "ConfigMap", "myapp-config")
                assert cm is not None and cm["data"] == {"version": "v2"}

                # kubectl scale: the watch sees the drift, self-heal reverts it.
                await world.scale("myapp", 5)
                scaled = time.monotonic()

                async def reverted() -> bool:
                    live = await world.live("apps/v1", "Deployment", "myapp")
                    return live is not None and live["spec"]["replicas"] == 2

                await eventually(reverted, 15, "self-heal to revert the scale")
                assert time.monotonic() - scaled < 5.0
                heal = apps.status(world.app).operation
                assert heal is not None and heal.automated and heal.self_heal_attempts >= 1

                # A manifest deleted from git is pruned; the Prune=false one stays.
                removal = world.commit({"k8s/service.yaml": None, "k8s/keep.yaml": None}, "drop service")
                apps.trigger([world.app])

                async def pruned() -> bool:
                    return await world.live("v1", "Service", "myapp") is None

                await eventually(pruned, 30, "the Service to be pruned")
                assert await world.live("v1", "ConfigMap", "keep-me") is not None
                synced = [e.doc for e in apps.history(world.app) if e.doc["revision"] == removal]
                results = {(r["kind"], r["name"]): r["status"] for r in synced[0]["resources"]}
                assert results[("Service", "myapp")] == "Pruned"
                assert results[("ConfigMap", "keep-me")] == "PruneSkipped"
            finally:
                stop.set()
                await loop

    try:
        asyncio.run(scenario())
    finally:
        asyncio.run(world.cleanup())


async def _status_when(apps: Engine, name: str, sync: SyncStatus, health: HealthStatus) -> Any:
    status = apps.status(name)
    if status.sync_status is sync and status.health.status is health and not apps.operating(name):
        return status
    return None


def test_rollback_restores_the_previous_revision_and_auto_sync_leaves_it(
    local_cluster: LocalCluster, git_server: GitServer, tmp_path: Path
) -> None:
    files = {"k8s/deployment.yaml": deployment("myapp", 1), "k8s/config.yaml": configmap("myapp-config")}
    world = CdWorld.create(local_cluster, git_server, tmp_path, files, policy=SEED_POLICY, name="myapp")

    async def scenario() -> None:
        async with open_apps(world.config()) as apps:
            stop = asyncio.Event()
            loop = asyncio.create_task(apps.run(stop))
            try:
                await eventually(
                    lambda: _status_when(apps, world.app, SyncStatus.SYNCED, HealthStatus.HEALTHY),
                    90,
                    "sync v1",
                )
                v2 = world.commit({"k8s/config.yaml": configmap("myapp-config", data="v2")}, "config v2")
                apps.trigger([world.app])
                await eventually(lambda: _synced_healthy(apps, world.app, v2), 30, "sync v2")

                with pytest.raises(SyncError, match="auto-sync is enabled"):
                    await apps.rollback(world.app, None)
                operation = await apps.rollback(world.app, None, disable_auto_sync=True)
                assert operation.phase.value == "Succeeded", operation.summary().message
                cm = await world.live("v1", "ConfigMap", "myapp-config")
                assert cm is not None and cm["data"] == {"version": "v1"}

                # Refreshes (and the drift the rollback is, against git) do not undo it...
                apps.trigger([world.app])
                await asyncio.sleep(2.0)
                status = apps.status(world.app)
                assert status.sync_status is SyncStatus.OUT_OF_SYNC and status.auto_sync_paused_at == v2
                cm = await world.live("v1", "ConfigMap", "myapp-config")
                assert cm is not None and cm["data"] == {"version": "v1"}, "auto-sync undid the rollback"
                history = apps.history(world.app)
                assert history[-1].doc["rollbackOf"] == history[0].id

                # ...until a new commit arrives.
                v3 = world.commit({"k8s/config.yaml": configmap("myapp-config", data="v3")}, "config v3")
                apps.trigger([world.app])
                await eventually(lambda: _synced_healthy(apps, world.app, v3), 30, "sync v3")
                assert apps.status(world.app).auto_sync_paused_at == ""
            finally:
                stop.set()
                await loop

    try:
        asyncio.run(scenario())
    finally:
        asyncio.run(world.cleanup())
