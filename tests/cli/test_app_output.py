"""``gitloop app``'s printing from Argo CD-shaped JSON (``gitloop.cli.app_output``): table-driven.

The Applications are built by ``gitloop.gitops.shapes`` from the engine's own types, as the local mode
and the server both build them, so each case also pins what the shape carries for the CLI."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from gitloop.cli import app_output as out
from gitloop.gitops.shapes import application
from gitloop.gitops.status import AppStatus, Condition, ConditionType, OperationSummary, ResourceStatus
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.resources import ResourceKey
from gitloop.model.sync import SyncStatus
from gitloop.ports import HistoryEntry
from gitloop.spec.argocd import Application
from gitloop.spec.argocd.documents import parse_apps_text

SHA1 = "1111111aaaaaaabbbbbbb"
SHA2 = "2222222cccccccddddddd"

APPS = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  project: default
  source: {repoURL: "https://git.example/web.git", targetRevision: main, path: k8s}
  destination: {server: "https://kubernetes.default.svc", namespace: web}
  syncPolicy: {automated: {prune: true, selfHeal: true}}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: charts, namespace: argocd}
spec:
  project: default
  sources:
    - {repoURL: "https://charts.example", chart: redis, targetRevision: 1.2.3}
    - {repoURL: "https://git.example/values.git", ref: values}
  destination: {name: prod, namespace: cache}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: idle, namespace: argocd}
spec:
  project: default
  source: {repoURL: "https://git.example/idle.git", path: "."}
  destination: {name: in-cluster, namespace: idle}
  syncPolicy: {automated: {enabled: false, prune: true}}
"""


def _app(name: str) -> Application:
    return parse_apps_text(APPS).app(name)


DEPLOY = ResourceKey("apps", "Deployment", "web", "web")
OLD = ResourceKey("", "ConfigMap", "web", "old")

OPERATION = OperationSummary(
    id="web-1700000000000",
    phase="Failed",
    message="one or more objects failed to apply",
    revisions=(SHA2,),
    username="alice",
    started_at=1_700_000_000.0,
    finished_at=1_700_000_005.0,
    retry_count=2,
    results=(
        {
            "group": "apps",
            "kind": "Deployment",
            "namespace": "web",
            "name": "web",
            "status": "SyncFailed",
            "message": "the server rejected it",
            "hookPhase": "",
            "syncPhase": "Sync",
            "wave": -1,
        },
        {
            "group": "batch",
            "kind": "Job",
            "namespace": "web",
            "name": "migrate",
            "status": "Synced",
            "message": "job.batch/migrate created",
            "hookType": "PreSync",
            "hookPhase": "Succeeded",
            "syncPhase": "PreSync",
            "wave": 0,
        },
    ),
)

WEB = AppStatus(
    name="web",
    sync_status=SyncStatus.OUT_OF_SYNC,
    revisions=(SHA1,),
    health=HealthResult(HealthStatus.DEGRADED, "1 of 2 pods ready"),
    resources=(
        ResourceStatus(DEPLOY, "apps/v1", SyncStatus.OUT_OF_SYNC, HealthResult(HealthStatus.DEGRADED)),
        ResourceStatus(OLD, "v1", SyncStatus.OUT_OF_SYNC, requires_pruning=True, message="not in git"),
    ),
    conditions=(Condition(ConditionType.SYNC_ERROR, "one or more objects failed to apply", 1.0),),
    operation=OPERATION,
    auto_sync_paused_at=SHA1,
)
CHARTS = AppStatus(name="charts", sync_status=SyncStatus.SYNCED, revisions=("1.2.3", SHA2))
IDLE = AppStatus(name="idle")


def shaped(name: str, status: AppStatus, history: tuple[HistoryEntry, ...] = ()) -> dict[str, Any]:
    # Through JSON, as a server's answer arrives.
    return dict(json.loads(json.dumps(application(_app(name), status, history))))


def test_list_table() -> None:
    apps = [shaped("charts", CHARTS), shaped("idle", IDLE), shaped("web", WEB)]
    assert out.app_table(apps).splitlines() == [
        "NAME    PROJECT  CLUSTER                         NAMESPACE  SYNC       HEALTH    REVISION       CONDITIONS",
        "charts  default  prod                            cache      Synced     Unknown   1.2.3,2222222",
        "idle    default  in-cluster                      idle       Unknown    Unknown   -",
        "web     default  https://kubernetes.default.svc  web        OutOfSync  Degraded  1111111        SyncError",
    ]


def test_describe() -> None:
    assert out.describe(shaped("web", WEB)) == "\n".join(
        [
            "Name:            web",
            "Project:         default",
            "Server:          https://kubernetes.default.svc",
            "Namespace:       web",
            "Repo:            https://git.example/web.git",
            "Target:          main",
            "Path:            k8s",
            "Sync Policy:     Automated (Prune, SelfHeal)",
            "Sync Status:     OutOfSync to main (1111111)",
            "Health Status:   Degraded (1 of 2 pods ready)",
            "Auto-sync:       paused after a rollback until git moves past 1111111",
            "",
            "CONDITION",
            "SyncError: one or more objects failed to apply",
            "",
            "Last operation:   Failed (alice, 2222222): one or more objects failed to apply",
            "",
            "GROUP  KIND        NAMESPACE  NAME  STATUS             HEALTH    MESSAGE",
            "apps   Deployment  web        web   OutOfSync          Degraded",
            "       ConfigMap   web        old   OutOfSync (prune)            not in git",
        ]
    )


@pytest.mark.parametrize(
    ("name", "lines"),
    [
        (
            "charts",
            ["Repo:            https://charts.example", "Target:          1.2.3", "Path:            redis"],
        ),
        (
            "idle",
            ["Target:          HEAD", "Sync Policy:     Manual", "Sync Status:     Unknown to HEAD (-)"],
        ),
    ],
)
def test_describe_sources_and_policies(name: str, lines: list[str]) -> None:
    text = out.describe(shaped(name, CHARTS if name == "charts" else IDLE))
    for line in lines:
        assert line in text.splitlines()


@pytest.mark.parametrize(
    ("automated", "expected"),
    [
        (None, "Manual"),
        ({}, "Automated"),
        ({"prune": True}, "Automated (Prune)"),
        ({"selfHeal": True}, "Automated (SelfHeal)"),
        ({"prune": True, "selfHeal": True}, "Automated (Prune, SelfHeal)"),
        ({"enabled": False, "prune": True}, "Manual"),
    ],
)
def test_policy(automated: dict[str, Any] | None, expected: str) -> None:
    spec = {} if automated is None else {"syncPolicy": {"automated": automated}}
    assert out.policy(spec) == expected


def test_operation() -> None:
    assert out.operation(shaped("web", WEB)).splitlines() == [
        "Operation web-1700000000000: Failed after 2 retries",
        "Revision: 2222222",
        "Message: one or more objects failed to apply",
        "",
        "GROUP  KIND        NAMESPACE  NAME     STATUS      HOOK     PHASE    WAVE  MESSAGE",
        "apps   Deployment  web        web      SyncFailed           Sync     -1    the server rejected it",
        "batch  Job         web        migrate  Synced      PreSync  PreSync  0     job.batch/migrate created",
    ]
    assert not out.operation_succeeded(shaped("web", WEB))


def test_operation_without_results() -> None:
    summary = OperationSummary(id="idle-1", phase="Succeeded", message="nothing to do", revisions=())
    found = shaped("idle", AppStatus(name="idle", operation=summary))
    assert out.operation(found) == "Operation idle-1: Succeeded\nRevision: -\nMessage: nothing to do"
    assert out.operation_succeeded(found)


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        (False, "web: OutOfSync (1111111), Degraded"),
        (True, "web: OutOfSync (1111111), Degraded  SyncError: one or more objects failed to apply"),
    ],
)
def test_status_line(conditions: bool, expected: str) -> None:
    assert out.status_line(shaped("web", WEB), conditions=conditions) == expected


def test_history_table() -> None:
    finished = 1_700_000_100.0
    entries = (
        HistoryEntry(
            1,
            "Application/web",
            finished,
            {
                "revision": SHA1,
                "phase": "Succeeded",
                "finishedAt": finished,
                "initiatedBy": {"automated": True},
                "sourceCommit": {"message": "first\n\nbody"},
            },
        ),
        HistoryEntry(
            2,
            "Application/web",
            finished + 60,
            {
                "revision": SHA2,
                "phase": "Failed",
                "initiatedBy": {"username": "bob"},
                "rollbackOf": 1,
            },
        ),
    )
    local = [time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) for t in (finished, finished + 60)]
    assert out.history_table(shaped("web", WEB, entries)).splitlines() == [
        "ID  DATE                 REVISION      INITIATED BY  PHASE      NOTE           COMMIT",
        f"1   {local[0]}  {SHA1[:12]}  automated     Succeeded                 first",
        f"2   {local[1]}  {SHA2[:12]}  bob           Failed     rollback to 1",
    ]


def _item(live: Any, predicted: Any, *, modified: bool, kind: str = "ConfigMap") -> dict[str, Any]:
    return {
        "group": "",
        "kind": kind,
        "namespace": "web",
        "name": "cfg",
        "targetState": json.dumps(predicted),
        "liveState": json.dumps(live),
        "normalizedLiveState": json.dumps(live),
        "predictedLiveState": json.dumps(predicted),
        "diff": "",
        "hook": False,
        "modified": modified,
    }


CM1 = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"v": "1"}}
CM2 = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"v": "2"}}


@pytest.mark.parametrize(
    ("items", "text", "differs"),
    [
        ([], "", False),
        ([_item(CM1, CM1, modified=False)], "", False),
        (
            [_item(CM1, CM2, modified=True)],
            "===== core/ConfigMap/web/cfg ======\n"
            "--- a/core/ConfigMap/web/cfg\n+++ b/core/ConfigMap/web/cfg\n"
            "@@ -1,4 +1,4 @@\n apiVersion: v1\n data:\n-  v: '1'\n+  v: '2'\n kind: ConfigMap\n",
            True,
        ),
        (
            [_item(None, CM1, modified=True)],
            # The header cuts six characters off the first line, as before: "ev/null" for a new resource.
            "===== ev/null ======\n--- /dev/null\n+++ b/core/ConfigMap/web/cfg\n"
            "@@ -0,0 +1,4 @@\n+apiVersion: v1\n+data:\n+  v: '1'\n+kind: ConfigMap\n",
            True,
        ),
        (
            [_item(CM1, None, modified=True)],
            "===== core/ConfigMap/web/cfg ======\n--- a/core/ConfigMap/web/cfg\n+++ /dev/null\n"
            "@@ -1,4 +0,0 @@\n-apiVersion: v1\n-data:\n-  v: '1'\n-kind: ConfigMap\n",
            True,
        ),
        ([{**_item(None, None, modified=False), "liveState": "null"}], "", True),
    ],
    ids=["none", "same", "changed", "created", "pruned", "not-compared"],
)
def test_diff(items: list[dict[str, Any]], text: str, differs: bool) -> None:
    assert out.diff_text(items) == text
    assert out.differs(items) is differs


def test_table_pads_all_but_the_last_column() -> None:
    assert out.table(["A", "BB", "C"], [["xxx", "", "z"]]) == "A    BB  C\nxxx      z"


def test_manifests_yaml_keeps_key_order() -> None:
    assert out.manifests_yaml([{"b": 1, "a": 2}, {"c": 3}]) == "b: 1\na: 2\n---\nc: 3\n"


def test_live_states_in_key_order_without_missing_objects() -> None:
    def item(kind: str, name: str, live: Any) -> dict[str, Any]:
        return {"group": "", "kind": kind, "namespace": "web", "name": name, "liveState": json.dumps(live)}

    items = [
        item("Service", "web", {"kind": "Service"}),
        item("ConfigMap", "b", None),
        item("ConfigMap", "a", CM1),
    ]
    assert out.live_states(items) == [CM1, {"kind": "Service"}]
