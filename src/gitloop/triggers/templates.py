"""Render a TriggerTemplate's resource templates for one event: ``$(tt.params.x)`` and ``$(uid)``.

Tekton replaces text in each template's JSON; gitloop replaces text in each string of the template (keys
included) and so reaches the same objects without re-parsing JSON: a value with quotes or newlines stays
one string. Replacement is one pass, so a value that itself contains ``$(tt.params.y)`` or ``$(uid)`` is
kept as written (Tekton would replace ``$(uid)`` in it). ``$(uid)`` is one random id per trigger per
event, shared by every resource the trigger creates. ``generateName`` is kept; naming is the caller's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gitloop.spec.triggers import TriggerTemplateSpec

_VARIABLE = re.compile(r"\$\(tt\.params\.([_a-zA-Z][_a-zA-Z0-9.-]*)\)|\$\(uid\)")

LABEL_PREFIX = "triggers.tekton.dev/"
LISTENER_LABEL = f"{LABEL_PREFIX}eventlistener"
TRIGGER_LABEL = f"{LABEL_PREFIX}trigger"
EVENT_ID_LABEL = f"{LABEL_PREFIX}triggers-eventid"


def _replace(text: str, params: Mapping[str, str], uid: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return uid
        return params.get(name, match.group(0))

    return _VARIABLE.sub(value, text)


def _render(value: Any, params: Mapping[str, str], uid: str) -> Any:
    if isinstance(value, str):
        return _replace(value, params, uid)
    if isinstance(value, dict):
        return {_replace(k, params, uid): _render(v, params, uid) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, params, uid) for v in value]
    return value


def render(template: TriggerTemplateSpec, params: Mapping[str, str], uid: str) -> list[dict[str, Any]]:
    """New objects from the resource templates, with params and ``$(uid)`` replaced."""
    return [_render(resource, params, uid) for resource in template.resource_templates]


def add_labels(resource: dict[str, Any], listener: str, trigger: str, event_id: str) -> dict[str, Any]:
    """``resource`` with the labels Tekton puts on what a listener creates (replacing any of the same key)."""
    metadata = resource.setdefault("metadata", {})
    labels = metadata.get("labels")
    if not isinstance(labels, dict):
        labels = metadata["labels"] = {}
    labels.update({LISTENER_LABEL: listener, TRIGGER_LABEL: trigger, EVENT_ID_LABEL: event_id})
    return resource
