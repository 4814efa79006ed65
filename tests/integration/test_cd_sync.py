"""CD on the real local cluster and git server: manual syncs, the CLI, waves and hooks, SyncFail, prune
order, and what a sync into a missing namespace says."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cd_support import CdWorld, configmap, deployment, eventually, job, service
from click.testing import CliRunner

from gitloop.cli.main import cli
from gitloop.gitops.engine import Engine
from gitloop.gitops.operation import SyncRequest
from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitserver import GitServer
from gitloop.model.health import HealthStatus
from gitloop.model.sync import SyncStatus
from gitloop.service.apps import open_apps

pytestmark = pytest.mark.integration

GUESTBOOK = {
    "k8s/deployment.yaml": deployment("guestbook-ui", 2),
    "k8s/service.yaml": service("guestbook-ui"),
    "k8s/config.yaml": configmap("guestbook-config"),
}
CREATE_NAMESPACE = "syncPolicy:\n  syncOptions: [CreateNamespace=true]\n"


def test_guestbook_syncs_becomes_healthy_and_the_cli_reports_it(
    local_cluster: LocalCluster, git_server: GitServer, tmp_path: Path
) -> None:
    world = CdWorld.create(
        local_cluster, git_server, tmp_path, GUESTBOOK, policy=CREATE_NAMESPACE, name="guestbook"
    )
    runner = CliRunner()
    try:
        result = runner.invoke(cli, ["app", "diff", world.app, *world.cli_args()])
        assert result.exit_code == 1, result.output
        assert "+++ b/apps/Deployment/" in result.output

        result = runner.invoke(cli, ["app", "sync", world.app, *world.cli_args()])
        assert result.exit_code == 0, result.output
        assert "Succeeded" in result.output and "deployment.apps/guestbook-ui created" in result.output

        result = runner.invoke(
            cli, ["app", "wait", world.app, "--health", "--sync", "--timeout", "90", *world.cli_args()]
        )
        assert result.exit_code == 0, result.output
        assert "Synced" in result.output and "Healthy" in result.output

        result = runner.invoke(cli, ["app", "get", world.app, *world.cli_args()])
        assert result.exit_code == 0, result.output
        rows = [
            line.split()
            for line in result.output.splitlines()
            if "guestbook-" in line and world.namespace in line
        ]
        assert {(r[-3], r[-2], r[-1]) for r in rows if r[0] == "apps"} == {
            ("guestbook-ui", "Synced", "Healthy")
        }

        result = runner.invoke(cli, ["app", "diff", world.app, *world.cli_args()])
        assert result.exit_code == 0, "server defaults are not drift: " + result.output

        result = runner.invoke(cli, ["app", "history", world.app, *world.cli_args()])
        assert result.exit_code == 0 and "Succeeded" in result.output and "initial manifests" in result.output

        live = asyncio.run(world.live("apps/v1", "Deployment", "guestbook-ui"))
        assert live is not None
        assert live["metadata"]["annotations"]["gitloop.dev/tracking-id"] == (
            f"{world.app}:apps/Deployment:{world.namespace}/guestbook-ui"
        )
        managers = {m["manager"] for m in live["metadata"]["managedFields"]}
        assert "gitloop" in managers
    finally:
        asyncio.run(world.cleanup())


def test_waves_apply_in_order_gated_on_health_hooks_by_policy_and_prune_in_reverse(
    local_cluster: LocalCluster, git_server: GitServer, tmp_path: Path
) -> None:
    files = {
        "k8s/a-db.yaml": deployment("db", 1, {"argocd.argoproj.io/sync-wave": "-1"}),
        "k8s/b-config.yaml": configmap("settings"),
        "k8s/c-api.yaml": deployment("api", 1, {"argocd.argoproj.io/sync-wave": "1"}),
        "k8s/d-frontend.yaml": configmap("frontend", {"argocd.argoproj.io/sync-wave": "2"}),
        "k8s/e-migrate.yaml": job(
            "migrate",
            {"argocd.argoproj.io/hook": "PreSync", "argocd.argoproj.io/hook-delete-policy": "HookSucceeded"},
        ),
        "k8s/f-smoke.yaml": job("smoke", {"argocd.argoproj.io/hook": "PostSync"}),
    }
    world = CdWorld.create(local_cluster, git_server, tmp_path, files, policy=CREATE_NAMESPACE)

    async def scenario() -> None:
        async with open_apps(world.config()) as apps:
            operation = await apps.sync(world.app, SyncRequest())
            assert operation.phase.value == "Succeeded", operation.summary().message
            times = {r["name"]: r["time"] for r in operation.results() if r["time"] is not None}
            order = sorted(times, key=lambda name: times[name])
            assert order == [world.namespace, "migrate", "db", "settings", "api", "frontend", "smoke"], times
            db = await world.live("apps/v1", "Deployment", "db")
            assert db is not None and db["status"].get("availableReplicas") == 1
            # Wave 0 started only once wave -1 (the db Deployment) was healthy: its pod had to become Ready.
            assert times["settings"] - times["db"] > 0.3, times

            # HookSucceeded deletes the hook in the foreground: the Job goes once its pod is gone.
            async def migrate_gone() -> bool:
                return await world.live("batch/v1", "Job", "migrate") is None

            await eventually(migrate_gone, 30, "HookSucceeded to delete the migrate hook")
            smoke = await world.live("batch/v1", "Job", "smoke")
            assert smoke is not None, "BeforeHookCreation keeps the hook until the next sync"
            assert "argocd.argoproj.io/hook-finalizer" not in (smoke["metadata"].get("finalizers") or [])

            emptied: dict[str, str | None] = dict.fromkeys(files)
            world.commit(
                {**emptied, "k8s/README.md": "nothing deployed here any more\n"}, "remove everything"
            )
            pruned = await apps.sync(world.app, SyncRequest.manual(prune=True))
            assert pruned.phase.value == "Succeeded", pruned.summary().message
            gone = {r["name"]: r["time"] for r in pruned.results() if r["status"] == "Pruned"}
            assert sorted(gone, key=lambda name: gone[name]) == ["frontend", "api", "settings", "db"], gone

            # Foreground deletion: the Deployment goes once its ReplicaSet and pods are gone.
            async def db_gone() -> bool:
                return await world.live("apps/v1", "Deployment", "db") is None

            await eventually(db_gone, 60, "the pruned db Deployment to be deleted")

    try:
        asyncio.run(scenario())
    finally:
        asyncio.run(world.cleanup())


def test_failed_hook_runs_sync_fail_hooks(
    local_cluster: LocalCluster, git_server: GitServer, tmp_path: Path
) -> None:
    files = {
        "k8s/config.yaml": configmap("settings"),
        "k8s/check.yaml": job("check", {"argocd.argoproj.io/hook": "PreSync"}, fails=True),
        "k8s/notify.yaml": configmap("sync-failed", {"argocd.argoproj.io/hook": "SyncFail"}),
    }
    world = CdWorld.create(local_cluster, git_server, tmp_path, files, policy=CREATE_NAMESPACE)

    async def scenario() -> None:
        async with open_apps(world.config()) as apps:
            operation = await apps.sync(world.app, SyncRequest())
            assert operation.phase.value == "Failed"
            assert (
                "DeadlineExceeded" in operation.summary().message or "deadline" in operation.summary().message
            )
            assert await world.live("v1", "ConfigMap", "sync-failed") is not None, "the SyncFail hook ran"
            assert await world.live("v1", "ConfigMap", "settings") is None, "the Sync phase never started"
            status = apps.status(world.app)
            assert any(c.type.value == "SyncError" for c in status.conditions)

    try:
        asyncio.run(scenario())
    finally:
        asyncio.run(world.cleanup())


def test_missing_namespace_without_create_namespace_is_a_clear_failure(
    local_cluster: LocalCluster, git_server: GitServer, tmp_path: Path
) -> None:
    world = CdWorld.create(local_cluster, git_server, tmp_path, {"k8s/config.yaml": configmap("settings")})

    async def scenario() -> None:
        async with open_apps(world.config()) as apps:
            operation = await apps.sync(world.app, SyncRequest())
            assert operation.phase.value == "Failed"
            assert f'namespaces "{world.namespace}" not found' in operation.summary().message
            status = await apps.refresh(world.app)
            assert status.sync_status is SyncStatus.OUT_OF_SYNC
            assert status.condition is not None

    asyncio.run(scenario())


def test_dry_run_and_selective_sync_touch_only_what_they_say(
    local_cluster: LocalCluster, git_server: GitServer, tmp_path: Path
) -> None:
    world = CdWorld.create(local_cluster, git_server, tmp_path, GUESTBOOK, policy=CREATE_NAMESPACE)

    async def scenario() -> None:
        async with open_apps(world.config()) as apps:
            await apps.sync(
                world.app, SyncRequest.manual(resources=[])
            )  # create the namespace and everything once
            world.commit({"k8s/config.yaml": configmap("guestbook-config", data="v2")})
            dry = await apps.sync(world.app, SyncRequest.manual(dry_run=True))
            assert dry.phase.value == "Succeeded"
            cm = await world.live("v1", "ConfigMap", "guestbook-config")
            assert cm is not None and cm["data"] == {"version": "v1"}, "a dry run changes nothing"
            one = await apps.sync(world.app, SyncRequest.manual(resources=[":ConfigMap:guestbook-config"]))
            assert [r["name"] for r in one.results()] == ["guestbook-config"]
            cm = await world.live("v1", "ConfigMap", "guestbook-config")
            assert cm is not None and cm["data"] == {"version": "v2"}
            assert await eventually(lambda: _healthy(apps, world.app), 90, "the guestbook Synced and Healthy")

    try:
        asyncio.run(scenario())
    finally:
        asyncio.run(world.cleanup())


async def _healthy(apps: Engine, name: str) -> bool:
    status = await apps.refresh(name, hard=False)
    return status.sync_status is SyncStatus.SYNCED and status.health.status is HealthStatus.HEALTHY
