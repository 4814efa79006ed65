"""The title and body of each trigger's message: built-in defaults after Argo CD's catalog templates,
overridable in the serve config, rendered with gitloop's Go templates (pure).

The data a template sees: ``.app`` (the Argo CD-shaped Application: ``metadata``, ``spec``, ``status``
with ``operationState``, ``health`` and ``sync``), ``.context`` (``argocdUrl``: the served URL),
``.commit`` (gitloop's: ``sha``, ``author``, ``message``, ``leadTimeSeconds`` of the source commit, from the
lineage; absent ones empty), ``.serviceType`` (``webhook``, ``slack`` or ``email``) and, for the
PipelineRun triggers, ``.pipelineRun`` (the Tekton-shaped PipelineRun); for the promotion triggers,
``.promotion`` (as ``/api/v1/promotions`` answers it: ``id``, ``chain``, ``from``, ``to``, ``sourceCommit``,
``images``, ``approvals``, ``configCommit``, ...) and ``.app`` the Application promoted into.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gitloop.spec import gotemplate


@dataclass(frozen=True)
class MessageTemplate:
    """A trigger's ``title`` (an email's subject) and ``body``, as Go template text."""

    title: str
    body: str


@dataclass(frozen=True)
class Message:
    """A rendered message."""

    title: str
    body: str


_APP_LINK = "Application details: {{.context.argocdUrl}}/applications/{{.app.metadata.name}}."
_OPERATION_LINK = (
    "Sync operation details are available at: {{.context.argocdUrl}}/applications/{{.app.metadata.name}}"
    "?operation=true ."
)
_COMMIT = "{{if .commit.sha}}\nSource commit {{.commit.sha}}{{if .commit.author}} by {{.commit.author}}{{end}}.{{end}}"

DEFAULTS: dict[str, MessageTemplate] = {
    "on-created": MessageTemplate(
        "Application {{.app.metadata.name}} has been created.",
        "Application {{.app.metadata.name}} has been created.",
    ),
    "on-deleted": MessageTemplate(
        "Application {{.app.metadata.name}} has been deleted.",
        "Application {{.app.metadata.name}} has been deleted.",
    ),
    "on-deployed": MessageTemplate(
        "New version of an application {{.app.metadata.name}} is up and running.",
        "Application {{.app.metadata.name}} is now running new version of deployments manifests "
        "(revision {{.app.status.sync.revision}})."
        + _COMMIT
        + "{{if .commit.leadTimeSeconds}}\nLead time: {{.commit.leadTimeSeconds}}s.{{end}}\n"
        + _APP_LINK,
    ),
    "on-health-degraded": MessageTemplate(
        "Application {{.app.metadata.name}} has degraded.",
        "Application {{.app.metadata.name}} has degraded.\n" + _APP_LINK,
    ),
    "on-sync-failed": MessageTemplate(
        "Failed to sync application {{.app.metadata.name}}.",
        "The sync operation of application {{.app.metadata.name}} has failed at "
        "{{.app.status.operationState.finishedAt}} with the following error: "
        "{{.app.status.operationState.message}}" + _COMMIT + "\n" + _OPERATION_LINK,
    ),
    "on-sync-running": MessageTemplate(
        "Start syncing application {{.app.metadata.name}}.",
        "The sync operation of application {{.app.metadata.name}} has started at "
        "{{.app.status.operationState.startedAt}}.\n" + _OPERATION_LINK,
    ),
    "on-sync-status-unknown": MessageTemplate(
        "Application {{.app.metadata.name}} sync status is 'Unknown'",
        "Application {{.app.metadata.name}} sync is 'Unknown'.\n"
        + _APP_LINK
        + "{{range $c := .app.status.conditions}}\n* {{$c.message}}{{end}}",
    ),
    "on-sync-succeeded": MessageTemplate(
        "Application {{.app.metadata.name}} has been successfully synced.",
        "Application {{.app.metadata.name}} has been successfully synced at "
        "{{.app.status.operationState.finishedAt}}." + _COMMIT + "\n" + _OPERATION_LINK,
    ),
    "on-pipeline-failed": MessageTemplate(
        "PipelineRun {{.pipelineRun.metadata.name}} failed.",
        "PipelineRun {{.pipelineRun.metadata.name}} failed"
        '{{range .pipelineRun.status.conditions}}{{if eq .type "Succeeded"}}: {{.reason}}: {{.message}}{{end}}{{end}}.'
        + _COMMIT,
    ),
    "on-pipeline-succeeded": MessageTemplate(
        "PipelineRun {{.pipelineRun.metadata.name}} succeeded.",
        "PipelineRun {{.pipelineRun.metadata.name}} succeeded." + _COMMIT,
    ),
    "on-promotion-awaiting-approval": MessageTemplate(
        "Promotion {{.promotion.id}} to {{.promotion.to}} waits for approval.",
        "Promotion {{.promotion.id}} of chain {{.promotion.chain}} moves {{.promotion.sourceCommit}} from "
        "{{.promotion.from}} to {{.promotion.to}}: {{.promotion.message}}.{{range .promotion.images}}\n- {{.}}{{end}}"
        + _COMMIT
        + "\nApprove it with: gitloop approve {{.promotion.id}}",
    ),
    "on-promotion-succeeded": MessageTemplate(
        "Promotion {{.promotion.id}} to {{.promotion.to}} succeeded.",
        "Promotion {{.promotion.id}} of chain {{.promotion.chain}} moved {{.promotion.sourceCommit}} from "
        "{{.promotion.from}} to {{.promotion.to}} in config commit {{.promotion.configCommit}}."
        "{{if .promotion.approvals}}\nApproved by:{{range .promotion.approvals}} {{.user}}{{end}}.{{end}}"
        + _COMMIT,
    ),
}


def check(template: MessageTemplate, where: str) -> None:
    """Parse both texts; a ``SpecError`` naming ``where.title`` or ``where.body`` for a mistake."""
    for part, text in (("title", template.title), ("body", template.body)):
        gotemplate.parse(text, name=f"{where}.{part}")


def render(trigger: str, template: MessageTemplate, data: Mapping[str, Any]) -> Message:
    """``template`` executed on ``data``; a ``SpecError`` worded as Go's, naming the trigger's field."""
    title = gotemplate.parse(template.title, name=f"notifications.templates.{trigger}.title").execute(data)
    body = gotemplate.parse(template.body, name=f"notifications.templates.{trigger}.body").execute(data)
    return Message(" ".join(title.split()), body.strip())
