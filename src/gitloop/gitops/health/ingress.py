"""Health of Ingresses (``networking.k8s.io`` and ``extensions``, any version), by Argo CD's rule:
Healthy once ``status.loadBalancer.ingress`` lists at least one entry, Progressing until then.

Argo CD reads this field leniently (a field of the wrong type counts as empty), and so does this rule.
"""

from __future__ import annotations

from gitloop.gitops.health import _fields as f
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.resources import Manifest


def assess(obj: Manifest) -> HealthResult:
    try:
        ingresses = f.raw(obj, "status", "loadBalancer", "ingress")
    except f.Malformed:
        ingresses = None
    if isinstance(ingresses, list) and ingresses:
        return HealthResult(HealthStatus.HEALTHY)
    return HealthResult(HealthStatus.PROGRESSING)
