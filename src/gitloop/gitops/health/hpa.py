"""Health of ``autoscaling`` HorizontalPodAutoscalers (``v1`` and ``v2``), by Argo CD's rule.

``v2`` reads ``status.conditions``; ``v1`` has none and reads the JSON list in the annotation
``autoscaling.alpha.kubernetes.io/conditions``. Any condition that says the HPA cannot scale or cannot
read its metrics (``AbleToScale``/``ScalingActive`` with a failure reason) → Degraded; else an
``AbleToScale`` or ``ScalingLimited`` condition with status True → Healthy; else Progressing
"Waiting to Autoscale". The message is the deciding condition's. Like current Argo CD, the removed
``v2beta1``/``v2beta2`` versions are not read (Unknown).
"""

from __future__ import annotations

import json

from gitloop.gitops.health import _fields as f
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.resources import Manifest

CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions"

_DEGRADED = frozenset(
    {
        ("AbleToScale", "FailedGetScale"),
        ("AbleToScale", "FailedUpdateScale"),
        ("ScalingActive", "FailedGetResourceMetric"),
        ("ScalingActive", "FailedGetObjectMetric"),
        ("ScalingActive", "FailedGetPodsMetric"),
        ("ScalingActive", "FailedGetExternalMetric"),
        ("ScalingActive", "FailedComputeMetricsReplicas"),
        ("ScalingActive", "InvalidSelector"),
    }
)
_HEALTHY_TYPES = frozenset({"AbleToScale", "ScalingLimited"})
_WAITING = HealthResult(HealthStatus.PROGRESSING, "Waiting to Autoscale")


def _annotated_conditions(obj: Manifest) -> list[Manifest] | HealthResult:
    """The conditions in the v1 annotation, or the Unknown result when they cannot be read."""
    text = f.annotation_map(obj).get(CONDITIONS_ANNOTATION)
    if text is None:
        return []
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        return HealthResult(HealthStatus.UNKNOWN, f"failed to convert conditions annotation to typed: {exc}")
    if parsed is None:
        return []
    if not isinstance(parsed, list) or not all(isinstance(c, dict) for c in parsed):
        return HealthResult(
            HealthStatus.UNKNOWN,
            "failed to convert conditions annotation to typed: expected a list of objects",
        )
    # encoding/json matches keys case-insensitively; so does this.
    return [{str(k).lower(): v for k, v in c.items()} for c in parsed]


def _decide(conditions: list[Manifest]) -> HealthResult:
    for entry in conditions:
        if (f.string(entry, "type"), f.string(entry, "reason")) in _DEGRADED:
            return HealthResult(HealthStatus.DEGRADED, f.string(entry, "message"))
    for entry in conditions:
        if f.string(entry, "type") in _HEALTHY_TYPES and f.string(entry, "status") == "True":
            return HealthResult(HealthStatus.HEALTHY, f.string(entry, "message"))
    return _WAITING


def assess(obj: Manifest) -> HealthResult:
    match obj.get("apiVersion"):
        case "autoscaling/v1":
            conditions = _annotated_conditions(obj)
            return conditions if isinstance(conditions, HealthResult) else _decide(conditions)
        case "autoscaling/v2":
            return _decide(f.items(obj, "status", "conditions"))
    return f.unsupported_version("HPA", obj)
