"""The ``notifications`` key of ``gitloop serve``'s configuration: services, templates and default
subscriptions read, and each mistake named with the file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitloop.errors import SpecError
from gitloop.spec.serve_notifications import (
    DefaultSubscription,
    NotificationsConfig,
    ServiceConfig,
    TemplateConfig,
)
from gitloop.spec.serveconfig import ServeConfig, load

FULL = """\
listen: 127.0.0.1:0
notifications:
  url: https://gitloop.example/
  services:
    hook:
      type: webhook
      url: http://127.0.0.1:9000/hook
      method: PUT
      headers: [{name: X-Team, value: blue}]
      basicAuth: {username: bot, passwordFile: secrets/hook}
      retries: 2
    chat:
      type: slack
      urlFile: secrets/slack
    mail:
      type: email
      host: smtp.example
      port: 587
      from: gitloop@example.com
      username: bot
      passwordFile: secrets/smtp
      starttls: true
      to: [ops@example.com]
  templates:
    app-deployed:
      title: "{{.app.metadata.name}} is out"
  defaultSubscriptions:
    - triggers: [on-sync-failed, on-pipeline-failed]
      recipients: [chat, "mail:dev@example.com"]
"""


def _load(base: Path, text: str) -> ServeConfig:
    (base / "secrets").mkdir(exist_ok=True)
    for name in ("hook", "slack", "smtp"):
        (base / "secrets" / name).write_text("x")
    path = base / "serve.yaml"
    path.write_text(text)
    return load(path)


def test_none_by_default(tmp_path: Path) -> None:
    config = _load(tmp_path, "listen: 127.0.0.1:0\n").notifications
    assert config == NotificationsConfig() and not config.enabled


def test_full(tmp_path: Path) -> None:
    config = _load(tmp_path, FULL).notifications
    secrets = tmp_path / "secrets"
    assert config.url == "https://gitloop.example"
    assert config.services["hook"] == ServiceConfig(
        "hook",
        "webhook",
        url="http://127.0.0.1:9000/hook",
        method="PUT",
        headers=(("X-Team", "blue"),),
        username="bot",
        password_file=secrets / "hook",
        retries=2,
    )
    assert config.services["chat"] == ServiceConfig("chat", "slack", url_file=secrets / "slack")
    mail = config.services["mail"]
    assert (mail.host, mail.port, mail.sender, mail.starttls, mail.recipients) == (
        "smtp.example",
        587,
        "gitloop@example.com",
        True,
        ("ops@example.com",),
    )
    assert config.templates == {"on-deployed": TemplateConfig(title="{{.app.metadata.name}} is out")}
    assert config.default_subscriptions == (
        DefaultSubscription(
            ("on-sync-failed", "on-pipeline-failed"), (("chat", ""), ("mail", "dev@example.com"))
        ),
    )


def _with(notifications: str) -> str:
    return "listen: 127.0.0.1:0\nnotifications:\n" + notifications


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            _with("  triggers:\n    - name: on-x\n"),
            r"notifications\.triggers: user-defined triggers are not supported: gitloop does not evaluate Argo CD's `when`",
        ),
        (
            _with("  services:\n    x: {type: teams}\n"),
            r"notifications\.services\.x\.type: invalid value 'teams'",
        ),
        (
            _with("  services:\n    x: {type: webhook}\n"),
            r"notifications\.services\.x: give either url or urlFile",
        ),
        (_with("  services:\n    x: {type: webhook, url: ftp://h}\n"), r"services\.x\.url: must be an http"),
        (
            _with("  services:\n    x: {type: slack, url: http://h}\n"),
            r"services\.x\.url: unknown field 'url'",
        ),
        (_with("  services:\n    x: {type: slack}\n"), r"services\.x\.urlFile: required field is missing"),
        (
            _with("  services:\n    x: {type: slack, urlFile: nope}\n"),
            r"services\.x\.urlFile: .*nope: no such file",
        ),
        (
            _with("  services:\n    x: {type: email, host: h, from: a@b, username: u}\n"),
            r"services\.x: give both username and passwordFile",
        ),
        (
            _with("  services:\n    x: {type: email, host: h, from: a@b, caFile: secrets/smtp}\n"),
            r"services\.x\.caFile: only applies with starttls: true",
        ),
        (
            _with("  templates:\n    on-nothing: {title: x}\n"),
            r"templates\.on-nothing: unknown trigger 'on-nothing'",
        ),
        (
            _with("  templates:\n    on-deployed: {body: '{{.app | nosuch}}'}\n"),
            r'templates\.on-deployed\.body: .*function "nosuch" not defined',
        ),
        (_with("  templates:\n    on-deployed: {message: x}\n"), r"unknown field 'message'; use body"),
        (
            _with(
                "  services:\n    h: {type: webhook, url: 'http://h'}\n  defaultSubscriptions:\n"
                "    - {triggers: [on-deployed], recipients: [nope]}\n"
            ),
            r"defaultSubscriptions\[0\]\.recipients\[0\]: no notifications service named 'nope' \(services: h\)",
        ),
        (
            _with(
                "  services:\n    h: {type: webhook, url: 'http://h'}\n  defaultSubscriptions:\n"
                "    - {triggers: [on-sync-weird], recipients: [h]}\n"
            ),
            r"defaultSubscriptions\[0\]\.triggers\[0\]: unknown trigger 'on-sync-weird'",
        ),
    ],
)
def test_mistakes(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SpecError, match=message) as found:
        _load(tmp_path, text)
    assert "serve.yaml" in str(found.value)
