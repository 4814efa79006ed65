"""The generic webhook service and the Slack-compatible incoming webhook, over httpx.

A webhook sends ``{"trigger", "subject", "recipient", "title", "body"}`` as JSON with the configured
method, headers and basic auth; Slack's incoming webhook gets ``{"text": "*title*\\nbody"}`` (and
``channel`` when a recipient is named). Any answer but 2xx, or no answer, is a ``NotificationError``;
the URL (a secret for Slack, maybe for a webhook) never appears in it."""

from __future__ import annotations

import json
from typing import Any

import httpx

from gitloop.notifiers.base import ServiceBase
from gitloop.spec.serve_notifications import ServiceConfig


class _HttpService(ServiceBase):
    def __init__(self, config: ServiceConfig, url: str, secrets: list[str]) -> None:
        super().__init__(config, [url, *secrets])
        self._url = url

    def _post(
        self, method: str, payload: dict[str, Any], headers: dict[str, str], auth: httpx.BasicAuth | None
    ) -> None:
        body = json.dumps(payload).encode("utf-8")
        try:
            with httpx.Client(timeout=self.config.timeout, follow_redirects=False) as client:
                response = client.request(
                    method,
                    self._url,
                    content=body,
                    headers={"Content-Type": "application/json", **headers},
                    auth=auth,
                )
        except httpx.HTTPError as exc:
            raise self.failure(f"no answer: {type(exc).__name__}: {exc}") from None
        if not 200 <= response.status_code < 300:
            raise self.failure(f"answered HTTP {response.status_code}: {response.text[:200]}")


class WebhookService(_HttpService):
    """``type: webhook``."""

    type = "webhook"

    def __init__(self, config: ServiceConfig, url: str, password: str = "") -> None:
        super().__init__(config, url, [password])
        self._auth = httpx.BasicAuth(config.username, password) if config.username else None

    def send(self, *, title: str, body: str, recipient: str, trigger: str, subject: str) -> None:
        payload = {
            "trigger": trigger,
            "subject": subject,
            "recipient": recipient,
            "title": title,
            "body": body,
        }
        self._post(self.config.method, payload, dict(self.config.headers), self._auth)


class SlackService(_HttpService):
    """``type: slack``: a Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat)."""

    type = "slack"

    def __init__(self, config: ServiceConfig, url: str) -> None:
        super().__init__(config, url, [])

    def send(self, *, title: str, body: str, recipient: str, trigger: str, subject: str) -> None:
        payload: dict[str, Any] = {"text": f"*{title}*\n{body}" if title else body}
        if recipient:
            payload["channel"] = recipient
        self._post("POST", payload, {}, None)
