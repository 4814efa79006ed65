"""Health of ``apps/v1`` StatefulSets, by Argo CD's rule (itself kubectl's ``rollout status``).

Not yet observed (``observedGeneration`` 0 or behind) → Progressing; fewer ready pods than desired →
Progressing; a RollingUpdate with a partition waits until the pods above the partition are updated;
OnDelete is Healthy once ready; otherwise Healthy once the update revision equals the current one.
"""

from __future__ import annotations

from gitloop.gitops.health import _fields as f
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.resources import Manifest


def assess(obj: Manifest) -> HealthResult:
    if obj.get("apiVersion") != "apps/v1":
        return f.unsupported_version("StatefulSet", obj)
    observed = f.integer(obj, "status", "observedGeneration")
    if observed == 0 or f.integer(obj, "metadata", "generation") > observed:
        return HealthResult(HealthStatus.PROGRESSING, "Waiting for statefulset spec update to be observed...")
    desired = f.optional_integer(obj, "spec", "replicas")
    ready = f.integer(obj, "status", "readyReplicas")
    updated = f.integer(obj, "status", "updatedReplicas")
    if desired is not None and ready < desired:
        return HealthResult(HealthStatus.PROGRESSING, f"Waiting for {desired - ready} pods to be ready...")
    strategy = f.string(obj, "spec", "updateStrategy", "type")
    if strategy == "RollingUpdate" and f.has(obj, "spec", "updateStrategy", "rollingUpdate"):
        partition = f.optional_integer(obj, "spec", "updateStrategy", "rollingUpdate", "partition")
        if desired is not None and partition is not None and updated < desired - partition:
            return HealthResult(
                HealthStatus.PROGRESSING,
                f"Waiting for partitioned roll out to finish: {updated} out of {desired - partition} "
                "new pods have been updated...",
            )
        return HealthResult(
            HealthStatus.HEALTHY, f"partitioned roll out complete: {updated} new pods have been updated..."
        )
    if strategy == "OnDelete":
        return HealthResult(HealthStatus.HEALTHY, f"statefulset has {ready} ready pods")
    update_revision = f.string(obj, "status", "updateRevision")
    current_revision = f.string(obj, "status", "currentRevision")
    if update_revision != current_revision:
        return HealthResult(
            HealthStatus.PROGRESSING,
            f"waiting for statefulset rolling update to complete {updated} pods at revision {update_revision}...",
        )
    current = f.integer(obj, "status", "currentReplicas")
    return HealthResult(
        HealthStatus.HEALTHY,
        f"statefulset rolling update complete {current} pods at revision {current_revision}...",
    )
