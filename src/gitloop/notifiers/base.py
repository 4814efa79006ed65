"""What the notification services share: their error, the secret-file reader and the masking of a
service's secrets in the errors it reports."""

from __future__ import annotations

from pathlib import Path

from gitloop.errors import GitloopError, UsageError
from gitloop.spec.redact import SecretMask
from gitloop.spec.serve_notifications import ServiceConfig


class NotificationError(GitloopError):
    """A message was not delivered; the message names the service and the reason, never a secret."""


def read_secret(config: ServiceConfig, path: Path | None, field: str) -> str:
    """A secret file's content without its trailing newline; the error names the service and file only."""
    where = f"notifications service {config.name!r}: {field}"
    if path is None:
        raise UsageError(f"{where} is missing")
    try:
        value = path.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{where}: cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from exc
    if not value:
        raise UsageError(f"{where}: {path} is empty")
    return value


class ServiceBase:
    """A named service of one type, with the mask of its secrets."""

    type = ""

    def __init__(self, config: ServiceConfig, secrets: list[str]) -> None:
        self.config = config
        self.name = config.name
        self.max_attempts = config.retries + 1
        self._mask = SecretMask([s for s in secrets if s])

    def failure(self, reason: str) -> NotificationError:
        """The error of a failed send, with every secret of the service masked."""
        return NotificationError(f"{self.type} service {self.name!r}: {self._mask(reason)}")
