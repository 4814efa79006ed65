"""The post-sync rules on their own: when a post-sync pipeline is due, what its PipelineRun receives,
how Applications are checked against the configured Pipelines; and how a run a dead server left behind
is recorded as ``Interrupted``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gitloop.errors import SpecError
from gitloop.gitops.postsync import (
    PostSyncPipeline,
    Synced,
    check_applications,
    due,
    pipeline_run,
    run_name,
)
from gitloop.gitops.status import AppStatus, OperationSummary
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.images import images_in
from gitloop.model.sync import SyncStatus
from gitloop.pipeline.records import interrupted_doc
from gitloop.ports import StoredObject
from gitloop.service.interrupted import runner_alive, runner_id
from gitloop.service.server.postsync import load_pipelines
from gitloop.spec.argocd import Application, parse_apps_text

APPS = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web-dev
  annotations:
    gitloop.dev/post-sync-pipeline: smoke
    gitloop.dev/post-sync-param.promote-to: staging
spec:
  project: default
  source: {repoURL: "http://git.local/app-config.git", targetRevision: main, path: overlays/dev}
  destination: {server: "https://kubernetes.default.svc", namespace: dev}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: plain}
spec:
  project: default
  source: {repoURL: "http://git.local/app-config.git", targetRevision: main, path: plain}
  destination: {server: "https://kubernetes.default.svc", namespace: plain}
"""

SMOKE = PostSyncPipeline(
    "smoke",
    {
        "app-name": "string",
        "revision": "string",
        "images": "array",
        "image": "string",
        "promote-to": "string",
    },
    ("scratch",),
)


def _apps() -> dict[str, Application]:
    return dict(parse_apps_text(APPS).apps)


def _operation(phase: str = "Succeeded", *, dry_run: bool = False) -> OperationSummary:
    return OperationSummary(
        "web-dev-1", phase, "", ("c0ffee" * 6 + "c0ff",), finished_at=1.0, dry_run=dry_run
    )


def _status(operation: OperationSummary | None, sync: SyncStatus, health: HealthStatus) -> AppStatus:
    return AppStatus("web-dev", sync, ("c0ffee" * 6 + "c0ff",), HealthResult(health), operation=operation)


@pytest.mark.parametrize(
    ("operation", "sync", "health", "expected"),
    [
        (_operation(), SyncStatus.SYNCED, HealthStatus.HEALTHY, True),
        (_operation(), SyncStatus.SYNCED, HealthStatus.PROGRESSING, False),
        (_operation(), SyncStatus.OUT_OF_SYNC, HealthStatus.HEALTHY, False),
        (_operation("Failed"), SyncStatus.SYNCED, HealthStatus.HEALTHY, False),
        (_operation("Running"), SyncStatus.SYNCED, HealthStatus.HEALTHY, False),
        (_operation(dry_run=True), SyncStatus.SYNCED, HealthStatus.HEALTHY, False),
        (None, SyncStatus.SYNCED, HealthStatus.HEALTHY, False),
    ],
)
def test_a_post_sync_pipeline_is_due_after_a_successful_sync_once_healthy(
    operation: OperationSummary | None, sync: SyncStatus, health: HealthStatus, expected: bool
) -> None:
    apps = _apps()
    status = _status(operation, sync, health)
    assert (due(apps["web-dev"], status) is not None) == expected
    assert due(apps["plain"], status) is None, "no annotation, no post-sync pipeline"


def test_the_run_receives_what_was_synced_as_the_params_its_pipeline_declares() -> None:
    synced = Synced(_apps()["web-dev"], _operation(), ("registry/web:abc1234", "registry/side:1"), "f" * 40)
    run = pipeline_run(SMOKE, synced)
    assert run["metadata"]["name"] == run_name("web-dev", "web-dev-1")
    assert run["spec"]["pipelineRef"] == {"name": "smoke"}
    assert run["spec"]["params"] == [
        {"name": "app-name", "value": "web-dev"},
        {"name": "revision", "value": "c0ffee" * 6 + "c0ff"},
        {"name": "images", "value": ["registry/web:abc1234", "registry/side:1"]},
        {"name": "image", "value": "registry/web:abc1234"},
        {"name": "promote-to", "value": "staging"},
    ]
    assert run["spec"]["workspaces"] == [{"name": "scratch", "emptyDir": {}}]
    as_string = PostSyncPipeline("smoke", {"images": "string", "source-commit": "string"})
    assert pipeline_run(as_string, synced)["spec"]["params"] == [
        {"name": "images", "value": "registry/web:abc1234 registry/side:1"},
        {"name": "source-commit", "value": "f" * 40},
    ]


def test_run_names_are_stable_dns_labels() -> None:
    name = run_name("a" * 63, "op-1")
    assert name == run_name("a" * 63, "op-1") != run_name("a" * 63, "op-2")
    assert len(name) <= 63 and name.replace("-", "").isalnum() and name.islower()


def test_images_of_pod_templates() -> None:
    manifests = [
        {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"image": "b:1"}]}}}},
        {
            "kind": "CronJob",
            "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"image": "c:2"}]}}}}},
        },
        {"kind": "Pod", "spec": {"initContainers": [{"image": "a:0"}], "containers": [{"image": "b:1"}]}},
        {"kind": "Service", "spec": {"ports": []}},
    ]
    assert images_in(manifests) == ("a:0", "b:1", "c:2")


def test_applications_are_checked_against_the_configured_pipelines(tmp_path: Path) -> None:
    apps = _apps().values()
    check_applications(apps, {"smoke": SMOKE})
    with pytest.raises(SpecError, match="no Pipeline 'smoke'"):
        check_applications(apps, {})
    with pytest.raises(SpecError, match="has no param 'promote-to'"):
        check_applications(apps, {"smoke": PostSyncPipeline("smoke", {"revision": "string"})})
    file = tmp_path / "p.yaml"
    file.write_text(
        "apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: smoke}\nspec:\n"
        "  params: [{name: images, type: array}, {name: revision}]\n  workspaces: [{name: w}]\n"
        "  tasks: [{name: t, taskSpec: {steps: [{name: s, image: x, script: 'true'}]}}]\n"
    )
    assert load_pipelines([file]) == {
        "smoke": PostSyncPipeline("smoke", {"images": "array", "revision": "string"}, ("w",))
    }


def test_a_runner_is_alive_only_while_its_process_is() -> None:
    assert runner_alive(runner_id())
    host = runner_id().split("/")[0]
    assert not runner_alive(f"{host}/{os.getpid()}/1")  # same PID, another start time: reused
    assert runner_alive("another-machine/1/1"), "another machine's runs are not ours to judge"


def test_an_interrupted_run_keeps_what_was_recorded() -> None:
    record = StoredObject(
        "TaskRun",
        "run-long",
        {
            "manifest": {
                "kind": "TaskRun",
                "status": {
                    "conditions": [{"type": "Succeeded", "status": "Unknown", "reason": "Running"}],
                    "steps": [{"name": "wait", "running": {"startedAt": "2026-01-01T00:00:00Z"}}],
                    "results": [{"name": "early", "value": "kept"}],
                },
            },
            "state": {"phase": "Running", "condition": {"status": "Unknown"}},
        },
        {"gitloop.dev/runner": "h/1/2"},
        0.0,
        0.0,
    )
    doc = interrupted_doc(record, "gone", 1e9)
    status = doc["manifest"]["status"]
    assert status["conditions"][0]["reason"] == "Interrupted" and status["conditions"][0]["status"] == "False"
    assert status["steps"][0]["terminated"]["reason"] == "Interrupted"
    assert status["results"] == [{"name": "early", "value": "kept"}]
    assert doc["state"] == {
        "phase": "Done",
        "condition": {"status": "False", "reason": "Interrupted", "message": "gone", "time": 1e9},
        "completion_time": 1e9,
    }
