"""The triggers of Argo CD's notifications catalog, and gitloop's PipelineRun and promotion triggers: when each fires
and what it is sent once per (pure).

A trigger's condition is a Python predicate over an ``Event`` — Argo CD's ``when`` expressions are not
evaluated, so the catalog is fixed and a user-defined trigger is refused by the serve config. Argo CD's
notification rule (notifications-engine's ``oncePer`` and "notified" state) is ``decide``: a trigger with
``oncePer`` fires once for each value of it, ever; one without fires when its condition becomes true,
and again only after it was false in between.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

APP = "Application"
RUN = "PipelineRun"
PROMOTION = "Promotion"


@dataclass(frozen=True)
class Event:
    """What a trigger looks at: an Argo CD-shaped Application (``app``) or, for a PipelineRun that ended,
    its Tekton-shaped manifest (``run``) and the Application it belongs to, if any (``app``, may be empty);
    for a promotion whose state changed, its API shape (``promotion``) and the Application it promotes into."""

    kind: str
    app: Mapping[str, Any]
    run: Mapping[str, Any] | None = None
    promotion: Mapping[str, Any] | None = None

    @property
    def subject(self) -> str:
        """What the event is about: the Application, the PipelineRun or the promotion, by name."""
        if self.kind == PROMOTION:
            return str((self.promotion or {}).get("id") or "")
        return self.app_name if self.kind == APP else self.run_name

    @property
    def app_name(self) -> str:
        return str(_get(self.app, "metadata", "name") or "")

    @property
    def run_name(self) -> str:
        return str(_get(self.run or {}, "metadata", "name") or "")


def _get(data: Mapping[str, Any], *path: str) -> Any:
    """``data[path[0]][path[1]]...``, ``None`` where a step is missing (Go's ``?.``)."""
    found: Any = data
    for key in path:
        if not isinstance(found, Mapping):
            return None
        found = found.get(key)
    return found


def operation_phase(event: Event) -> str:
    return str(_get(event.app, "status", "operationState", "phase") or "")


def health_status(event: Event) -> str:
    return str(_get(event.app, "status", "health", "status") or "")


def sync_status(event: Event) -> str:
    return str(_get(event.app, "status", "sync", "status") or "")


def synced_revision(event: Event) -> str:
    """``app.status.operationState.syncResult.revision`` (the first revision of a multi-source sync)."""
    result = _get(event.app, "status", "operationState", "syncResult")
    if not isinstance(result, Mapping):
        return ""
    revision = result.get("revision") or ""
    if not revision and isinstance(result.get("revisions"), list) and result["revisions"]:
        revision = result["revisions"][0]
    return str(revision)


def operation_id(event: Event) -> str:
    """The sync operation's id (gitloop's ``operationState.gitloop.id``), else its start time."""
    state = _get(event.app, "status", "operationState")
    if not isinstance(state, Mapping):
        return ""
    return str(_get(state, "gitloop", "id") or state.get("startedAt") or "")


def run_succeeded(event: Event) -> str:
    """The PipelineRun's ``Succeeded`` condition status: ``True``, ``False`` or ``""`` (still running)."""
    conditions = _get(event.run or {}, "status", "conditions")
    for condition in conditions if isinstance(conditions, list) else []:
        if isinstance(condition, Mapping) and condition.get("type") == "Succeeded":
            return str(condition.get("status", ""))
    return ""


def promotion_state(event: Event) -> str:
    return str((event.promotion or {}).get("state") or "")


@dataclass(frozen=True)
class Trigger:
    """One trigger: its catalog name, what it says, the event kind it looks at, its condition and its
    ``oncePer`` value (``None``: no ``oncePer``)."""

    name: str
    description: str
    kind: str
    when: Callable[[Event], bool]
    once_per: Callable[[Event], str] | None = None
    episode: Callable[[Event], str] | None = None
    """Without ``oncePer``: what names one stretch of the condition being true, when the event says
    (the sync operation, for the operation-phase triggers), so that servers sharing a store agree on it;
    else the time it became true."""


CATALOG: dict[str, Trigger] = {
    t.name: t
    for t in (
        Trigger("on-created", "Application is created.", APP, lambda e: True, lambda e: e.app_name),
        Trigger(
            "on-deleted",
            "Application is deleted.",
            APP,
            lambda e: _get(e.app, "metadata", "deletionTimestamp") is not None,
            lambda e: e.app_name,
        ),
        Trigger(
            "on-deployed",
            "Application is synced and healthy. Triggered once per commit.",
            APP,
            lambda e: operation_phase(e) == "Succeeded" and health_status(e) == "Healthy",
            synced_revision,
        ),
        Trigger(
            "on-health-degraded", "Application has degraded", APP, lambda e: health_status(e) == "Degraded"
        ),
        Trigger(
            "on-sync-failed",
            "Application syncing has failed",
            APP,
            lambda e: operation_phase(e) in ("Error", "Failed"),
            episode=operation_id,
        ),
        Trigger(
            "on-sync-running",
            "Application is being synced",
            APP,
            lambda e: operation_phase(e) == "Running",
            episode=operation_id,
        ),
        Trigger(
            "on-sync-status-unknown",
            "Application status is 'Unknown'",
            APP,
            lambda e: sync_status(e) == "Unknown",
        ),
        Trigger(
            "on-sync-succeeded",
            "Application syncing has succeeded",
            APP,
            lambda e: operation_phase(e) == "Succeeded",
            episode=operation_id,
        ),
        Trigger(
            "on-pipeline-failed",
            "A PipelineRun ended and did not succeed (gitloop).",
            RUN,
            lambda e: run_succeeded(e) == "False",
            lambda e: e.run_name,
        ),
        Trigger(
            "on-pipeline-succeeded",
            "A PipelineRun ended and succeeded (gitloop).",
            RUN,
            lambda e: run_succeeded(e) == "True",
            lambda e: e.run_name,
        ),
        Trigger(
            "on-promotion-awaiting-approval",
            "A promotion waits for approvals (gitloop).",
            PROMOTION,
            lambda e: promotion_state(e) == "WaitingApproval",
            lambda e: e.subject,
        ),
        Trigger(
            "on-promotion-succeeded",
            "A promotion's config commit landed (gitloop).",
            PROMOTION,
            lambda e: promotion_state(e) == "Succeeded",
            lambda e: e.subject,
        ),
    )
}


@dataclass(frozen=True)
class Decision:
    """What ``decide`` says: send or not, whether the condition holds now (remembered for the next event
    of a trigger without ``oncePer``) and the key a delivery is sent once for."""

    send: bool
    active: bool
    key: str


def decide(trigger: Trigger, event: Event, *, was_active: bool, episode: float) -> Decision:
    """Argo CD's rule for one trigger and one event. ``was_active``: the condition held at the previous
    event of this trigger and Application; ``episode``: the time it became true (now, if it just did),
    which keys the sends of a trigger without ``oncePer`` unless the trigger names its episode."""
    subject = event.subject
    active = bool(trigger.when(event))
    if not active:
        return Decision(False, False, "")
    if trigger.once_per is not None:
        value = trigger.once_per(event)
        return Decision(bool(value), True, f"{trigger.name}|{subject}|{value}")
    named = trigger.episode(event) if trigger.episode is not None else ""
    return Decision(not was_active, True, f"{trigger.name}|{subject}|{named or f'{episode:.6f}'}")
