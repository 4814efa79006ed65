"""Health of Argo Workflows (``argoproj.io`` Workflow), a check built into Argo CD: phase ``""``,
Pending or Running → Progressing, Succeeded → Healthy, Failed or Error → Degraded, any other phase →
Unknown; the message is ``status.message``. Read leniently, as Argo CD does."""

from __future__ import annotations

from typing import Any

from gitloop.gitops.health import _fields as f
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.resources import Manifest

_BY_PHASE = {
    "": HealthStatus.PROGRESSING,
    "Pending": HealthStatus.PROGRESSING,
    "Running": HealthStatus.PROGRESSING,
    "Succeeded": HealthStatus.HEALTHY,
    "Failed": HealthStatus.DEGRADED,
    "Error": HealthStatus.DEGRADED,
}


def _lenient_string(obj: Manifest, *path: str) -> str:
    try:
        value: Any = f.raw(obj, *path)
    except f.Malformed:
        return ""
    return value if isinstance(value, str) else ""


def assess(obj: Manifest) -> HealthResult:
    phase = _lenient_string(obj, "status", "phase")
    return HealthResult(_BY_PHASE.get(phase, HealthStatus.UNKNOWN), _lenient_string(obj, "status", "message"))
