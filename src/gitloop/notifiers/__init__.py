"""The notification services (adapters): a generic webhook and a Slack-compatible incoming webhook over
httpx, email over SMTP with smtplib — the only network I/O of notifications. ``open_service`` builds one
from its ``notifications.services.<name>`` config, reading its secrets from their files; every error
names the service, never a secret (each service masks its own secrets in what it reports)."""

from __future__ import annotations

from gitloop.errors import UsageError
from gitloop.notifiers.base import NotificationError, read_secret
from gitloop.notifiers.email import EmailService
from gitloop.notifiers.webhook import SlackService, WebhookService
from gitloop.spec.serve_notifications import ServiceConfig

__all__ = ["EmailService", "NotificationError", "SlackService", "WebhookService", "open_service"]


def open_service(config: ServiceConfig) -> WebhookService | SlackService | EmailService:
    """The service ``config`` describes; ``UsageError`` naming the service and file for a secret file
    that cannot be read."""
    if config.type == "webhook":
        url = config.url or read_secret(config, config.url_file, "urlFile")
        password = (
            read_secret(config, config.password_file, "basicAuth.passwordFile")
            if config.password_file
            else ""
        )
        return WebhookService(config, url, password)
    if config.type == "slack":
        return SlackService(config, read_secret(config, config.url_file, "urlFile"))
    if config.type == "email":
        password = read_secret(config, config.password_file, "passwordFile") if config.password_file else ""
        return EmailService(config, password)
    raise UsageError(f"notifications service {config.name!r}: unknown type {config.type!r}")
