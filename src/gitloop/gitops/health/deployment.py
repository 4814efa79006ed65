"""Health of ``apps/v1`` Deployments, by Argo CD's rule (itself kubectl's ``rollout status``).

Paused → Suspended. Until the controller has observed the latest generation → Progressing. Then a
``Progressing`` condition with reason ``ProgressDeadlineExceeded`` → Degraded; fewer updated replicas
than desired, old replicas still terminating, or updated replicas not yet available → Progressing;
otherwise Healthy.
"""

from __future__ import annotations

from gitloop.gitops.health import _fields as f
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.resources import Manifest


def assess(obj: Manifest) -> HealthResult:
    if obj.get("apiVersion") != "apps/v1":
        return f.unsupported_version("Deployment", obj)
    if f.boolean(obj, "spec", "paused"):
        return HealthResult(HealthStatus.SUSPENDED, "Deployment is paused")
    if f.integer(obj, "metadata", "generation") > f.integer(obj, "status", "observedGeneration"):
        return HealthResult(
            HealthStatus.PROGRESSING,
            "Waiting for rollout to finish: observed deployment generation less than desired generation",
        )
    progressing = f.condition(obj, "Progressing")
    if progressing is not None and f.string(progressing, "reason") == "ProgressDeadlineExceeded":
        return HealthResult(
            HealthStatus.DEGRADED, f'Deployment "{f.name(obj)}" exceeded its progress deadline'
        )
    desired = f.optional_integer(obj, "spec", "replicas")
    updated = f.integer(obj, "status", "updatedReplicas")
    current = f.integer(obj, "status", "replicas")
    available = f.integer(obj, "status", "availableReplicas")
    if desired is not None and updated < desired:
        return HealthResult(
            HealthStatus.PROGRESSING,
            f"Waiting for rollout to finish: {updated} out of {desired} new replicas have been updated...",
        )
    if current > updated:
        return HealthResult(
            HealthStatus.PROGRESSING,
            f"Waiting for rollout to finish: {current - updated} old replicas are pending termination...",
        )
    if available < updated:
        return HealthResult(
            HealthStatus.PROGRESSING,
            f"Waiting for rollout to finish: {available} of {updated} updated replicas are available...",
        )
    return HealthResult(HealthStatus.HEALTHY)
