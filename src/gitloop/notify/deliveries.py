"""Notification deliveries: their store records (kind ``NotificationDelivery``), the state machine
``pending`` → ``sent`` | ``failed`` with exponential backoff, and the claims that keep a delivery from
being made or sent twice, across restarts and across servers sharing one database.

A delivery is created once for its key (trigger, subject, ``oncePer`` value or episode, service,
recipient): the first append to the history owner ``notify/<id>`` wins, as webhook deliveries are
claimed. Each attempt is claimed the same way (``notify/<id>/attempt/<n>``), so two workers never send
the same attempt. The message is rendered when the delivery is made and kept with it: a pending
delivery is sent after a restart as it was meant. Errors are kept redacted (the adapters never put a
secret in one; ``redact_url_passwords`` masks any URL credentials left).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from gitloop.ports import Store
from gitloop.spec.redact import redact_url_passwords

KIND = "NotificationDelivery"
PENDING, SENT, FAILED = "pending", "sent", "failed"
MAX_ATTEMPTS = 5
BASE_DELAY = 1.0
MAX_DELAY = 300.0
_ERROR_LIMIT = 500
_UNSAFE = re.compile(r"[^a-z0-9.-]+")


def backoff(attempt: int, *, base: float = BASE_DELAY, cap: float = MAX_DELAY) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): 1 s, 2 s, 4 s, … up to ``cap``."""
    return float(min(cap, base * 2 ** max(0, attempt - 1)))


def delivery_id(key: str, subject: str, trigger: str) -> str:
    """A record name for the delivery of ``key``: readable prefix, digest of the whole key."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]
    prefix = _UNSAFE.sub("-", f"{subject}.{trigger}".lower())[:80]
    return f"{prefix}.{digest}"


@dataclass(frozen=True)
class Delivery:
    """One message to one recipient of one service, and how sending it went."""

    id: str
    trigger: str
    subject: str
    service: str
    recipient: str
    title: str
    body: str
    once_per: str = ""
    state: str = PENDING
    attempts: int = 0
    max_attempts: int = MAX_ATTEMPTS
    next_attempt_at: float = 0.0
    last_error: str = ""
    created_at: float = 0.0
    sent_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "subject": self.subject,
            "service": self.service,
            "recipient": self.recipient,
            "title": self.title,
            "body": self.body,
            "oncePer": self.once_per,
            "state": self.state,
            "attempts": self.attempts,
            "maxAttempts": self.max_attempts,
            "nextAttemptAt": self.next_attempt_at,
            "lastError": self.last_error,
            "createdAt": self.created_at,
            "sentAt": self.sent_at,
        }

    @classmethod
    def from_dict(cls, name: str, doc: dict[str, Any]) -> Delivery:
        return cls(
            id=name,
            trigger=str(doc.get("trigger", "")),
            subject=str(doc.get("subject", "")),
            service=str(doc.get("service", "")),
            recipient=str(doc.get("recipient", "")),
            title=str(doc.get("title", "")),
            body=str(doc.get("body", "")),
            once_per=str(doc.get("oncePer", "")),
            state=str(doc.get("state", PENDING)),
            attempts=int(doc.get("attempts", 0)),
            max_attempts=int(doc.get("maxAttempts", MAX_ATTEMPTS)),
            next_attempt_at=float(doc.get("nextAttemptAt", 0.0)),
            last_error=str(doc.get("lastError", "")),
            created_at=float(doc.get("createdAt", 0.0)),
            sent_at=doc.get("sentAt"),
        )


def after_attempt(delivery: Delivery, *, error: str | None, now: float) -> Delivery:
    """The delivery after one attempt: ``sent``; or, on ``error``, ``pending`` again after the backoff,
    or ``failed`` once ``max_attempts`` were made."""
    if delivery.state != PENDING:
        raise ValueError(f"delivery {delivery.id} is {delivery.state}, not {PENDING}")
    attempts = delivery.attempts + 1
    if error is None:
        return replace(
            delivery, state=SENT, attempts=attempts, sent_at=now, last_error="", next_attempt_at=0.0
        )
    message = redact_url_passwords(error)[:_ERROR_LIMIT]
    if attempts >= delivery.max_attempts:
        return replace(delivery, state=FAILED, attempts=attempts, last_error=message, next_attempt_at=0.0)
    return replace(delivery, attempts=attempts, last_error=message, next_attempt_at=now + backoff(attempts))


class DeliveryBook:
    """The deliveries in a ``Store``. Safe to share between threads."""

    def __init__(self, store: Store, clock: Callable[[], float]) -> None:
        self._store = store
        self._clock = clock

    def _claim(self, owner: str) -> bool:
        return self._store.append_history(owner, {"op": "claim", "time": self._clock()}) == 0

    def create(self, delivery: Delivery) -> bool:
        """Keep ``delivery`` pending unless one with its id was made already (by any process)."""
        if self.exists(delivery.id) or not self._claim(f"notify/{delivery.id}"):
            return False
        self.put(delivery)
        return True

    def exists(self, name: str) -> bool:
        """Whether the delivery ``name`` was made (read first: a condition that holds for long is asked
        at every status change, and only a new delivery may write)."""
        return self._store.get(KIND, name) is not None

    def put(self, delivery: Delivery) -> None:
        self._store.put(KIND, delivery.id, delivery.to_dict(), labels=_labels(delivery))

    def get(self, name: str) -> Delivery | None:
        found = self._store.get(KIND, name)
        return None if found is None else Delivery.from_dict(found.name, dict(found.doc))

    def listed(self, state: str | None = None) -> list[Delivery]:
        """Deliveries (of ``state``), oldest first."""
        found = self._store.query(KIND, labels={"state": state} if state else None)
        return [Delivery.from_dict(o.name, dict(o.doc)) for o in reversed(found)]

    def due(self, now: float) -> list[Delivery]:
        """Pending deliveries whose next attempt time has come, oldest first."""
        return [d for d in self.listed(PENDING) if d.next_attempt_at <= now]

    def next_due(self) -> float | None:
        """When the earliest pending delivery is due (``None``: none is pending)."""
        times = [d.next_attempt_at for d in self.listed(PENDING)]
        return min(times) if times else None

    def claim_attempt(self, delivery: Delivery) -> bool:
        """Whether this process makes attempt ``attempts + 1`` of ``delivery`` (no other one does)."""
        return self._claim(f"notify/{delivery.id}/attempt/{delivery.attempts + 1}")


def _labels(delivery: Delivery) -> dict[str, str]:
    return {
        "state": delivery.state,
        "trigger": delivery.trigger,
        "service": delivery.service[:200],
        "subject": delivery.subject[:200],
    }


def as_dict(delivery: Delivery) -> dict[str, Any]:
    """Every field, for tests and status pages."""
    return asdict(delivery)
