"""Health assessment of Kubernetes objects, as Argo CD's gitops-engine ``pkg/health`` does it.

One small pure module per kind, looked up by ``(group, kind)``; each reads one object and returns a
``HealthResult``. ``assess`` applies Argo CD's generic rule first: an object being deleted (a
``metadata.deletionTimestamp``, unless a sync hook's finalizer holds it) is Progressing "Pending
deletion", whatever its kind. For a kind without a rule, ``assess`` returns ``None``: Argo CD then
gives the resource no health at all, and it does not count towards the Application's health (it is
*not* assumed Healthy, and no generic ``status.conditions`` reading is attempted). A rule that finds a
field of the wrong type yields ``Unknown`` with the reason, as Argo CD does when it cannot convert the
object.

Application health is the ``worst`` of its resources' statuses. Which resources count is the
reconciler's business, by Argo CD's rules: hooks do not, nor resources annotated
``argocd.argoproj.io/ignore-healthcheck: "true"`` (see ``ignores_health``), nor resources without a
health rule, nor missing resources, nor child Applications that are Missing or Unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from gitloop.gitops.health import (
    _fields,
    apiservice,
    application,
    cronjob,
    daemonset,
    deployment,
    hpa,
    ingress,
    job,
    pod,
    pvc,
    replicaset,
    service,
    statefulset,
    workflow,
)
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.resources import Manifest

__all__ = [
    "IGNORE_HEALTHCHECK_ANNOTATION",
    "HealthCheck",
    "assess",
    "check_for",
    "ignores_health",
    "worst",
]

HealthCheck = Callable[[Manifest], HealthResult]
"""A health rule: one object in, its health out. Pure."""

IGNORE_HEALTHCHECK_ANNOTATION = "argocd.argoproj.io/ignore-healthcheck"

_CHECKS: dict[tuple[str, str], HealthCheck] = {
    ("", "Pod"): pod.assess,
    ("", "Service"): service.assess,
    ("", "PersistentVolumeClaim"): pvc.assess,
    ("apps", "Deployment"): deployment.assess,
    ("apps", "StatefulSet"): statefulset.assess,
    ("apps", "DaemonSet"): daemonset.assess,
    ("apps", "ReplicaSet"): replicaset.assess,
    ("batch", "Job"): job.assess,
    ("batch", "CronJob"): cronjob.assess,
    ("autoscaling", "HorizontalPodAutoscaler"): hpa.assess,
    ("networking.k8s.io", "Ingress"): ingress.assess,
    ("extensions", "Ingress"): ingress.assess,
    ("apiregistration.k8s.io", "APIService"): apiservice.assess,
    ("argoproj.io", "Application"): application.assess,
    ("argoproj.io", "Workflow"): workflow.assess,
}


def check_for(group: str, kind: str) -> HealthCheck | None:
    """The health rule for a group (``""`` for core) and kind, or ``None`` if there is none."""
    return _CHECKS.get((group, kind))


def assess(manifest: Manifest) -> HealthResult | None:
    """The health of one live object, or ``None`` when its kind has no health rule."""
    try:
        if _fields.is_deleting(manifest) and not _fields.has_hook_finalizer(manifest):
            return HealthResult(HealthStatus.PROGRESSING, "Pending deletion")
        group = str(manifest.get("apiVersion") or "").rpartition("/")[0]
        check = check_for(group, str(manifest.get("kind") or ""))
        return None if check is None else check(manifest)
    except _fields.Malformed as exc:
        kind = manifest.get("kind") or "object"
        return HealthResult(HealthStatus.UNKNOWN, f"failed to convert unstructured {kind} to typed: {exc}")


def worst(statuses: Iterable[HealthStatus]) -> HealthStatus:
    """The least healthy of ``statuses`` (Application health); Healthy when there are none."""
    return max(statuses, default=HealthStatus.HEALTHY)


def ignores_health(manifest: Manifest) -> bool:
    """Whether the object opts out of its Application's health (``ignore-healthcheck: "true"``)."""
    try:
        return _fields.annotation_map(manifest).get(IGNORE_HEALTHCHECK_ANNOTATION) == "true"
    except _fields.Malformed:
        return False
