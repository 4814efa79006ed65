"""Health of ``apps/v1`` ReplicaSets, by Argo CD's rule.

Generation not yet observed → Progressing; a ``ReplicaFailure`` condition with status True → Degraded
(with the condition's message); fewer available replicas than desired → Progressing; otherwise Healthy.
"""

from __future__ import annotations

from gitloop.gitops.health import _fields as f
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.resources import Manifest


def assess(obj: Manifest) -> HealthResult:
    if obj.get("apiVersion") != "apps/v1":
        return f.unsupported_version("ReplicaSet", obj)
    if f.integer(obj, "metadata", "generation") > f.integer(obj, "status", "observedGeneration"):
        return HealthResult(
            HealthStatus.PROGRESSING,
            "Waiting for rollout to finish: observed replica set generation less than desired generation",
        )
    failure = f.condition(obj, "ReplicaFailure")
    if failure is not None and f.string(failure, "status") == "True":
        return HealthResult(HealthStatus.DEGRADED, f.string(failure, "message"))
    desired = f.optional_integer(obj, "spec", "replicas")
    available = f.integer(obj, "status", "availableReplicas")
    if desired is not None and available < desired:
        return HealthResult(
            HealthStatus.PROGRESSING,
            f"Waiting for rollout to finish: {available} out of {desired} new replicas are available...",
        )
    return HealthResult(HealthStatus.HEALTHY)
