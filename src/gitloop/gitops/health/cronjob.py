"""Health of ``batch`` CronJobs, by the health check Argo CD bundles for them (since Argo CD 3.2).

Argo CD deliberately never reports a CronJob as Suspended or Progressing: a suspended CronJob is
Healthy ("CronJob is Suspended"), and while a job is active the CronJob is Healthy, because its status
cannot tell whether the last run failed. Degraded means the last run failed: no job is active and the
last successful time is older than the last schedule time. A CronJob without a ``status`` at all →
Progressing ("Waiting for CronJob"). Times are compared as RFC 3339 strings, as Argo CD does.
"""

from __future__ import annotations

from datetime import UTC, datetime

from gitloop.gitops.health import _fields as f
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.resources import Manifest


def _timestamp(obj: Manifest, *path: str) -> str | None:
    """An RFC 3339 timestamp as a comparable string (also when YAML parsed it into a datetime)."""
    value = f.raw(obj, *path)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return f.string(obj, *path) or None


def assess(obj: Manifest) -> HealthResult:
    if f.raw(obj, "spec", "suspend") is True:
        return HealthResult(HealthStatus.HEALTHY, "CronJob is Suspended")
    if not f.has(obj, "status"):
        return HealthResult(HealthStatus.PROGRESSING, "Waiting for CronJob")
    last_schedule = _timestamp(obj, "status", "lastScheduleTime")
    if last_schedule is None:
        return HealthResult(HealthStatus.HEALTHY, "CronJob has not been scheduled yet")
    last_success = _timestamp(obj, "status", "lastSuccessfulTime")
    if last_success is None:
        return HealthResult(
            HealthStatus.HEALTHY, "The CronJob never completed successfully. It may not be healthy"
        )
    if f.items(obj, "status", "active"):
        return HealthResult(
            HealthStatus.HEALTHY, "The job is running. Its last execution may not have been successful"
        )
    if last_success < last_schedule:
        return HealthResult(
            HealthStatus.DEGRADED, "CronJob has not completed its last execution successfully"
        )
    return HealthResult(HealthStatus.HEALTHY, "CronJob has completed its last execution successfully")
