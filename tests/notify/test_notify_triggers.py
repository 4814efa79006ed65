"""Each catalog trigger's condition and ``oncePer`` over before/after pairs of an Argo CD-shaped
Application (or a PipelineRun), and Argo CD's send rule (``decide``)."""

from __future__ import annotations

from typing import Any

import pytest

from gitloop.notify.triggers import APP, CATALOG, RUN, Event, decide
from gitloop.spec.serve_notifications import TRIGGER_NAMES


def app(
    phase: str | None = None,
    health: str = "Healthy",
    sync: str = "Synced",
    revision: str = "c1",
    deleted: bool = False,
) -> dict[str, Any]:
    status: dict[str, Any] = {"health": {"status": health}, "sync": {"status": sync, "revision": revision}}
    if phase is not None:
        status["operationState"] = {
            "phase": phase,
            "syncResult": {"revision": revision},
            "gitloop": {"id": f"op-{revision}"},
        }
    metadata: dict[str, Any] = {"name": "guestbook"}
    if deleted:
        metadata["deletionTimestamp"] = "2026-12-07T10:00:00Z"
    return {"metadata": metadata, "status": status}


def run(succeeded: str) -> dict[str, Any]:
    conditions = [{"type": "Succeeded", "status": succeeded, "reason": "X"}] if succeeded else []
    return {"metadata": {"name": "build-1"}, "status": {"conditions": conditions}}


def test_catalog_is_the_configurable_set() -> None:
    assert tuple(CATALOG) == TRIGGER_NAMES


# (trigger, before, after, sent, once-per value)
CASES = [
    ("on-created", None, app(), True, "guestbook"),
    ("on-deleted", app(), app(deleted=True), True, "guestbook"),
    ("on-deleted", app(), app(), False, None),
    ("on-deployed", app("Running"), app("Succeeded"), True, "c1"),
    (
        "on-deployed",
        app("Running", health="Progressing"),
        app("Succeeded", health="Progressing"),
        False,
        None,
    ),
    ("on-deployed", None, app("Failed"), False, None),
    ("on-deployed", app("Succeeded", revision="c1"), app("Succeeded", revision="c2"), True, "c2"),
    ("on-health-degraded", app(health="Healthy"), app(health="Degraded"), True, None),
    ("on-health-degraded", app(health="Degraded"), app(health="Degraded"), False, None),
    ("on-health-degraded", app(health="Degraded"), app(health="Healthy"), False, None),
    ("on-sync-failed", app("Running"), app("Failed"), True, None),
    ("on-sync-failed", app("Running"), app("Error"), True, None),
    ("on-sync-failed", app("Failed"), app("Failed"), False, None),
    ("on-sync-failed", app("Running"), app("Succeeded"), False, None),
    ("on-sync-running", app("Succeeded"), app("Running"), True, None),
    ("on-sync-running", None, app(), False, None),
    ("on-sync-status-unknown", app(), app(sync="Unknown"), True, None),
    ("on-sync-status-unknown", app(), app(sync="OutOfSync"), False, None),
    ("on-sync-succeeded", app("Running"), app("Succeeded"), True, None),
    ("on-sync-succeeded", app("Running"), app("Running"), False, None),
]


@pytest.mark.parametrize(("trigger", "before", "after", "sent", "once"), CASES)
def test_app_trigger(
    trigger: str, before: dict[str, Any] | None, after: dict[str, Any], sent: bool, once: str | None
) -> None:
    found = CATALOG[trigger]
    was = before is not None and found.when(Event(APP, before))
    decision = decide(found, Event(APP, after), was_active=was, episode=5.0)
    assert decision.send is sent
    if sent and once is not None:
        assert decision.key == f"{trigger}|guestbook|{once}"
    if sent and once is None:  # the operation's triggers name theirs, the others' is the time
        episode = (
            "op-c1"
            if trigger.startswith(("on-sync-failed", "on-sync-running", "on-sync-succeeded"))
            else "5.000000"
        )
        assert decision.key == f"{trigger}|guestbook|{episode}"


@pytest.mark.parametrize(
    ("trigger", "succeeded", "sent"),
    [
        ("on-pipeline-failed", "False", True),
        ("on-pipeline-failed", "True", False),
        ("on-pipeline-failed", "", False),
        ("on-pipeline-succeeded", "True", True),
        ("on-pipeline-succeeded", "False", False),
        ("on-pipeline-succeeded", "Unknown", False),
    ],
)
def test_pipeline_trigger(trigger: str, succeeded: str, sent: bool) -> None:
    decision = decide(CATALOG[trigger], Event(RUN, {}, run(succeeded)), was_active=False, episode=0.0)
    assert decision.send is sent
    assert decision.key == (f"{trigger}|build-1|build-1" if sent else "")


def test_once_per_sends_for_a_value_even_while_the_condition_held() -> None:
    """With ``oncePer``, the value decides, not the transition (the store keeps the values sent)."""
    decision = decide(CATALOG["on-deployed"], Event(APP, app("Succeeded")), was_active=True, episode=0.0)
    assert decision.send and decision.key == "on-deployed|guestbook|c1"


def test_without_a_revision_on_deployed_does_not_send() -> None:
    shown = app("Succeeded")
    shown["status"]["operationState"]["syncResult"] = {}
    assert not decide(CATALOG["on-deployed"], Event(APP, shown), was_active=False, episode=0.0).send
