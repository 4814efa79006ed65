"""Health of ``batch/v1`` Jobs, by Argo CD's rule.

Only the conditions count, and only their type, except for ``Suspended``: a ``Failed`` condition →
Degraded (its message); a ``Suspended`` condition with status True → Suspended; a ``Complete``
condition, or a ``Suspended`` one with status False (a resumed Job, as Argo CD reads it), → Healthy;
no such condition → Progressing.
"""

from __future__ import annotations

from gitloop.gitops.health import _fields as f
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.resources import Manifest


def assess(obj: Manifest) -> HealthResult:
    if obj.get("apiVersion") != "batch/v1":
        return f.unsupported_version("Job", obj)
    failed = complete = suspended = False
    fail_message = message = ""
    for entry in f.items(obj, "status", "conditions"):
        match f.string(entry, "type"):
            case "Failed":
                failed = complete = True
                fail_message = f.string(entry, "message")
            case "Complete":
                complete = True
                message = f.string(entry, "message")
            case "Suspended":
                complete = True
                message = f.string(entry, "message")
                suspended = suspended or f.string(entry, "status") == "True"
    if not complete:
        return HealthResult(HealthStatus.PROGRESSING, message)
    if failed:
        return HealthResult(HealthStatus.DEGRADED, fail_message)
    if suspended:
        return HealthResult(HealthStatus.SUSPENDED, message)
    return HealthResult(HealthStatus.HEALTHY, message)
