"""The email service: one message per recipient over SMTP (smtplib), with STARTTLS (certificate checked
against the system's CAs or ``caFile``) and login when configured. The recipient ``""`` means the
service's ``to`` addresses. SMTP errors are ``NotificationError``s naming the service."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from gitloop.notifiers.base import ServiceBase
from gitloop.spec.serve_notifications import ServiceConfig


class EmailService(ServiceBase):
    """``type: email``."""

    type = "email"

    def __init__(self, config: ServiceConfig, password: str = "") -> None:
        super().__init__(config, [password])
        self._password = password

    def send(self, *, title: str, body: str, recipient: str, trigger: str, subject: str) -> None:
        to = [recipient] if recipient else list(self.config.recipients)
        if not to:
            raise self.failure("no recipient: subscribe an address or give the service 'to'")
        message = EmailMessage()
        message["From"] = self.config.sender
        message["To"] = ", ".join(to)
        message["Subject"] = title
        message["X-Gitloop-Trigger"] = trigger
        message.set_content(body + "\n")
        try:
            with smtplib.SMTP(self.config.host, self.config.port, timeout=self.config.timeout) as smtp:
                if self.config.starttls:
                    context = ssl.create_default_context(
                        cafile=str(self.config.ca_file) if self.config.ca_file else None
                    )
                    smtp.starttls(context=context)
                if self.config.username:
                    smtp.login(self.config.username, self._password)
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise self.failure(f"{type(exc).__name__}: {exc}") from None
