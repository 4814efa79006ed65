"""Health of ``apps/v1`` DaemonSets, by Argo CD's rule (itself kubectl's ``rollout status``).

Generation not yet observed → Progressing; OnDelete → Healthy; fewer updated or available pods than
desired scheduled → Progressing; otherwise Healthy.
"""

from __future__ import annotations

from gitloop.gitops.health import _fields as f
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.resources import Manifest


def assess(obj: Manifest) -> HealthResult:
    if obj.get("apiVersion") != "apps/v1":
        return f.unsupported_version("DaemonSet", obj)
    if f.integer(obj, "metadata", "generation") > f.integer(obj, "status", "observedGeneration"):
        return HealthResult(
            HealthStatus.PROGRESSING,
            "Waiting for rollout to finish: observed daemon set generation less than desired generation",
        )
    desired = f.integer(obj, "status", "desiredNumberScheduled")
    updated = f.integer(obj, "status", "updatedNumberScheduled")
    available = f.integer(obj, "status", "numberAvailable")
    if f.string(obj, "spec", "updateStrategy", "type") == "OnDelete":
        return HealthResult(
            HealthStatus.HEALTHY, f"daemon set {updated} out of {desired} new pods have been updated"
        )
    if updated < desired:
        return HealthResult(
            HealthStatus.PROGRESSING,
            f'Waiting for daemon set "{f.name(obj)}" rollout to finish: {updated} out of {desired} '
            "new pods have been updated...",
        )
    if available < desired:
        return HealthResult(
            HealthStatus.PROGRESSING,
            f'Waiting for daemon set "{f.name(obj)}" rollout to finish: {available} of {desired} '
            "updated pods are available...",
        )
    return HealthResult(HealthStatus.HEALTHY)
