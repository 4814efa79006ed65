"""The ``notifications`` field of a ``ServeConfig`` (``gitloop.spec.serveconfig``): the services
notifications go through (``webhook``, ``slack``, ``email``), the message templates that replace the
built-in ones, and the default subscriptions. Secrets (passwords, a webhook's or Slack's URL) are only
ever named by file; ``gitloop.service.server.notifications`` reads them. The triggers are the fixed
catalog of ``gitloop.notify.triggers``: a ``triggers`` field is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from gitloop.errors import SpecError
from gitloop.spec import gotemplate
from gitloop.spec.fields import Node

TRIGGER_NAMES = (
    "on-created",
    "on-deleted",
    "on-deployed",
    "on-health-degraded",
    "on-sync-failed",
    "on-sync-running",
    "on-sync-status-unknown",
    "on-sync-succeeded",
    "on-pipeline-failed",
    "on-pipeline-succeeded",
    "on-promotion-awaiting-approval",
    "on-promotion-succeeded",
)
"""The trigger catalog (``gitloop.notify.triggers.CATALOG`` holds their conditions)."""
SERVICE_TYPES = ("webhook", "slack", "email")
DEFAULT_RETRIES = 4
"""Retries after the first attempt: 5 attempts, 1 s, 2 s, 4 s, 8 s apart."""


@dataclass(frozen=True)
class ServiceConfig:
    """``notifications.services.<name>``. ``url`` / ``url_file``: a webhook's URL (or the file holding it,
    for a URL that carries a token); Slack's incoming webhook URL is always a file. ``headers``: a webhook's
    extra request headers. ``username`` / ``password_file``: a webhook's basic auth, an email server's
    login. ``recipients``: an email service's default recipients (``to``)."""

    name: str
    type: str
    url: str = ""
    url_file: Path | None = None
    method: str = "POST"
    headers: tuple[tuple[str, str], ...] = ()
    username: str = ""
    password_file: Path | None = None
    host: str = ""
    port: int = 25
    sender: str = ""
    starttls: bool = False
    ca_file: Path | None = None
    """The CA bundle an email server's certificate is checked against (default: the system's)."""
    recipients: tuple[str, ...] = ()
    retries: int = DEFAULT_RETRIES
    timeout: float = 10.0


@dataclass(frozen=True)
class TemplateConfig:
    """``notifications.templates.<trigger>``: a title and/or a body replacing the built-in one."""

    title: str | None = None
    body: str | None = None


@dataclass(frozen=True)
class DefaultSubscription:
    """``notifications.defaultSubscriptions[i]``: Argo CD's ``subscriptions`` entry — ``recipients`` as
    ``service`` or ``service:recipient``, heard for every Application and PipelineRun."""

    triggers: tuple[str, ...]
    recipients: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class NotificationsConfig:
    """``notifications``. ``url``: the address messages link to (``.context.argocdUrl``; default: the
    served address)."""

    url: str = ""
    services: dict[str, ServiceConfig] = field(default_factory=dict)
    templates: dict[str, TemplateConfig] = field(default_factory=dict)
    default_subscriptions: tuple[DefaultSubscription, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.services)


def _trigger_name(node: Node, name: str) -> str:
    """A catalog trigger name; Argo CD's catalog template names (``app-deployed``) name their trigger."""
    found = f"on-{name[4:]}" if name.startswith("app-") else name
    if found not in TRIGGER_NAMES:
        raise node.error(f"unknown trigger {name!r}: one of {', '.join(TRIGGER_NAMES)}")
    return found


def _service(name: str, node: Node, path_of: Callable[[Node], Path]) -> ServiceConfig:
    node.require_map()
    kind = node.one_of("type", SERVICE_TYPES)
    common = ("type", "retries", "timeout")
    retries = node.integer("retries", DEFAULT_RETRIES, minimum=0)
    timeout = node.duration("timeout")
    base = ServiceConfig(name, kind, retries=retries, timeout=timeout or 10.0)
    if kind == "webhook":
        node.only((*common, "url", "urlFile", "method", "headers", "basicAuth"))
        if node.has("url") == node.has("urlFile"):
            raise node.error("give either url or urlFile")
        url = node.string("url")
        if url and not url.startswith(("http://", "https://")):
            raise node.field("url").error(f"must be an http:// or https:// URL, got {url!r}")
        headers: list[tuple[str, str]] = []
        for item in node.items("headers"):
            item.only(("name", "value"))
            headers.append((item.string("name", required=True), item.string("value")))
        username, password = "", None
        auth = node.child("basicAuth")
        if auth is not None:
            auth.only(("username", "passwordFile"))
            username = auth.string("username", required=True)
            password = path_of(auth.field("passwordFile"))
        url_file = node.child("urlFile")
        return replace(
            base,
            url=url,
            url_file=None if url_file is None else path_of(url_file),
            method=node.one_of("method", ("POST", "PUT", "PATCH", "GET"), "POST"),
            headers=tuple(headers),
            username=username,
            password_file=password,
        )
    if kind == "slack":
        node.only((*common, "urlFile"))
        if not node.has("urlFile"):
            raise node.error(
                "required field is missing (the incoming webhook's URL is a secret: a file)", "urlFile"
            )
        return replace(base, url_file=path_of(node.field("urlFile")))
    node.only((*common, "host", "port", "from", "username", "passwordFile", "starttls", "caFile", "to"))
    if node.has("username") != node.has("passwordFile"):
        raise node.error("give both username and passwordFile, or neither")
    password_node, ca_node = node.child("passwordFile"), node.child("caFile")
    if ca_node is not None and not node.boolean("starttls"):
        raise ca_node.error("only applies with starttls: true")
    return replace(
        base,
        host=node.string("host", required=True),
        port=node.integer("port", 25, minimum=1),
        sender=node.string("from", required=True),
        username=node.string("username"),
        password_file=None if password_node is None else path_of(password_node),
        starttls=node.boolean("starttls"),
        ca_file=None if ca_node is None else path_of(ca_node),
        recipients=node.strings("to"),
    )


def _template(trigger: str, node: Node) -> TemplateConfig:
    node.require_map()
    node.only(("title", "body"), {"message": "use body", "subject": "use title"})
    found = TemplateConfig(
        node.string("title") if node.has("title") else None, node.string("body") if node.has("body") else None
    )
    for key, text in (("title", found.title), ("body", found.body)):
        if text is not None:
            try:
                gotemplate.parse(text, name=f"notifications.templates.{trigger}.{key}")
            except SpecError as exc:
                raise node.field(key).error(str(exc)) from exc
    return found


def _subscription(node: Node, services: dict[str, ServiceConfig]) -> DefaultSubscription:
    node.only(("triggers", "recipients"), {"selector": "a selector is not supported"})
    triggers = tuple(_trigger_name(item, item.as_str()) for item in node.items("triggers"))
    if not triggers:
        raise node.error("required field is missing: at least one trigger", "triggers")
    recipients: list[tuple[str, str]] = []
    for item in node.items("recipients"):
        service, _, recipient = item.as_str().partition(":")
        if service not in services:
            known = ", ".join(sorted(services)) or "none"
            raise item.error(f"no notifications service named {service!r} (services: {known})")
        recipients.append((service, recipient.strip()))
    if not recipients:
        raise node.error("required field is missing: at least one service[:recipient]", "recipients")
    return DefaultSubscription(triggers, tuple(recipients))


def parse_notifications(node: Node, path_of: Callable[[Node], Path]) -> NotificationsConfig:
    """``node``'s ``notifications`` (none without one); ``path_of`` makes a file field an absolute path
    (relative to the config file) of a file that exists."""
    found = node.child("notifications")
    if found is None:
        return NotificationsConfig()
    if found.has("triggers"):
        raise found.field("triggers").error(
            "user-defined triggers are not supported: gitloop does not evaluate Argo CD's `when` "
            f"expressions; subscribe to the catalog's triggers ({', '.join(TRIGGER_NAMES)})"
        )
    found.only(
        ("url", "services", "templates", "defaultSubscriptions"),
        {"subscriptions": "use defaultSubscriptions"},
    )
    url = found.string("url")
    if url and not url.startswith(("http://", "https://")):
        raise found.field("url").error(f"must be an http:// or https:// URL, got {url!r}")
    services = {name: _service(name, item, path_of) for name, item in found.entries("services")}
    templates = {
        _trigger_name(item, name): _template(name, item) for name, item in found.entries("templates")
    }
    defaults = tuple(_subscription(item, services) for item in found.items("defaultSubscriptions"))
    return NotificationsConfig(url.rstrip("/"), services, templates, defaults)
