"""Health of ``apiregistration.k8s.io`` APIServices (``v1`` and ``v1beta1``), by Argo CD's rule: the
``Available`` condition decides, Healthy when True and Progressing otherwise, with the message
"reason: message"; without that condition → Progressing "Waiting to be processed"."""

from __future__ import annotations

from gitloop.gitops.health import _fields as f
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.resources import Manifest

_VERSIONS = frozenset({"apiregistration.k8s.io/v1", "apiregistration.k8s.io/v1beta1"})


def assess(obj: Manifest) -> HealthResult:
    if obj.get("apiVersion") not in _VERSIONS:
        return f.unsupported_version("APIService", obj)
    available = f.condition(obj, "Available")
    if available is None:
        return HealthResult(HealthStatus.PROGRESSING, "Waiting to be processed")
    message = f"{f.string(available, 'reason')}: {f.string(available, 'message')}"
    if f.string(available, "status") == "True":
        return HealthResult(HealthStatus.HEALTHY, message)
    return HealthResult(HealthStatus.PROGRESSING, message)
