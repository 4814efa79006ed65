"""Health of ``v1`` Services, by Argo CD's rule: a ``LoadBalancer`` Service is Progressing until
``status.loadBalancer.ingress`` lists at least one entry (an IP or hostname); every other Service is
Healthy."""

from __future__ import annotations

from gitloop.gitops.health import _fields as f
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.resources import Manifest


def assess(obj: Manifest) -> HealthResult:
    if obj.get("apiVersion") != "v1":
        return f.unsupported_version("Service", obj)
    if f.string(obj, "spec", "type") == "LoadBalancer" and not f.items(
        obj, "status", "loadBalancer", "ingress"
    ):
        return HealthResult(HealthStatus.PROGRESSING)
    return HealthResult(HealthStatus.HEALTHY)
