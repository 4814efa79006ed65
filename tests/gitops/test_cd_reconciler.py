"""The reconciler end to end on fakes of gitloop's ports: a fake cluster, a fake git repository, the
in-memory store. Each scenario is one Argo CD behaviour: sync, waves and hooks, SyncFail, prune,
self-heal, auto-sync once per revision, retry, rollback, resume after a crash, bad input."""

from __future__ import annotations

import asyncio
import copy
import textwrap
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from cd_fakes import FakeCluster, FakeRenderer, FakeRepo, complete_jobs

from gitloop.errors import SyncError
from gitloop.gitops.engine import Engine
from gitloop.gitops.observe import ClusterView
from gitloop.gitops.operation import SyncRequest
from gitloop.gitops.reconciler import Reconciler, Settings
from gitloop.gitops.source import ManifestSource
from gitloop.gitops.status import ConditionType
from gitloop.model.health import HealthStatus
from gitloop.model.sync import SyncStatus
from gitloop.spec.argocd import parse_apps_text
from gitloop.store.memory import MemoryStore

URL = "https://git.example/config.git"


def app_yaml(name: str = "guestbook", *, path: str = "app", policy: str = "", namespace: str = "shop") -> str:
    text = f"""\
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {{name: {name}}}
        spec:
          project: default
          source: {{repoURL: {URL}, path: {path}, targetRevision: main}}
          destination: {{server: https://kubernetes.default.svc, namespace: {namespace}}}
    """
    return textwrap.dedent(text) + textwrap.indent(textwrap.dedent(policy), "  ")


def deployment(name: str, replicas: int = 1, annotations: Mapping[str, str] | None = None) -> str:
    notes = f", annotations: {dict(annotations)}" if annotations else ""
    return textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: {name}{notes}}}
        spec:
          replicas: {replicas}
          selector: {{matchLabels: {{app: {name}}}}}
          template:
            metadata: {{labels: {{app: {name}}}}}
            spec: {{containers: [{{name: web, image: "web:1", ports: [{{containerPort: 80}}]}}]}}
        """)


def configmap(name: str, annotations: Mapping[str, str] | None = None, data: str = "v") -> str:
    notes = f", annotations: {dict(annotations)}" if annotations else ""
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}{notes}}}\ndata: {{k: {data}}}\n"


def job(name: str, annotations: Mapping[str, str]) -> str:
    return textwrap.dedent(f"""\
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: {name}
          annotations: {dict(annotations)}
        spec:
          template:
            spec: {{restartPolicy: Never, containers: [{{name: run, image: "tool:1"}}]}}
        """)


class World:
    """A repository, a cluster, a store and the CD engine over them."""

    def __init__(self, tmp: Path, apps: str, files: Mapping[str, str], **cluster: Any) -> None:
        self.repo = FakeRepo(URL)
        self.repo.commit(files)
        self.cluster = FakeCluster(**cluster)
        self.cluster.add_namespace("shop")
        self.view = ClusterView(self.cluster)
        self.store = MemoryStore()
        self.tmp = tmp
        self.apps = parse_apps_text(apps)
        self.engine = self.make()
        self.reconciler: Reconciler = self.engine.reconciler

    def make(self) -> Engine:
        sources = ManifestSource(lambda url: self.repo, FakeRenderer(), self.tmp / "checkouts")
        settings = Settings(driver_poll=0.02, workers=2)
        return Engine(self.apps, sources, lambda app: self.view, self.store, settings=settings)

    def live(self, kind: str, name: str, namespace: str = "shop") -> dict[str, Any] | None:
        return self.cluster.find(kind, name, namespace)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 20))


def test_manual_sync_creates_tracked_resources_and_records_history(tmp_path: Path) -> None:
    files = {"app/web.yaml": deployment("web", 2), "app/cm.yaml": configmap("settings")}
    world = World(tmp_path, app_yaml(), files, controller=complete_jobs())

    async def scenario() -> None:
        rec = world.reconciler
        status = await rec.refresh("guestbook")
        assert status.sync_status is SyncStatus.OUT_OF_SYNC
        assert status.health.status is HealthStatus.MISSING
        operation = await world.engine.sync("guestbook", SyncRequest(username="alice"))
        assert operation.phase.value == "Succeeded", operation.summary().message
        assert {r["name"]: r["status"] for r in operation.results()} == {
            "settings": "Synced",
            "web": "Synced",
        }
        live = world.live("Deployment", "web")
        assert live is not None
        assert (
            live["metadata"]["annotations"]["gitloop.dev/tracking-id"] == "guestbook:apps/Deployment:shop/web"
        )
        status = await rec.refresh("guestbook")
        assert status.sync_status is SyncStatus.SYNCED
        assert status.health.status is HealthStatus.HEALTHY
        assert status.operation is not None and status.operation.username == "alice"
        [entry] = rec.history("guestbook")
        assert entry.doc["revision"] == world.repo.order[-1]
        assert entry.doc["initiatedBy"] == {"automated": False, "username": "alice"}
        assert entry.doc["sourceCommit"]["message"] == "commit 0"
        assert len(entry.doc["resources"]) == 2

    run(scenario)


def test_waves_and_hooks_run_in_order_and_hooks_are_deleted_by_policy(tmp_path: Path) -> None:
    files = {
        "app/a-db.yaml": configmap("db", {"argocd.argoproj.io/sync-wave": "-1"}),
        "app/b-web.yaml": deployment("web", 1, {"argocd.argoproj.io/sync-wave": "1"}),
        "app/c-cfg.yaml": configmap("cfg"),
        "app/d-migrate.yaml": job(
            "migrate",
            {"argocd.argoproj.io/hook": "PreSync", "argocd.argoproj.io/hook-delete-policy": "HookSucceeded"},
        ),
        "app/e-smoke.yaml": job("smoke", {"argocd.argoproj.io/hook": "PostSync"}),
    }
    world = World(tmp_path, app_yaml(), files, controller=complete_jobs())

    async def scenario() -> None:
        operation = await world.engine.sync("guestbook", SyncRequest())
        assert operation.phase.value == "Succeeded", operation.summary().message
        applied = [name for verb, name in world.cluster.calls if verb == "apply"]
        assert applied == ["Job/migrate", "ConfigMap/db", "ConfigMap/cfg", "Deployment/web", "Job/smoke"]
        assert world.live("Job", "migrate") is None, "HookSucceeded deletes the hook"
        smoke = world.live("Job", "smoke")
        assert smoke is not None, "BeforeHookCreation keeps the hook until the next sync"
        assert "argocd.argoproj.io/hook-finalizer" not in smoke["metadata"].get("finalizers", [])
        hooks = {r["name"]: r["hookType"] for r in operation.results() if r["hookType"]}
        assert hooks == {"migrate": "PreSync", "smoke": "PostSync"}
        # The next sync deletes the old PostSync hook before creating it again.
        again = await world.engine.sync("guestbook", SyncRequest())
        assert again.phase.value == "Succeeded"
        assert ("delete", "Job/smoke") in world.cluster.calls

    run(scenario)


def test_failed_hook_runs_sync_fail_hooks_and_marks_sync_error(tmp_path: Path) -> None:
    files = {
        "app/cm.yaml": configmap("cfg"),
        "app/check.yaml": job("check", {"argocd.argoproj.io/hook": "PreSync"}),
        "app/cleanup.yaml": job("cleanup", {"argocd.argoproj.io/hook": "SyncFail"}),
    }
    world = World(tmp_path, app_yaml(), files, controller=complete_jobs(failing={"check"}))

    async def scenario() -> None:
        operation = await world.engine.sync("guestbook", SyncRequest())
        assert operation.phase.value == "Failed"
        assert world.live("Job", "cleanup") is not None, "the SyncFail hook ran"
        assert world.live("ConfigMap", "cfg") is None, "nothing of the Sync phase was applied"
        status = world.reconciler.status("guestbook")
        error = status.condition(ConditionType.SYNC_ERROR)
        assert (
            error is not None
            and "one or more synchronization tasks completed unsuccessfully" in error.message
        )

    run(scenario)


PRUNE_POLICY = """\
    syncPolicy:
      automated: {prune: true, selfHeal: true}
      syncOptions: [CreateNamespace=true]
"""


def test_auto_sync_prunes_deleted_resources_but_keeps_prune_false(tmp_path: Path) -> None:
    files = {
        "app/a.yaml": configmap("a"),
        "app/b.yaml": configmap("b"),
        "app/keep.yaml": configmap("keep", {"argocd.argoproj.io/sync-options": "Prune=false"}),
    }
    # Without selfHeal: with it, Argo CD (and gitloop) would re-sync the Prune=false leftover with backoff.
    policy = PRUNE_POLICY.replace(", selfHeal: true", "")
    world = World(tmp_path, app_yaml(policy=policy, namespace="fresh"), files)

    async def settle(rec: Reconciler) -> None:
        await rec.refresh("guestbook", hard=True)
        while rec.running:
            await asyncio.gather(*rec.running.values())

    async def scenario() -> None:
        rec = world.reconciler
        await settle(rec)
        assert world.live("Namespace", "fresh", "") is not None, "CreateNamespace=true"
        assert world.live("ConfigMap", "b", "fresh") is not None
        world.repo.commit({"app/b.yaml": None, "app/keep.yaml": None})
        await settle(rec)
        assert world.live("ConfigMap", "b", "fresh") is None
        assert world.live("ConfigMap", "keep", "fresh") is not None
        last = rec.status("guestbook").operation
        assert last is not None and last.automated
        results = {r["name"]: (r["status"], r["message"]) for r in last.results}
        assert results["b"] == ("Pruned", "pruned")
        assert results["keep"] == ("PruneSkipped", "ignored (no prune)")
        status = await rec.refresh("guestbook")
        assert status.sync_status is SyncStatus.OUT_OF_SYNC, "keep still needs pruning"
        assert [r.key.name for r in status.resources if r.requires_pruning] == ["keep"]
        assert rec.running == {}, "auto-sync does not retry the same revision"

    run(scenario)


def test_self_heal_reverts_drift_and_backs_off(tmp_path: Path) -> None:
    world = World(tmp_path, app_yaml(policy=PRUNE_POLICY), {"app/web.yaml": deployment("web", 2)})

    async def scenario() -> None:
        rec = world.reconciler
        stop = asyncio.Event()
        loop = asyncio.create_task(world.engine.run(stop))
        while (live := world.live("Deployment", "web")) is None or rec.running:
            await asyncio.sleep(0.02)
        drifted = copy.deepcopy(live)
        drifted["spec"]["replicas"] = 5
        world.cluster.update(drifted)
        for _ in range(200):
            await asyncio.sleep(0.02)
            current = world.live("Deployment", "web")
            if current is not None and current["spec"]["replicas"] == 2:
                break
        assert current is not None and current["spec"]["replicas"] == 2, "self-heal reverted the drift"
        operation = rec.status("guestbook").operation
        assert operation is not None and operation.self_heal_attempts == 1
        stop.set()
        await loop

    run(scenario)


def test_rollback_is_refused_with_auto_sync_and_pauses_it_until_a_new_commit(tmp_path: Path) -> None:
    world = World(tmp_path, app_yaml(policy=PRUNE_POLICY), {"app/cm.yaml": configmap("cfg", data="one")})

    async def settle(rec: Reconciler) -> None:
        await rec.refresh("guestbook", hard=True)
        while rec.running:
            await asyncio.gather(*rec.running.values())

    async def scenario() -> None:
        rec = world.reconciler
        await settle(rec)
        world.repo.commit({"app/cm.yaml": configmap("cfg", data="two")})
        await settle(rec)
        assert world.live("ConfigMap", "cfg")["data"] == {"k": "two"}  # type: ignore[index]
        with pytest.raises(SyncError, match="--disable-auto-sync"):
            await rec.rollback("guestbook")
        operation = await rec.rollback("guestbook", disable_auto_sync=True, username="bob")
        assert operation.phase.value == "Succeeded"
        assert world.live("ConfigMap", "cfg")["data"] == {"k": "one"}  # type: ignore[index]
        status = await rec.refresh("guestbook", hard=True)
        assert status.sync_status is SyncStatus.OUT_OF_SYNC and rec.running == {}
        assert world.live("ConfigMap", "cfg")["data"] == {"k": "one"}, "auto-sync did not undo the rollback"  # type: ignore[index]
        history = rec.history("guestbook")
        assert history[-1].doc["rollbackOf"] == history[0].id
        world.repo.commit({"app/cm.yaml": configmap("cfg", data="three")})
        await settle(rec)
        assert world.live("ConfigMap", "cfg")["data"] == {"k": "three"}, "a new commit resumes auto-sync"  # type: ignore[index]

    run(scenario)


def test_failed_sync_is_retried_with_backoff_then_recorded(tmp_path: Path) -> None:
    policy = """\
        syncPolicy:
          retry: {limit: 2, backoff: {duration: 10ms, factor: 2}}
    """
    world = World(tmp_path, app_yaml(policy=policy), {"app/cm.yaml": configmap("bad")})
    world.cluster.fail_apply["bad"] = "admission webhook denied the request"

    async def scenario() -> None:
        operation = await world.engine.sync("guestbook", SyncRequest())
        assert operation.phase.value == "Failed" and operation.retry_count == 2
        assert "admission webhook denied the request" in operation.summary().message
        [entry] = world.reconciler.history("guestbook")
        assert entry.doc["phase"] == "Failed" and entry.doc["retries"] == 2

    run(scenario)


def test_interrupted_operation_resumes_from_the_store(tmp_path: Path) -> None:
    files = {
        "app/cm.yaml": configmap("cfg"),
        "app/wait.yaml": job("wait", {"argocd.argoproj.io/hook": "PostSync"}),
    }
    world = World(tmp_path, app_yaml(), files)  # no controller: the hook Job never completes

    async def scenario() -> None:
        first = world.reconciler
        task = asyncio.create_task(world.engine.sync("guestbook", SyncRequest()))
        while world.live("Job", "wait") is None:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        task.cancel()  # the process dies mid-operation
        stored = first.driver.stored("guestbook")
        assert stored is not None and stored.phase.value == "Running"
        job_obj = copy.deepcopy(world.live("Job", "wait"))
        assert job_obj is not None
        job_obj["status"] = {"conditions": [{"type": "Complete", "status": "True"}]}
        world.cluster.update(job_obj)
        second = world.make()
        stop = asyncio.Event()
        loop = asyncio.create_task(second.run(stop))
        while (found := second.reconciler.driver.stored("guestbook")) is None or not found.completed:
            await asyncio.sleep(0.02)
        assert found.phase.value == "Succeeded", found.summary().message
        assert found.id == stored.id
        stop.set()
        await loop

    run(scenario)


def test_bad_input_becomes_conditions_and_other_apps_keep_working(tmp_path: Path) -> None:
    apps = "---\n".join(
        [
            app_yaml("good", path="good"),
            app_yaml("broken", path="broken"),
            app_yaml("missing", path="nowhere"),
            app_yaml("unknown", path="unknown"),
        ]
    )
    files = {
        "good/cm.yaml": configmap("fine"),
        "broken/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [unclosed\n",
        "unknown/w.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
    }
    world = World(tmp_path, apps, files)

    async def scenario() -> None:
        rec = world.reconciler
        broken = await rec.refresh("broken")
        error = broken.condition(ConditionType.COMPARISON_ERROR)
        assert error is not None and "cm.yaml" in error.message
        assert broken.sync_status is SyncStatus.UNKNOWN
        missing = await rec.refresh("missing")
        error = missing.condition(ConditionType.COMPARISON_ERROR)
        assert error is not None and "app path does not exist" in error.message
        unknown = await rec.refresh("unknown")
        error = unknown.condition(ConditionType.COMPARISON_ERROR)
        assert error is not None and "does not serve Widget" in error.message
        failed = await world.engine.sync("unknown", SyncRequest())
        assert failed.phase.value == "Failed" and "Widget" in failed.summary().message
        good = await world.engine.sync("good", SyncRequest())
        assert good.phase.value == "Succeeded"
        world.repo.reachable = False
        offline = await rec.refresh("good", hard=True)
        error = offline.condition(ConditionType.COMPARISON_ERROR)
        assert error is not None and "cannot reach" in error.message

    run(scenario)


def test_project_refuses_sources_destinations_and_kinds(tmp_path: Path) -> None:
    project = textwrap.dedent(f"""\
        apiVersion: argoproj.io/v1alpha1
        kind: AppProject
        metadata: {{name: team}}
        spec:
          sourceRepos: ["{URL}"]
          destinations: [{{server: https://kubernetes.default.svc, namespace: shop}}]
        ---
        """)
    apps = project + "---\n".join(
        [
            app_yaml("kinds", path="kinds").replace("project: default", "project: team"),
            app_yaml("elsewhere", path="kinds", namespace="prod").replace(
                "project: default", "project: team"
            ),
            app_yaml("fine", path="fine").replace("project: default", "project: team"),
        ]
    )
    role = (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader}\nrules: []\n"
    )
    world = World(tmp_path, apps, {"kinds/role.yaml": role, "fine/cm.yaml": configmap("ok")})

    async def scenario() -> None:
        rec = world.reconciler
        kinds = await rec.refresh("kinds")
        error = kinds.condition(ConditionType.INVALID_SPEC_ERROR)
        assert (
            error is not None and "ClusterRole reader" in error.message and "not permitted" in error.message
        )
        elsewhere = await rec.refresh("elsewhere")
        error = elsewhere.condition(ConditionType.INVALID_SPEC_ERROR)
        assert error is not None and "do not match any of the allowed destinations" in error.message
        fine = await rec.refresh("fine")
        assert fine.conditions == () and fine.sync_status is SyncStatus.OUT_OF_SYNC

    run(scenario)
