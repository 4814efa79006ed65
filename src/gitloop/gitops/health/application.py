"""Health of Argo CD ``argoproj.io`` Applications (app of apps): the health the child Application
reports in ``status.health``.

Argo CD removed this built-in check in 1.8 and documents it as a health customization to add back for
app-of-apps with sync waves; gitloop applies that documented check by default. No ``status.health``
yet → Progressing; a status that is not a health status name → Unknown.
"""

from __future__ import annotations

from gitloop.gitops.health import _fields as f
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.resources import Manifest

_BY_NAME = {status.value: status for status in HealthStatus}


def assess(obj: Manifest) -> HealthResult:
    if not f.has(obj, "status", "health"):
        return HealthResult(HealthStatus.PROGRESSING)
    reported = f.raw(obj, "status", "health", "status")
    message = f.string(obj, "status", "health", "message")
    status = _BY_NAME.get(reported) if isinstance(reported, str) else None
    if status is None:
        return HealthResult(HealthStatus.UNKNOWN, f"invalid health status {reported!r} in status.health")
    return HealthResult(status, message)
