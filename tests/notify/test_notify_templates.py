"""Message templates: the built-in ones render with the data a message gets, overrides replace them, and
mistakes are Go-worded errors naming the trigger's field."""

from __future__ import annotations

from typing import Any

import pytest

from gitloop.errors import SpecError
from gitloop.notify.engine import message_templates
from gitloop.notify.templates import DEFAULTS, MessageTemplate, render
from gitloop.notify.triggers import CATALOG
from gitloop.spec.serve_notifications import NotificationsConfig, TemplateConfig

DATA: dict[str, Any] = {
    "app": {
        "metadata": {"name": "guestbook"},
        "spec": {"source": {"repoURL": "https://git.example/config.git"}},
        "status": {
            "sync": {"status": "Synced", "revision": "c0ffee"},
            "health": {"status": "Healthy"},
            "operationState": {
                "phase": "Failed",
                "message": "bad manifest",
                "finishedAt": "2026-12-07T10:00:00Z",
            },
            "conditions": [],
        },
    },
    "context": {"argocdUrl": "https://gitloop.example"},
    "commit": {"sha": "abc123", "author": "Ada", "message": "fix", "leadTimeSeconds": 42},
    "serviceType": "webhook",
    "pipelineRun": {
        "metadata": {"name": "build-1"},
        "status": {
            "conditions": [
                {"type": "Succeeded", "status": "False", "reason": "Failed", "message": "step broke"}
            ]
        },
    },
}


def test_every_trigger_has_a_default() -> None:
    assert set(DEFAULTS) == set(CATALOG)


@pytest.mark.parametrize(
    ("trigger", "title", "in_body"),
    [
        ("on-deployed", "New version of an application guestbook is up and running.", "Lead time: 42s."),
        (
            "on-deployed",
            "New version of an application guestbook is up and running.",
            "Source commit abc123 by Ada.",
        ),
        ("on-sync-failed", "Failed to sync application guestbook.", "with the following error: bad manifest"),
        (
            "on-sync-failed",
            "Failed to sync application guestbook.",
            "https://gitloop.example/applications/guestbook?operation=true",
        ),
        ("on-created", "Application guestbook has been created.", "has been created."),
        ("on-pipeline-failed", "PipelineRun build-1 failed.", "failed: Failed: step broke."),
    ],
)
def test_defaults_render(trigger: str, title: str, in_body: str) -> None:
    message = render(trigger, DEFAULTS[trigger], DATA)
    assert message.title == title
    assert in_body in message.body


def test_override_replaces_only_what_it_gives() -> None:
    config = NotificationsConfig(
        templates={"on-deployed": TemplateConfig(title="{{.app.metadata.name}} is out")}
    )
    template = message_templates(config)["on-deployed"]
    assert template.body == DEFAULTS["on-deployed"].body
    assert render("on-deployed", template, DATA).title == "guestbook is out"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{.app.metadata.name | nosuch}}", 'function "nosuch" not defined'),
        ("{{.app.metadata.name", "notifications.templates.on-deployed.title"),
        ("{{index .app.status.conditions 3}}", "notifications.templates.on-deployed.title"),
    ],
)
def test_errors_name_the_field(text: str, message: str) -> None:
    with pytest.raises(SpecError, match=message.replace(".", r"\.").replace("|", r"\|")):
        render("on-deployed", MessageTemplate(text, "b"), DATA)
