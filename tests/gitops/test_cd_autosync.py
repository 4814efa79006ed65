"""Auto-sync decisions (Argo CD's ``autoSync``) and the comparison of one Application, as tables."""

from __future__ import annotations

import textwrap
from dataclasses import replace

import pytest

from gitloop.gitops import autosync
from gitloop.gitops.autosync import SelfHealBackoff
from gitloop.gitops.comparison import Comparison, compare_app
from gitloop.gitops.status import AppStatus, ConditionType, OperationSummary, ResourceStatus
from gitloop.gitops.tracking import prepare
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.resources import Manifest, ResourceKey
from gitloop.model.sync import SyncStatus
from gitloop.spec.argocd import Application, parse_apps_text

REV = ("a" * 40,)
OLD = ("b" * 40,)
NOW = 1000.0


def application(automated: str = "{prune: true, selfHeal: true}") -> Application:
    text = textwrap.dedent(f"""\
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {{name: app}}
        spec:
          project: default
          source: {{repoURL: https://git.example/c.git, path: k8s}}
          destination: {{server: https://kubernetes.default.svc, namespace: ns}}
          syncPolicy: {{automated: {automated}}}
        """)
    return parse_apps_text(text).app("app")


def resource(name: str, status: SyncStatus, pruning: bool = False) -> ResourceStatus:
    return ResourceStatus(ResourceKey("", "ConfigMap", "ns", name), "v1", status, requires_pruning=pruning)


def comparison(*resources: ResourceStatus, revisions: tuple[str, ...] = REV) -> Comparison:
    statuses = {r.status for r in resources}
    app_status = SyncStatus.OUT_OF_SYNC if SyncStatus.OUT_OF_SYNC in statuses else SyncStatus.SYNCED
    return Comparison(revisions, resources, app_status, HealthResult(HealthStatus.HEALTHY))


def last(
    phase: str = "Succeeded", revisions: tuple[str, ...] = REV, finished: float = NOW - 1, heals: int = 0
) -> OperationSummary:
    app = application()
    return OperationSummary(
        "op",
        phase,
        "boom" if phase == "Failed" else "",
        revisions,
        sources=(dict(app.source.raw),),
        automated=True,
        finished_at=finished,
        self_heal_attempts=heals,
    )


DRIFT = comparison(resource("a", SyncStatus.OUT_OF_SYNC), resource("b", SyncStatus.SYNCED))
PRUNE_ONLY = comparison(resource("a", SyncStatus.SYNCED), resource("old", SyncStatus.OUT_OF_SYNC, True))
ALL_PRUNE = comparison(resource("old", SyncStatus.OUT_OF_SYNC, True))

CASES = {
    "new revision syncs": (application(), AppStatus("app"), DRIFT, True, ""),
    "not automated": (application("null"), AppStatus("app"), DRIFT, False, "not enabled"),
    "disabled": (application("{enabled: false}"), AppStatus("app"), DRIFT, False, "not enabled"),
    "synced: nothing to do": (
        application(),
        AppStatus("app"),
        comparison(resource("a", SyncStatus.SYNCED)),
        False,
        "status is Synced",
    ),
    "prune only without automated prune": (
        application("{}"),
        AppStatus("app"),
        PRUNE_ONLY,
        False,
        "automated prune is disabled",
    ),
    "prune only with automated prune": (application(), AppStatus("app"), PRUNE_ONLY, True, ""),
    "would wipe everything": (application(), AppStatus("app"), ALL_PRUNE, False, "prune every resource"),
    "allowEmpty wipes": (
        application("{prune: true, allowEmpty: true}"),
        AppStatus("app"),
        ALL_PRUNE,
        True,
        "",
    ),
    "failed attempt is not repeated": (
        application(),
        AppStatus("app", operation=last("Failed")),
        DRIFT,
        False,
        "failed previous",
    ),
    "failed attempt of an older revision": (
        application(),
        AppStatus("app", operation=last("Failed", OLD)),
        DRIFT,
        True,
        "",
    ),
    "synced once, no self-heal": (
        application("{prune: true}"),
        AppStatus("app", operation=last()),
        DRIFT,
        False,
        "most recent sync already",
    ),
    "self-heal at once": (application(), AppStatus("app", operation=last()), DRIFT, True, ""),
    "self-heal backs off": (
        application(),
        AppStatus("app", operation=last(heals=2)),
        DRIFT,
        False,
        "backs off",
    ),
    "self-heal after the backoff": (
        application(),
        AppStatus("app", operation=last(finished=NOW - 7, heals=2)),
        DRIFT,
        True,
        "",
    ),
    "paused by a rollback": (
        application(),
        AppStatus("app", auto_sync_paused_at=REV[0]),
        DRIFT,
        False,
        "paused after a rollback",
    ),
    "rollback pause ends with a new commit": (
        application(),
        AppStatus("app", auto_sync_paused_at=OLD[0]),
        DRIFT,
        True,
        "",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_auto_sync_decisions(case: str) -> None:
    app, status, compared, sync, reason = CASES[case]
    decision = autosync.decide(app, status, compared, now=NOW)
    assert decision.sync is sync, decision
    assert reason in decision.reason


def test_failed_attempt_and_wipe_out_raise_sync_error_conditions() -> None:
    failed = autosync.decide(application(), AppStatus("app", operation=last("Failed")), DRIFT, now=NOW)
    assert failed.condition is not None and failed.condition.type is ConditionType.SYNC_ERROR
    assert failed.condition.message == f"Failed sync attempt to {REV[0][:12]}: boom"
    wipe = autosync.decide(application(), AppStatus("app"), ALL_PRUNE, now=NOW)
    assert wipe.condition is not None and "auto-sync will wipe out all resources" in wipe.condition.message


def test_self_heal_syncs_only_resources_not_synced_and_counts_attempts() -> None:
    decision = autosync.decide(
        application(), AppStatus("app", operation=last(heals=1, finished=NOW - 3)), DRIFT, now=NOW
    )
    assert decision.sync and decision.self_heal and decision.self_heal_attempts == 2
    assert [k.name for k in decision.resources] == ["a"]
    cooled = AppStatus("app", sync_status=SyncStatus.SYNCED, operation=last(heals=5, finished=NOW - 400))
    assert autosync.decide(application(), cooled, DRIFT, now=NOW).self_heal_attempts == 1
    assert [SelfHealBackoff().delay(n) for n in range(5)] == [0.0, 2.0, 6.0, 18.0, 54.0]
    assert SelfHealBackoff().delay(10) == 300.0


def _deployment(name: str) -> Manifest:
    return prepare(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": "ns"},
            "spec": {"replicas": 1},
        },
        "app",
    )


def _cm(name: str, **annotations: str) -> Manifest:
    meta: dict[str, object] = {"name": name, "namespace": "ns"}
    if annotations:
        meta["annotations"] = dict(annotations)
    return prepare({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": "v"}}, "app")


def test_comparison_counts_health_as_argo_cd_does() -> None:
    hook = _cm("hook", **{"argocd.argoproj.io/hook": "PreSync"})
    ignored = _deployment("ignored")
    ignored["metadata"]["annotations"]["argocd.argoproj.io/ignore-healthcheck"] = "true"
    live_extra = _cm("extra")
    result = compare_app(
        REV,
        [_deployment("web"), _cm("cfg"), hook, ignored, _cm("cfg")],
        {ResourceKey("", "ConfigMap", "ns", "extra"): live_extra},
    )
    names = {r.key.name: r for r in result.resources}
    assert set(names) == {"web", "cfg", "ignored", "extra"}, "hooks are not resources"
    assert names["web"].health == HealthResult(HealthStatus.MISSING)
    assert names["cfg"].health is None, "no health rule: a missing ConfigMap does not count"
    assert names["ignored"].health is None
    assert names["extra"].requires_pruning and names["extra"].status is SyncStatus.OUT_OF_SYNC
    assert result.health.status is HealthStatus.MISSING
    assert result.sync_status is SyncStatus.OUT_OF_SYNC
    assert [c.type for c in result.conditions] == [ConditionType.REPEATED_RESOURCE_WARNING]
    synced = compare_app(
        REV, [_cm("cfg")], {ResourceKey("", "ConfigMap", "ns", "cfg"): replace_data(_cm("cfg"))}
    )
    assert synced.sync_status is SyncStatus.SYNCED and synced.health.status is HealthStatus.HEALTHY


def replace_data(obj: Manifest) -> Manifest:
    out = dict(obj)
    out["metadata"] = {**obj["metadata"], "resourceVersion": "7", "uid": "u"}
    return out


def test_status_round_trips_through_json() -> None:
    status = AppStatus(
        "app",
        SyncStatus.OUT_OF_SYNC,
        REV,
        HealthResult(HealthStatus.DEGRADED, "bad"),
        (resource("a", SyncStatus.OUT_OF_SYNC),),
        operation=last(),
        auto_sync_paused_at="x",
    )
    assert AppStatus.from_dict(status.to_dict()) == replace(status)
