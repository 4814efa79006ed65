"""Health of ``v1`` PersistentVolumeClaims, by Argo CD's rule: Bound → Healthy, Pending →
Progressing, Lost → Degraded, any other phase (or none) → Unknown."""

from __future__ import annotations

from gitloop.gitops.health import _fields as f
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.resources import Manifest

_BY_PHASE = {
    "Bound": HealthStatus.HEALTHY,
    "Pending": HealthStatus.PROGRESSING,
    "Lost": HealthStatus.DEGRADED,
}


def assess(obj: Manifest) -> HealthResult:
    if obj.get("apiVersion") != "v1":
        return f.unsupported_version("PersistentVolumeClaim", obj)
    return HealthResult(_BY_PHASE.get(f.string(obj, "status", "phase"), HealthStatus.UNKNOWN))
