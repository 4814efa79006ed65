"""The notification services against real receivers: a webhook and a Slack incoming webhook served by
``http.server`` on 127.0.0.1, email through an aiosmtpd server (plain, and STARTTLS with a login)."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path

import pytest
from notify_receivers import HttpReceiver, Mailbox, basic_auth, self_signed, serve_http, serve_smtp

from gitloop.errors import UsageError
from gitloop.notifiers import NotificationError, open_service
from gitloop.spec.serve_notifications import ServiceConfig

SECRET = "s3cr3t-t0ken-value"


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    yield from serve_http(HttpReceiver())


def _send(service: object, **kwargs: str) -> None:
    args = {
        "title": "T",
        "body": "B",
        "recipient": "",
        "trigger": "on-deployed",
        "subject": "guestbook",
        **kwargs,
    }
    service.send(**args)  # type: ignore[attr-defined]


def test_webhook_posts_json_with_headers_and_basic_auth(receiver: HttpReceiver, tmp_path: Path) -> None:
    password = tmp_path / "password"
    password.write_text(SECRET + "\n")
    config = ServiceConfig(
        "ops",
        "webhook",
        url=receiver.url,
        headers=(("X-Team", "blue"),),
        username="bot",
        password_file=password,
    )
    _send(open_service(config), recipient="alerts")
    (request,) = receiver.requests
    assert request.method == "POST"
    assert request.headers["X-Team"] == "blue"
    assert basic_auth(request) == ("bot", SECRET)
    assert request.json() == {
        "trigger": "on-deployed",
        "subject": "guestbook",
        "recipient": "alerts",
        "title": "T",
        "body": "B",
    }


def test_webhook_url_from_file_never_in_errors(tmp_path: Path) -> None:
    receiver = HttpReceiver(statuses=[503])
    for running in serve_http(receiver):
        url_file = tmp_path / "url"
        url_file.write_text(f"{running.url}?token={SECRET}\n")
        service = open_service(ServiceConfig("ops", "webhook", url_file=url_file, method="PUT"))
        with pytest.raises(NotificationError) as failed:
            _send(service)
        assert "webhook service 'ops'" in str(failed.value) and "503" in str(failed.value)
        assert SECRET not in str(failed.value)
        assert running.requests[0].method == "PUT" and running.requests[0].path.endswith(SECRET)


def test_webhook_without_answer_names_the_service_only(tmp_path: Path) -> None:
    url_file = tmp_path / "url"
    url_file.write_text(f"http://127.0.0.1:9/{SECRET}")
    service = open_service(ServiceConfig("ops", "webhook", url_file=url_file, timeout=2.0))
    with pytest.raises(NotificationError) as failed:
        _send(service)
    assert "webhook service 'ops': no answer" in str(failed.value)
    assert SECRET not in str(failed.value)


def test_slack_sends_text_and_channel(receiver: HttpReceiver, tmp_path: Path) -> None:
    url_file = tmp_path / "slack-url"
    url_file.write_text(receiver.url)
    service = open_service(ServiceConfig("chat", "slack", url_file=url_file))
    _send(service, title="Deployed", body="guestbook runs abc", recipient="#deploys")
    assert receiver.requests[0].json() == {"text": "*Deployed*\nguestbook runs abc", "channel": "#deploys"}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (ServiceConfig("chat", "slack"), "notifications service 'chat': urlFile is missing"),
        (ServiceConfig("chat", "slack", url_file=Path("/nonexistent/url")), "cannot read /nonexistent/url"),
    ],
)
def test_secret_file_errors_name_service_and_file(config: ServiceConfig, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        open_service(config)


def test_email_plain(tmp_path: Path) -> None:
    mailbox = Mailbox()
    for port in serve_smtp(mailbox):
        config = ServiceConfig(
            "mail",
            "email",
            host="127.0.0.1",
            port=port,
            sender="gitloop@example.com",
            recipients=("ops@example.com",),
        )
        _send(open_service(config), title="Deployed guestbook", body="runs abc")
    (envelope,) = mailbox.messages
    assert envelope.rcpt_tos == ["ops@example.com"]
    message = message_from_bytes(envelope.content)  # type: ignore[arg-type]
    assert message["Subject"] == "Deployed guestbook"
    assert message["From"] == "gitloop@example.com"
    assert message.get_payload().strip() == "runs abc"  # type: ignore[union-attr]
    assert mailbox.tls == [False]


def test_email_starttls_and_login(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    password = tmp_path / "smtp-password"
    password.write_text(SECRET)
    mailbox = Mailbox()
    for port in serve_smtp(mailbox, tls=(cert, key), login=("bot", SECRET)):
        config = ServiceConfig(
            "mail",
            "email",
            host="127.0.0.1",
            port=port,
            sender="gitloop@example.com",
            username="bot",
            password_file=password,
            starttls=True,
            ca_file=cert,
        )
        _send(open_service(config), recipient="dev@example.com")
        assert mailbox.logins == ["bot"] and mailbox.tls == [True]
        assert mailbox.messages[0].rcpt_tos == ["dev@example.com"]
        wrong = tmp_path / "wrong"
        wrong.write_text("not-the-password")
        refused = open_service(ServiceConfig(**{**config.__dict__, "password_file": wrong}))
        with pytest.raises(NotificationError) as failed:
            _send(refused, recipient="dev@example.com")
        assert "email service 'mail'" in str(failed.value) and "not-the-password" not in str(failed.value)


def test_email_without_recipient_fails_clearly() -> None:
    service = open_service(ServiceConfig("mail", "email", host="127.0.0.1", port=9, sender="a@example.com"))
    with pytest.raises(NotificationError, match="email service 'mail': no recipient"):
        _send(service)
