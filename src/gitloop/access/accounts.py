"""Local accounts: who may log in with a password. The one module that writes ``Account`` records.

A record (store kind ``Account``, name = the user name) holds the account's Argon2id hash and nothing
else secret; a password is never stored. ``login`` answers one ``LoginFailed`` for an unknown user, a
wrong password, a disabled account and an account without a password alike, and spends one hash in
every case, so neither the message nor the time tells which. Failed logins are throttled per name
(``LoginThrottle``: Argo CD's 5 failures per 300 s). ``bootstrap_admin`` creates Argo CD's ``admin``.
"""

from __future__ import annotations

import builtins
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher

from gitloop.access.names import validate_username
from gitloop.access.passwords import generate_password, hash_password, needs_rehash, verify_password
from gitloop.access.throttle import LoginThrottle
from gitloop.access.tokens import rfc3339
from gitloop.errors import AuthError, UsageError
from gitloop.ports import Store, StoredObject

KIND = "Account"
"""The store kind of account records."""
ADMIN = "admin"


class LoginFailed(AuthError):
    """A login that did not succeed. One message for every reason, so it reveals none."""

    def __init__(self) -> None:
        super().__init__("invalid username or password")


class LoginThrottled(AuthError):
    """Too many failed logins of one name recently; ``retry_after`` seconds until the next try."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(f"too many failed logins: try again in {max(1, round(retry_after))} s")


@dataclass(frozen=True)
class Account:
    """A local account as it may be shown: never its hash."""

    name: str
    enabled: bool
    has_password: bool
    created: float
    password_changed: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, times in RFC 3339 UTC."""
        return {
            "name": self.name,
            "enabled": self.enabled,
            "passwordSet": self.has_password,
            "created": rfc3339(self.created),
            "passwordChanged": rfc3339(self.password_changed) if self.password_changed is not None else None,
        }


def _account(record: StoredObject) -> Account:
    doc = record.doc
    changed = doc.get("passwordChanged")
    created = doc.get("created")
    return Account(
        name=record.name,
        enabled=bool(doc.get("enabled", True)),
        has_password=bool(doc.get("passwordHash")),
        created=float(created) if isinstance(created, int | float) else record.created,
        password_changed=float(changed) if isinstance(changed, int | float) else None,
    )


class Accounts:
    """Create, change and log in local accounts kept in ``store``."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], float] = time.time,
        throttle: LoginThrottle | None = None,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._throttle = throttle if throttle is not None else LoginThrottle(clock=clock)
        self._hasher = hasher
        self._dummy: str | None = None
        self._lock = threading.Lock()

    def _hash(self, password: str) -> str:
        return hash_password(password, hasher=self._hasher)

    def _dummy_hash(self) -> str:
        """A hash to verify against when there is none, so every login costs the same."""
        if self._dummy is None:
            self._dummy = self._hash(generate_password())
        return self._dummy

    def _record(self, name: str) -> StoredObject:
        record = self._store.get(KIND, validate_username(name))
        if record is None:
            raise UsageError(f"account {name!r}: no such account")
        return record

    def create(self, name: str, password: str | None, *, enabled: bool = True) -> Account:
        """A new account, with ``password`` (hashed) or none (it cannot log in until one is set)."""
        validate_username(name)
        hashed = self._hash(password) if password is not None else ""
        with self._lock:
            if self._store.get(KIND, name) is not None:
                raise UsageError(f"account {name!r}: already exists")
            now = self._clock()
            doc: dict[str, object] = {"enabled": enabled, "passwordHash": hashed, "created": now}
            if password is not None:
                doc["passwordChanged"] = now
            self._store.put(KIND, name, doc)
        return self._must_get(name)

    def set_password(self, name: str, password: str) -> None:
        """Replace ``name``'s password (after the password rules)."""
        hashed = self._hash(password)
        with self._lock:
            record = self._record(name)
            doc = {**record.doc, "passwordHash": hashed, "passwordChanged": self._clock()}
            self._store.put(KIND, name, doc)

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Enable or disable ``name``: a disabled account cannot log in and its tokens are refused."""
        with self._lock:
            record = self._record(name)
            self._store.put(KIND, name, {**record.doc, "enabled": enabled})

    def get(self, name: str) -> Account | None:
        """The account ``name``, or ``None``."""
        record = self._store.get(KIND, name)
        return None if record is None else _account(record)

    def _must_get(self, name: str) -> Account:
        found = self.get(name)
        if found is None:
            raise UsageError(f"account {name!r}: no such account")
        return found

    def list(self) -> builtins.list[Account]:
        """Every account, by name."""
        return sorted((_account(r) for r in self._store.query(KIND)), key=lambda a: a.name)

    def login(self, name: str, password: str) -> Account:
        """The account when ``password`` is its password and it is enabled; ``LoginThrottled`` when the
        name failed too often lately; ``LoginFailed`` otherwise, whatever the reason."""
        wait = self._throttle.check(name)
        if wait > 0:
            raise LoginThrottled(wait)
        dummy = self._dummy_hash()  # made on the first login of any name, so it tells nothing
        record = self._store.get(KIND, name) if name else None
        stored = record.doc.get("passwordHash") if record is not None else None
        hashed = stored if isinstance(stored, str) and stored else None
        matches = verify_password(hashed or dummy, password, hasher=self._hasher)
        if record is None or hashed is None or not matches or not record.doc.get("enabled", True):
            self._throttle.failed(name)
            raise LoginFailed()
        self._throttle.succeeded(name)
        if needs_rehash(hashed, hasher=self._hasher):
            self._rehash(name, hashed, self._hash(password))
        return _account(record)

    def _rehash(self, name: str, old: str, new: str) -> None:
        """Replace ``old`` by ``new`` unless the record changed meanwhile (a new password, disabled)."""
        with self._lock:
            current = self._store.get(KIND, name)
            if (
                current is not None
                and current.doc.get("passwordHash") == old
                and current.doc.get("enabled", True)
            ):
                self._store.put(KIND, name, {**current.doc, "passwordHash": new})

    def bootstrap_admin(self, *, with_password: bool) -> str | None:
        """Create ``admin`` unless it exists: the generated password (to show once) when
        ``with_password``, ``""`` when created without one, ``None`` when ``admin`` already existed."""
        if self._store.get(KIND, ADMIN) is not None:
            return None
        password = generate_password() if with_password else None
        try:
            self.create(ADMIN, password)
        except UsageError:
            if self._store.get(KIND, ADMIN) is not None:
                return None
            raise
        return password or ""
