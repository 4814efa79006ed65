"""The audit trail: who did what, to which object, when, from where, and how it ended.

Entries are appended to the store's history of the owner ``audit`` and never changed. Nothing secret is
kept: in ``details``, a key naming a password, token or secret, and any value holding a gitloop token
(``gitloop_...``), becomes ``***``, and passwords inside URLs are masked as everywhere else
(``gitloop.spec.redact``). Actions are free strings such as ``login``, ``login.failed``,
``applications.sync`` or ``accounts.token.create``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitloop.access.tokens import rfc3339
from gitloop.ports import HistoryEntry, Store
from gitloop.spec.redact import MASK, redact_url_passwords

OWNER = "audit"
"""The store history the entries are appended to."""
OUTCOMES = ("ok", "denied", "failed")
"""What an entry's outcome starts with: ``ok``, ``denied`` (the policy refused), or ``failed: <why>``."""
_TOKEN_LIKE = re.compile(r"gitloop_[0-9a-f]{16}_")
_SECRET_KEY = re.compile(r"password|passwd|token|secret", re.IGNORECASE)


def redact_value(value: str) -> str:
    """``value`` as it may be kept: ``***`` if it holds a gitloop token, URL passwords masked."""
    if _TOKEN_LIKE.search(value):
        return MASK
    return redact_url_passwords(value)


def redact_details(details: Mapping[str, object] | None) -> dict[str, str]:
    """``details`` as strings, with secret keys and secret-looking values replaced by ``***``."""
    return {
        str(key): MASK if _SECRET_KEY.search(str(key)) else redact_value(str(value))
        for key, value in (details or {}).items()
    }


@dataclass(frozen=True)
class AuditEntry:
    """One recorded action."""

    id: int
    time: float
    user: str
    action: str
    object: str
    source: str
    outcome: str
    details: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``id, time, user, action, object, source, outcome, details``, time in RFC 3339."""
        return {
            "id": self.id,
            "time": rfc3339(self.time),
            "user": self.user,
            "action": self.action,
            "object": self.object,
            "source": self.source,
            "outcome": self.outcome,
            "details": dict(self.details),
        }


def _entry(entry: HistoryEntry) -> AuditEntry:
    doc = entry.doc
    when = doc.get("time")
    details = doc.get("details")
    return AuditEntry(
        id=entry.id,
        time=float(when) if isinstance(when, int | float) else entry.time,
        user=str(doc.get("user", "")),
        action=str(doc.get("action", "")),
        object=str(doc.get("object", "")),
        source=str(doc.get("source", "")),
        outcome=str(doc.get("outcome", "")),
        details={str(k): str(v) for k, v in details.items()} if isinstance(details, dict) else {},
    )


class AuditLog:
    """Records actions to, and reads them from, ``store``."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    def record(
        self,
        *,
        user: str,
        action: str,
        object: str,
        source: str = "",
        outcome: str = "ok",
        details: Mapping[str, object] | None = None,
    ) -> None:
        """Append one entry (secrets redacted, see the module)."""
        doc: dict[str, Any] = {
            "time": self._clock(),
            "user": redact_value(user),
            "action": action,
            "object": redact_value(object),
            "source": redact_value(source),
            "outcome": outcome,
            "details": redact_details(details),
        }
        self._store.append_history(OWNER, doc)

    def entries(
        self, *, since: float | None = None, user: str | None = None, limit: int | None = None
    ) -> list[AuditEntry]:
        """Entries at or after ``since`` (seconds since the epoch) by ``user``, newest last; with
        ``limit``, only the newest ``limit`` of them."""
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        found = [
            e
            for e in map(_entry, self._store.history(OWNER))
            if (since is None or e.time >= since) and (user is None or e.user == user)
        ]
        if limit is not None:
            found = found[len(found) - limit :] if limit else []
        return found
