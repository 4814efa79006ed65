"""Every file under testdata/ is one object; the table says the health Argo CD gives it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitloop.gitops.health import assess
from gitloop.model.health import HealthStatus
from gitloop.spec.manifests import load_manifests

TESTDATA = Path(__file__).parent / "testdata"

H = HealthStatus.HEALTHY
S = HealthStatus.SUSPENDED
P = HealthStatus.PROGRESSING
D = HealthStatus.DEGRADED
U = HealthStatus.UNKNOWN

# file -> (status, or None for "no health rule"; the exact message, or "~text" for a substring)
EXPECTED: dict[str, tuple[HealthStatus | None, str]] = {
    "deployment-healthy": (H, ""),
    "deployment-paused": (S, "Deployment is paused"),
    "deployment-generation-not-observed": (
        P,
        "Waiting for rollout to finish: observed deployment generation less than desired generation",
    ),
    "deployment-progress-deadline": (D, 'Deployment "api" exceeded its progress deadline'),
    "deployment-updating": (P, "Waiting for rollout to finish: 2 out of 4 new replicas have been updated..."),
    "deployment-old-replicas-terminating": (
        P,
        "Waiting for rollout to finish: 1 old replicas are pending termination...",
    ),
    "deployment-updated-not-available": (
        P,
        "Waiting for rollout to finish: 2 of 3 updated replicas are available...",
    ),
    "deployment-scaled-to-zero": (H, ""),
    "deployment-old-api-version": (U, "unsupported Deployment GVK: apps/v1beta2, Kind=Deployment"),
    "deployment-malformed-replicas": (U, "~.spec.replicas: expected an integer, got str"),
    "deployment-deleting": (P, "Pending deletion"),
    "deployment-extensions-no-rule": (None, ""),
    "statefulset-healthy": (H, "statefulset rolling update complete 3 pods at revision db-7f9c8d6b4..."),
    "statefulset-not-observed": (P, "Waiting for statefulset spec update to be observed..."),
    "statefulset-pods-not-ready": (P, "Waiting for 2 pods to be ready..."),
    "statefulset-partition-rolling": (
        P,
        "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...",
    ),
    "statefulset-partition-done": (H, "partitioned roll out complete: 2 new pods have been updated..."),
    "statefulset-ondelete": (H, "statefulset has 3 ready pods"),
    "statefulset-revision-rolling": (
        P,
        "waiting for statefulset rolling update to complete 1 pods at revision db-6a9e...",
    ),
    "daemonset-healthy": (H, ""),
    "daemonset-not-observed": (
        P,
        "Waiting for rollout to finish: observed daemon set generation less than desired generation",
    ),
    "daemonset-ondelete": (H, "daemon set 1 out of 3 new pods have been updated"),
    "daemonset-updating": (
        P,
        'Waiting for daemon set "node-agent" rollout to finish: 2 out of 3 new pods have been updated...',
    ),
    "daemonset-unavailable": (
        P,
        'Waiting for daemon set "node-agent" rollout to finish: 2 of 3 updated pods are available...',
    ),
    "replicaset-healthy": (H, ""),
    "replicaset-replica-failure": (D, "~exceeded quota: compute-resources"),
    "replicaset-replica-failure-cleared": (H, ""),
    "replicaset-unavailable": (P, "Waiting for rollout to finish: 1 out of 3 new replicas are available..."),
    "replicaset-not-observed": (
        P,
        "Waiting for rollout to finish: observed replica set generation less than desired generation",
    ),
    "pod-running-ready": (H, ""),
    "pod-crashloop": (D, "back-off 5m0s restarting failed container=api pod=api-6c9f7d8b5-x2k4p"),
    "pod-image-pull-errors": (D, 'Back-off pulling image "registry.example/web:nope", manifest unknown'),
    "pod-create-config-error": (D, 'secret "web-credentials" not found'),
    "pod-pending": (P, "0/3 nodes are available: 3 Insufficient cpu."),
    "pod-succeeded": (H, ""),
    "pod-failed-with-message": (D, "The node was low on resource: memory."),
    "pod-failed-exit-code": (D, 'container "migrate" failed with exit code 3'),
    "pod-failed-oomkilled": (D, "OOMKilled"),
    "pod-failed-termination-message": (D, "schema version 12 is newer than this binary"),
    "pod-running-never": (P, ""),
    "pod-running-never-backoff": (P, ""),
    "pod-running-restarted-not-ready": (D, "readiness probe failing"),
    "pod-running-not-ready": (P, ""),
    "pod-ignore-restart-policy": (H, ""),
    "pod-ignore-restart-policy-hook": (P, ""),
    "pod-without-restart-policy": (U, ""),
    "pod-no-status": (U, ""),
    "job-running": (P, ""),
    "job-complete": (H, "Reached expected number of succeeded pods"),
    "job-failed": (D, "Job has reached the specified backoff limit"),
    "job-suspended": (S, "Job suspended"),
    "job-resumed": (H, "Job resumed"),
    "job-hook-deleting": (H, ""),
    "cronjob-suspended": (H, "CronJob is Suspended"),
    "cronjob-no-status": (P, "Waiting for CronJob"),
    "cronjob-never-scheduled": (H, "CronJob has not been scheduled yet"),
    "cronjob-never-succeeded": (H, "The CronJob never completed successfully. It may not be healthy"),
    "cronjob-active": (H, "The job is running. Its last execution may not have been successful"),
    "cronjob-last-run-failed": (D, "CronJob has not completed its last execution successfully"),
    "cronjob-last-run-succeeded": (H, "CronJob has completed its last execution successfully"),
    "cronjob-unquoted-timestamps": (D, "CronJob has not completed its last execution successfully"),
    "pvc-bound": (H, ""),
    "pvc-pending": (P, ""),
    "pvc-lost": (D, ""),
    "pvc-no-phase": (U, ""),
    "service-clusterip": (H, ""),
    "service-loadbalancer-pending": (P, ""),
    "service-loadbalancer-ip": (H, ""),
    "service-loadbalancer-hostname": (H, ""),
    "service-nodeport-no-status": (H, ""),
    "ingress-with-ip": (H, ""),
    "ingress-pending": (P, ""),
    "ingress-extensions-hostname": (H, ""),
    "ingress-malformed-status": (P, ""),
    "hpa-v2-able-to-scale": (H, "recommended size matches current size"),
    "hpa-v2-able-to-scale-before-failed-metric": (
        H,
        "the HPA controller was able to get the target's current scale",
    ),
    "hpa-v2-failed-metric-first": (D, "~failed to get memory utilization"),
    "hpa-v2-failed-get-scale": (D, '~statefulsets/scale.apps "worker" not found'),
    "hpa-v2-failed-update-scale": (D, "~unable to update the target scale"),
    "hpa-v2-invalid-selector": (D, "the HPA target's scale is missing a selector"),
    "hpa-v2-failed-external-metric": (P, "Waiting to Autoscale"),
    "hpa-v2-scaling-limited": (H, "the desired replica count is more than the maximum replica count"),
    "hpa-v2-scaling-active-only": (P, "Waiting to Autoscale"),
    "hpa-v2-backoff": (P, "Waiting to Autoscale"),
    "hpa-v2-status-not-true": (P, "Waiting to Autoscale"),
    "hpa-v2-no-conditions": (P, "Waiting to Autoscale"),
    "hpa-v2-malformed-condition": (
        U,
        "failed to convert unstructured HPA to typed: .status: expected a string, got bool",
    ),
    "hpa-v2beta2-able-to-scale": (H, ""),
    "hpa-v2beta2-failed-get-scale": (D, '~no matches for kind "Rollout"'),
    "hpa-v2beta1-scaling-limited": (H, "the desired replica count is less than the minimum replica count"),
    "hpa-v2beta1-invalid-selector": (D, "~couldn't convert selector"),
    "hpa-v2beta1-no-conditions": (P, "Waiting to Autoscale"),
    "hpa-v3-unsupported": (U, "unsupported HPA GVK: autoscaling/v3, Kind=HorizontalPodAutoscaler"),
    "hpa-v1-annotation-healthy": (H, "recommended size matches current size"),
    "hpa-v1-annotation-degraded": (D, '~deployments/scale.apps "apx" not found'),
    "hpa-v1-annotation-failed-reason-status-true": (
        D,
        "the HPA controller was unable to get the target's current scale",
    ),
    "hpa-v1-annotation-progressing": (P, "Waiting to Autoscale"),
    "hpa-v1-annotation-empty-list": (P, "Waiting to Autoscale"),
    "hpa-v1-annotation-null": (P, "Waiting to Autoscale"),
    "hpa-v1-annotation-key-case": (H, "the desired replica count is more than the maximum replica count"),
    "hpa-v1-annotation-null-entry": (H, "recommended size matches current size"),
    "hpa-v1-no-annotation": (P, "Waiting to Autoscale"),
    "hpa-v1-bad-annotation": (U, "~failed to convert conditions annotation to typed"),
    "hpa-v1-annotation-empty-string": (U, "~failed to convert conditions annotation to typed"),
    "hpa-v1-annotation-not-a-list": (
        U,
        "failed to convert conditions annotation to typed: expected a list, got dict",
    ),
    "hpa-v1-annotation-entry-not-an-object": (
        U,
        "failed to convert conditions annotation to typed: [0]: expected an object, got str",
    ),
    "hpa-v1-annotation-field-not-a-string": (
        U,
        "failed to convert conditions annotation to typed: [0].status: expected a string, got bool",
    ),
    "hpa-v1-annotation-not-a-string": (U, "~failed to convert unstructured HPA to typed"),
    "apiservice-available": (H, "Passed: all checks passed"),
    "apiservice-unavailable": (P, '~MissingEndpoints: endpoints for service/metrics-server in "kube-system"'),
    "apiservice-no-conditions": (P, "Waiting to be processed"),
    "apiservice-v1beta1-local": (H, "Local: Local APIServices are always available"),
    "application-healthy": (H, ""),
    "application-degraded": (D, "Caused by apps/Deployment:payments/api"),
    "application-no-health": (P, ""),
    "application-suspended": (S, ""),
    "application-invalid-health": (U, "~invalid health status"),
    "workflow-running": (P, ""),
    "workflow-succeeded": (H, ""),
    "workflow-failed": (D, "child 'build-7xk2q-1234' failed"),
    "configmap-no-rule": (None, ""),
    "configmap-deleting": (P, "Pending deletion"),
}


def test_every_testdata_file_has_an_expectation() -> None:
    assert sorted(p.stem for p in TESTDATA.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize(("case", "expected"), sorted(EXPECTED.items()), ids=sorted(EXPECTED))
def test_health(case: str, expected: tuple[HealthStatus | None, str]) -> None:
    [(_, manifest)] = load_manifests([TESTDATA / f"{case}.yaml"])
    status, message = expected

    result = assess(manifest)

    if status is None:
        assert result is None
        return
    assert result is not None
    assert result.status is status
    if message.startswith("~"):
        assert message[1:] in result.message
    else:
        assert result.message == message
