"""Health of ``autoscaling`` HorizontalPodAutoscalers, as gitops-engine's ``pkg/health`` decides it.

Every served version is read: ``v2``, ``v2beta2`` and ``v2beta1`` from ``status.conditions``, ``v1``
from the JSON list in its annotation ``autoscaling.alpha.kubernetes.io/conditions`` (no annotation,
``null`` or an empty list: Progressing). The conditions are taken in order and the first that decides
wins, with its message:

- Degraded: ``AbleToScale`` with reason ``FailedGetScale`` or ``FailedUpdateScale``, or
  ``ScalingActive`` with reason ``FailedGetResourceMetric`` or ``InvalidSelector`` (whatever the
  condition's status; other failure reasons do not count);
- Healthy: ``AbleToScale`` or ``ScalingLimited`` with status ``"True"``;

and when none decides, Progressing "Waiting to Autoscale". A condition whose fields are not strings,
or an annotation that is not a JSON list of objects, makes the health Unknown, as a failed conversion
does in Argo CD. JSON keys match the fields case-insensitively, as Go's ``encoding/json`` does.
"""

from __future__ import annotations

from typing import Any

from gitloop.errors import InputLimitError
from gitloop.gitops.health import _fields as f
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.resources import Manifest
from gitloop.spec.yaml import load_json

CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions"

_VERSIONS = frozenset({"autoscaling/v1", "autoscaling/v2beta1", "autoscaling/v2beta2", "autoscaling/v2"})
_DEGRADED = frozenset(
    {
        ("AbleToScale", "FailedGetScale"),
        ("AbleToScale", "FailedUpdateScale"),
        ("ScalingActive", "FailedGetResourceMetric"),
        ("ScalingActive", "InvalidSelector"),
    }
)
_HEALTHY_TYPES = frozenset({"AbleToScale", "ScalingLimited"})
_FIELDS = ("type", "status", "reason", "message")
_WAITING = HealthResult(HealthStatus.PROGRESSING, "Waiting to Autoscale")
_ANNOTATION_ERROR = "failed to convert conditions annotation to typed: "


def _fold(key: str) -> str:
    """A JSON key as Go's ``encoding/json`` compares it with a field name (simple case folding)."""
    folded = []
    for char in key:
        if char.isascii():
            folded.append(char.upper())
            continue
        lower = char.lower()
        lower = lower if len(lower) == 1 else char
        upper = lower.upper()
        folded.append(upper if len(upper) == 1 else lower)
    return "".join(folded)


_FOLDED = {_fold(name): name for name in _FIELDS}


def _typed(index: int, entry: Any) -> Manifest:
    """One decoded annotation entry as its condition (``ValueError`` when it cannot be one)."""
    if entry is None:
        return {}
    if not isinstance(entry, dict):
        raise ValueError(f"[{index}]: expected an object, got {type(entry).__name__}")
    condition: dict[str, str] = {}
    for key, value in entry.items():  # later keys win; a null leaves the field as it is
        name = _FOLDED.get(_fold(str(key)))
        if name is None or value is None:
            continue
        if not isinstance(value, str):
            raise ValueError(f"[{index}].{key}: expected a string, got {type(value).__name__}")
        condition[name] = value
    return condition


def _decoded(text: str) -> Any:
    """The annotation's JSON (``ValueError`` when it is not JSON or beyond the input limits)."""
    try:
        return load_json(text, source=CONDITIONS_ANNOTATION)
    except InputLimitError as exc:
        raise ValueError(exc.problem) from exc


def _annotated_conditions(obj: Manifest) -> list[Manifest] | HealthResult:
    """The conditions in the v1 annotation, or the Unknown result when they cannot be read."""
    text = f.mapping(obj, "metadata", "annotations").get(CONDITIONS_ANNOTATION)
    if text is None:
        return []
    if not isinstance(text, str):
        raise f.Malformed(f".metadata.annotations: {CONDITIONS_ANNOTATION}: expected a string")
    try:
        parsed = _decoded(text)
        if parsed is None:
            return []
        if not isinstance(parsed, list):
            raise ValueError(f"expected a list, got {type(parsed).__name__}")
        return [_typed(index, entry) for index, entry in enumerate(parsed)]
    except ValueError as exc:
        return HealthResult(HealthStatus.UNKNOWN, f"{_ANNOTATION_ERROR}{exc}")


def _decide(conditions: list[Manifest]) -> HealthResult:
    for entry in conditions:
        kind, reason = f.string(entry, "type"), f.string(entry, "reason")
        if (kind, reason) in _DEGRADED:
            return HealthResult(HealthStatus.DEGRADED, f.string(entry, "message"))
        if kind in _HEALTHY_TYPES and f.string(entry, "status") == "True":
            return HealthResult(HealthStatus.HEALTHY, f.string(entry, "message"))
    return _WAITING


def assess(obj: Manifest) -> HealthResult:
    version = obj.get("apiVersion")
    if version not in _VERSIONS:
        return f.unsupported_version("HPA", obj)
    try:
        if version == "autoscaling/v1":
            conditions = _annotated_conditions(obj)
            return conditions if isinstance(conditions, HealthResult) else _decide(conditions)
        entries = f.items(obj, "status", "conditions")
        for entry in entries:
            for name in _FIELDS:
                f.string(entry, name)
        return _decide(entries)
    except f.Malformed as exc:
        return HealthResult(HealthStatus.UNKNOWN, f"failed to convert unstructured HPA to typed: {exc}")
