"""Sync planning: each testdata/<case>-desired.yaml (and -live.yaml) set, planned with the options of
one table row, gives the task order Argo CD's gitops-engine would run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitloop.errors import SpecError
from gitloop.gitops.sync import (
    NamespaceMetadata,
    PlanInput,
    ResourceSelector,
    SyncOptions,
    SyncPlan,
    SyncTask,
    TaskAction,
    parse_sync_options,
    plan_sync,
)
from gitloop.gitops.sync.order import KIND_ORDER, kind_rank
from gitloop.model.resources import Manifest, ResourceKey
from gitloop.model.sync import SyncStatus
from gitloop.spec.manifests import load_manifests

TESTDATA = Path(__file__).parent / "testdata"


def manifests(case: str, side: str) -> list[Manifest]:
    path = TESTDATA / f"{case}-{side}.yaml"
    return [m for _, m in load_manifests([path])] if path.exists() else []


def plan(case: str, **request: Any) -> SyncPlan:
    request.setdefault("namespace", "shop")
    return plan_sync(PlanInput(desired=manifests(case, "desired"), live=manifests(case, "live"), **request))


def line(task: SyncTask) -> str:
    return f"{task.phase} {task.wave} {task.key.kind}/{task.key.name} {task.action}"


HOOKS_RUN = {"revision": "3f2c1ab9d8e7", "started_at": 1700000000}

# case -> (request, expected "Phase wave Kind/name action" lines in order)
CASES: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    "waves apply ascending, prune mirrored": (
        "waves",
        {"prune": True},
        [
            "Sync -1 ConfigMap/settings apply",
            "Sync -1 Ingress/old-api prune",
            "Sync 0 Service/api apply",
            "Sync 0 Deployment/old-api prune",
            "Sync 1 Service/old-api prune",
            "Sync 1 Deployment/api apply",
            "Sync 2 ConfigMap/old-settings prune",
            "Sync 2 Ingress/api apply",
        ],
    ),
    "kinds in Helm's install order, custom resources last": (
        "kinds",
        {},
        [
            "Sync 0 PodDisruptionBudget/api apply",
            "Sync 0 ServiceAccount/api apply",
            "Sync 0 Secret/api-token apply",
            "Sync 0 ConfigMap/api apply",
            "Sync 0 ClusterRole/api-reader apply",
            "Sync 0 RoleBinding/api apply",
            "Sync 0 Service/api apply",
            "Sync 0 Deployment/api apply",
            "Sync 0 Deployment/worker apply",
            "Sync 0 CronJob/cleanup apply",
            "Sync 0 IngressClass/public apply",
            "Sync 0 Ingress/api apply",
            "Sync 0 ServiceMonitor/api apply",
            "Sync 0 Alpha/zz apply",
        ],
    ),
    "namespaces and CRDs move ahead of their users": (
        "dependencies",
        {"namespace": ""},
        [
            "Sync -5 Namespace/tools apply",
            "Sync -1 ConfigMap/tooling apply",
            "Sync 0 Namespace/shop apply",
            "Sync 0 ConfigMap/settings apply",
            "Sync 1 CustomResourceDefinition/widgets.example.com apply",
            "Sync 1 Widget/blue apply",
        ],
    ),
    "hooks around the Sync phase": (
        "hooks",
        {**HOOKS_RUN, "prune": True},
        [
            "PreSync -1 Job/check-3f2c1ab-presync-1700000000 apply",
            "PreSync 0 Job/migrate-3f2c1ab-presync-1700000000 apply",
            "Sync 0 Service/api apply",
            "Sync 0 Deployment/api apply",
            "Sync 1 Job/warm-cache apply",
            "PostSync -1 Job/check-3f2c1ab-postsync-1700000000 apply",
            "PostSync 0 Pod/smoke-test apply",
            "SyncFail 0 Job/notify-failure apply",
        ],
    ),
    "skip_hooks leaves hooks out": (
        "hooks",
        {**HOOKS_RUN, "skip_hooks": True},
        ["Sync 0 Service/api apply", "Sync 0 Deployment/api apply"],
    ),
    "selective sync: only the selected resources, no hooks": (
        "hooks",
        {**HOOKS_RUN, "resources": [ResourceSelector.parse(":Service:shop/api")]},
        ["Sync 0 Service/api apply"],
    ),
    "helm hooks mapped, hook-weight as wave": (
        "helm-hooks",
        {},
        [
            "PreSync -5 Job/db-init apply",
            "PreSync 3 Job/db-upgrade apply",
            "Sync 0 CustomResourceDefinition/gadgets.example.com apply",
            "Sync 0 Deployment/web apply",
            "Sync 0 Job/argo-wins apply",
            "PostSync 0 Pod/announce apply",
        ],
    ),
    "prune: Prune=false skipped, PruneLast in a final wave": (
        "prune",
        {"prune": True},
        [
            "Sync 0 ConfigMap/kept apply",
            "Sync 1 Secret/legacy-token prune",
            "Sync 1 ConfigMap/stale prune",
            "Sync 1 PersistentVolumeClaim/data skip",
            "Sync 2 Deployment/legacy prune",
        ],
    ),
    "prune not enabled: every prune skipped": (
        "prune",
        {},
        [
            "Sync 0 ConfigMap/kept apply",
            "Sync 1 Secret/legacy-token skip",
            "Sync 1 ConfigMap/stale skip",
            "Sync 1 PersistentVolumeClaim/data skip",
            "Sync 2 Deployment/legacy skip",
        ],
    ),
    "PruneLast=true for the Application": (
        "prune",
        {"prune": True, "options": SyncOptions(prune_last=True)},
        [
            "Sync 0 ConfigMap/kept apply",
            "Sync 2 Secret/legacy-token prune",
            "Sync 2 ConfigMap/stale prune",
            "Sync 2 PersistentVolumeClaim/data skip",
            "Sync 2 Deployment/legacy prune",
        ],
    ),
    "Prune=false for the Application, a resource's Prune=confirm wins": (
        "prune",
        {"prune": True, "options": parse_sync_options(["Prune=false"])},
        [
            "Sync 0 ConfigMap/kept apply",
            "Sync 1 Secret/legacy-token prune",
            "Sync 1 ConfigMap/stale skip",
            "Sync 1 PersistentVolumeClaim/data skip",
            "Sync 2 Deployment/legacy skip",
        ],
    ),
    "ApplyOutOfSyncOnly drops Synced resources, keeps hooks and new ones": (
        "out-of-sync",
        {
            "options": SyncOptions(apply_out_of_sync_only=True),
            "sync_status": {
                ResourceKey("", "ConfigMap", "shop", "unchanged"): SyncStatus.SYNCED,
                ResourceKey("", "ConfigMap", "shop", "edited"): SyncStatus.OUT_OF_SYNC,
            },
        },
        [
            "PreSync 0 Job/always-runs apply",
            "Sync 0 ConfigMap/brand-new apply",
            "Sync 0 ConfigMap/edited apply",
        ],
    ),
    "CreateNamespace: a PreSync task creates the missing namespace": (
        "prune",
        {"options": SyncOptions(create_namespace=True), "namespace_exists": False},
        [
            "PreSync 0 Namespace/shop apply",
            "Sync 0 ConfigMap/kept apply",
            "Sync 1 Secret/legacy-token skip",
            "Sync 1 ConfigMap/stale skip",
            "Sync 1 PersistentVolumeClaim/data skip",
            "Sync 2 Deployment/legacy skip",
        ],
    ),
    "CreateNamespace: nothing to do when the namespace exists": (
        "out-of-sync",
        {"options": SyncOptions(create_namespace=True)},
        [
            "PreSync 0 Job/always-runs apply",
            "Sync 0 ConfigMap/brand-new apply",
            "Sync 0 ConfigMap/edited apply",
            "Sync 0 ConfigMap/unchanged apply",
        ],
    ),
    "CreateNamespace: git's own Namespace wins": (
        "dependencies",
        {"options": SyncOptions(create_namespace=True), "namespace_exists": False},
        [
            "Sync -5 Namespace/tools apply",
            "Sync -1 ConfigMap/tooling apply",
            "Sync 0 Namespace/shop apply",
            "Sync 0 ConfigMap/settings apply",
            "Sync 1 CustomResourceDefinition/widgets.example.com apply",
            "Sync 1 Widget/blue apply",
        ],
    ),
    "Replace=true: create what is missing, replace what exists": (
        "replace",
        {"options": parse_sync_options(["Replace=true", "ServerSideApply=true"])},
        [
            "Sync 0 Secret/token replace",
            "Sync 0 ConfigMap/big replace",
            "Sync 0 ConfigMap/fresh create",
            "Sync 0 CustomResourceDefinition/widgets.example.com replace",
        ],
    ),
}


@pytest.mark.parametrize(("case", "request_", "expected"), list(CASES.values()), ids=list(CASES))
def test_task_order(case: str, request_: dict[str, Any], expected: list[str]) -> None:
    assert [line(t) for t in plan(case, **request_).tasks] == expected


def test_every_testdata_set_plans() -> None:
    sets = {p.stem.rsplit("-", 1)[0] for p in TESTDATA.glob("*.yaml")}
    assert {case for case, _, _ in CASES.values()} <= sets
    for case in sets:
        assert plan(case, prune=True, **HOOKS_RUN).tasks


def test_task_ids_are_unique_and_name_phase_and_resource() -> None:
    tasks = plan("hooks", **HOOKS_RUN).tasks
    assert len({t.id for t in tasks}) == len(tasks)
    assert tasks[0].id == "PreSync:batch/Job/shop/check-3f2c1ab-presync-1700000000"


def test_namespaces_are_defaulted_except_for_cluster_scoped_kinds() -> None:
    desired = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "elsewhere", "namespace": "tools"}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "reader"}},
        {"apiVersion": "example.com/v1", "kind": "Policy", "metadata": {"name": "strict"}},
    ]
    tasks = {t.key.name: t for t in plan_sync(PlanInput(desired=desired, namespace="shop")).tasks}
    assert tasks["settings"].key.namespace == "shop"
    assert tasks["settings"].manifest == {**desired[0], "metadata": {"name": "settings", "namespace": "shop"}}
    assert tasks["elsewhere"].key.namespace == "tools"
    assert tasks["reader"].key.namespace == ""
    assert tasks["strict"].key.namespace == "shop"
    scopes = frozenset({("example.com", "Policy")})
    tasks = {
        t.key.name: t
        for t in plan_sync(PlanInput(desired=desired, namespace="shop", cluster_scoped=scopes)).tasks
    }
    assert tasks["strict"].key.namespace == ""
    assert desired[0]["metadata"] == {"name": "settings"}


def test_a_live_object_without_namespace_settles_the_scope() -> None:
    desired = [{"apiVersion": "example.com/v1", "kind": "Policy", "metadata": {"name": "strict"}}]
    live = [{"apiVersion": "example.com/v1", "kind": "Policy", "metadata": {"name": "strict"}}]
    [task] = plan_sync(PlanInput(desired=desired, live=live, namespace="shop")).tasks
    assert task.key == ResourceKey("example.com", "Policy", "", "strict")
    assert task.live


def test_prune_tasks_say_why_they_are_skipped() -> None:
    pruning = {t.key.name: t for t in plan("prune", prune=True).tasks if t.is_prune}
    assert pruning["data"].message == "ignored (no prune)"
    assert pruning["legacy-token"].prune_confirm
    assert not pruning["stale"].prune_confirm
    assert pruning["stale"].manifest is None
    skipped = {t.key.name: t.message for t in plan("prune").tasks if t.is_prune}
    assert set(skipped.values()) == {"ignored (requires pruning)"}


def test_hooks_carry_the_finalizer_and_delete_policies() -> None:
    tasks = {t.key.name: t for t in plan("hooks", **HOOKS_RUN).tasks}
    migrate = tasks["migrate-3f2c1ab-presync-1700000000"]
    assert migrate.hook
    assert migrate.manifest is not None
    assert migrate.manifest["metadata"]["finalizers"] == ["argocd.argoproj.io/hook-finalizer"]
    assert "generateName" not in migrate.manifest["metadata"]
    assert [str(p) for p in migrate.delete_policies] == ["HookSucceeded"]
    assert [str(p) for p in tasks["notify-failure"].delete_policies] == ["BeforeHookCreation"]
    assert tasks["smoke-test"].live
    assert not tasks["api"].hook


def test_generate_name_hooks_get_new_names_per_operation_and_phase() -> None:
    first = {t.key.name for t in plan("hooks", **HOOKS_RUN).tasks if t.hook}
    again = {t.key.name for t in plan("hooks", **HOOKS_RUN).tasks if t.hook}
    later = {
        t.key.name for t in plan("hooks", revision="9e8d7c6b5a41", started_at=1700000600).tasks if t.hook
    }
    assert first == again
    generated = {n for n in first if n.startswith(("migrate-", "check-"))}
    assert len(generated) == 3
    assert generated.isdisjoint(later)
    assert {"smoke-test", "notify-failure", "warm-cache"} <= later


def test_apply_out_of_sync_only_reports_what_it_left_out() -> None:
    synced = {ResourceKey("", "ConfigMap", "shop", "unchanged"): SyncStatus.SYNCED}
    result = plan("out-of-sync", options=SyncOptions(apply_out_of_sync_only=True), sync_status=synced)
    assert result.unchanged == (ResourceKey("", "ConfigMap", "shop", "unchanged"),)


def test_replace_and_apply_options_reach_the_tasks() -> None:
    tasks = {
        t.key.name: t
        for t in plan("replace", options=parse_sync_options(["Replace=true", "ServerSideApply=true"])).tasks
    }
    assert not tasks["widgets.example.com"].force
    assert tasks["big"].server_side_apply
    assert not tasks["token"].server_side_apply
    assert not tasks["token"].validate
    assert tasks["big"].validate
    forced = {t.key.name: t for t in plan("replace", options=SyncOptions(replace=True), force=True).tasks}
    assert forced["big"].force
    assert not forced["widgets.example.com"].force


def test_custom_resources_of_a_crd_in_the_same_sync_skip_the_dry_run() -> None:
    tasks = {t.key.name: t for t in plan("dependencies").tasks}
    assert tasks["blue"].skip_dry_run
    assert not tasks["settings"].skip_dry_run


def test_namespace_creation_task() -> None:
    options = SyncOptions(create_namespace=True)
    created = plan("prune", options=options, namespace_exists=False)
    assert created.namespace_task == "PreSync:/Namespace//shop"
    metadata = NamespaceMetadata(labels={"team": "shop"}, annotations={"owner": "web"})
    managed = plan("prune", options=options, managed_namespace_metadata=metadata)
    assert managed.namespace_task is None
    [namespace] = [t for t in managed.tasks if t.key.kind == "Namespace"]
    assert namespace.live
    assert namespace.manifest == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": "shop",
            "labels": {"team": "shop"},
            "annotations": {"owner": "web", "argocd.argoproj.io/sync-options": "ServerSideApply=true"},
        },
    }


def test_multi_step_when_more_than_one_phase_or_wave() -> None:
    assert plan("waves", prune=True).multi_step
    assert plan("hooks", **HOOKS_RUN).multi_step
    assert not plan("kinds").multi_step
    assert not plan("replace").multi_step


def test_plans_round_trip_through_dicts() -> None:
    original = plan("hooks", **HOOKS_RUN, prune=True)
    assert SyncPlan.from_dict(original.to_dict()) == original


def test_kind_ranks_follow_helm_and_put_unknown_kinds_last() -> None:
    ranks = [kind_rank(k) for k in KIND_ORDER]
    assert ranks == sorted(ranks)
    assert kind_rank("Namespace") < kind_rank("CustomResourceDefinition") < kind_rank("APIService") < 0
    assert kind_rank("Widget") == 0


@pytest.mark.parametrize(
    ("desired", "message"),
    [
        ([{"kind": "ConfigMap", "metadata": {"name": "x"}}], "apiVersion and kind"),
        (
            [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}] * 2,
            "core/ConfigMap shop/x: the object is defined twice",
        ),
        (
            [
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "metadata": {"annotations": {"argocd.argoproj.io/hook": "PreSync"}},
                }
            ],
            "a hook needs metadata.name or metadata.generateName",
        ),
        (
            [
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "x", "annotations": {"argocd.argoproj.io/sync-wave": "first"}},
                }
            ],
            "annotations[argocd.argoproj.io/sync-wave]: 'first' is not an integer",
        ),
    ],
    ids=["no-api-version", "duplicate", "nameless-hook", "bad-wave"],
)
def test_invalid_manifests_are_spec_errors(desired: list[Manifest], message: str) -> None:
    with pytest.raises(SpecError) as caught:
        plan_sync(PlanInput(desired=desired, namespace="shop"))
    assert message in str(caught.value)


def test_actions_of_prunes_and_applies() -> None:
    actions = {t.action for t in plan("waves", prune=True).tasks}
    assert actions == {TaskAction.APPLY, TaskAction.PRUNE}
