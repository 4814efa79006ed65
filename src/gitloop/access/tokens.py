"""Session, API and project-role tokens: issued once, kept only as a hash, refused once expired or revoked.
The one module that writes ``AccessToken`` records.

A token reads ``gitloop_<id>_<secret>``: ``id`` is 16 hex characters and names the record (store kind
``AccessToken``, labels ``subject`` and ``kind``; its last use in an ``AccessTokenUse`` record of the
same name), ``secret`` is 32 random bytes, URL-safe base64. The
record holds the sha256 of the secret, never the secret, so the store cannot give a token back.
``scope`` narrows what a token may do to ``resource:action`` pairs (``*`` and globs allowed; empty means
whatever its subject may do). Expired session tokens are deleted when next seen; API tokens stay listed
(as expired) until revoked.
"""

from __future__ import annotations

import builtins
import datetime as dt
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from gitloop.access.glob import glob_match
from gitloop.access.names import validate_username
from gitloop.errors import UsageError
from gitloop.ports import Store, StoredObject

KIND = "AccessToken"
"""The store kind of token records."""
USE_KIND = "AccessTokenUse"
"""The store kind of a token's last use: a record of its own, so that writing it can never bring back a
token revoked meanwhile (the store has no compare-and-set)."""
PREFIX = "gitloop_"
TOKEN_KINDS = ("session", "api", "project")
SESSION_LIFETIME = 24 * 3600.0
"""How long a login's session token lasts: Argo CD's default ``users.session.duration`` (24h)."""
LAST_USE_EVERY = 60.0
"""Seconds between two writes of a token's last use."""

_TOKEN = re.compile(r"^gitloop_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_SCOPE_PART = re.compile(r"^[A-Za-z0-9*][A-Za-z0-9_./*-]*$")
_PROJECT_SUBJECT = re.compile(r"^proj:[^:,\s]+:[^:,\s]+$")


def rfc3339(seconds: float) -> str:
    """``seconds`` since the epoch as ``2026-01-02T03:04:05Z`` (UTC, whole seconds, as Argo CD shows)."""
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def validate_scope(scope: Iterable[str]) -> tuple[str, ...]:
    """``scope`` as a tuple when every entry is ``resource:action``; ``UsageError`` naming the bad one."""
    checked = []
    for entry in scope:
        resource, colon, action = entry.partition(":")
        if not colon or not _SCOPE_PART.fullmatch(resource) or not _SCOPE_PART.fullmatch(action):
            raise UsageError(
                f"token scope {entry!r}: expected resource:action (e.g. applications:sync, '*' allowed)"
            )
        checked.append(entry)
    return tuple(checked)


def scope_permits(scope: tuple[str, ...], resource: str, action: str) -> bool:
    """Whether ``scope`` allows ``action`` on ``resource``: an empty scope allows everything."""
    if not scope:
        return True
    for entry in scope:
        want_resource, _, want_action = entry.partition(":")
        if glob_match(want_resource, resource) and glob_match(want_action, action):  # the policy's globs
            return True
    return False


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown of a token: never its secret or hash."""

    id: str
    subject: str
    kind: str
    issued: float
    expires: float | None
    scope: tuple[str, ...] = ()
    description: str = ""
    last_used: float | None = None

    def expired(self, now: float) -> bool:
        """Whether the token has expired at ``now``."""
        return self.expires is not None and now >= self.expires

    def permits(self, resource: str, action: str) -> bool:
        """Whether the token's scope allows ``action`` on ``resource``."""
        return scope_permits(self.scope, resource, action)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, times in RFC 3339 UTC."""
        return {
            "id": self.id,
            "subject": self.subject,
            "kind": self.kind,
            "issued": rfc3339(self.issued),
            "expires": rfc3339(self.expires) if self.expires is not None else None,
            "scope": list(self.scope),
            "description": self.description,
            "lastUsed": rfc3339(self.last_used) if self.last_used is not None else None,
        }


@dataclass(frozen=True)
class _Stored:
    info: TokenInfo
    digest: str = field(repr=False)


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _read(record: StoredObject) -> _Stored:
    doc = record.doc
    scope = doc.get("scope")
    info = TokenInfo(
        id=record.name,
        subject=str(doc.get("subject", "")),
        kind=str(doc.get("kind", "")),
        issued=_number(doc.get("issued")) or record.created,
        expires=_number(doc.get("expires")),
        scope=tuple(str(s) for s in scope) if isinstance(scope, list) else (),
        description=str(doc.get("description", "")),
        last_used=None,
    )
    return _Stored(info, str(doc.get("secretSha256", "")))


def _doc(info: TokenInfo, digest: str) -> dict[str, object]:
    return {
        "subject": info.subject,
        "kind": info.kind,
        "issued": info.issued,
        "expires": info.expires,
        "scope": list(info.scope),
        "description": info.description,
        "secretSha256": digest,
    }


def check_subject(subject: str, kind: str) -> str:
    """``subject`` when it may hold a token of ``kind``: an account name, or ``proj:<project>:<role>``
    for a project token."""
    if kind not in TOKEN_KINDS:
        raise UsageError(f"token kind {kind!r}: expected one of {', '.join(TOKEN_KINDS)}")
    if kind == "project":
        if not _PROJECT_SUBJECT.fullmatch(subject):
            raise UsageError(f"project token subject {subject!r}: expected proj:<project>:<role>")
        return subject
    return validate_username(subject)


class Tokens:
    """Issue, check, list and revoke tokens kept (hashed) in ``store``."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    def issue(
        self,
        subject: str,
        *,
        kind: str,
        expires_in: float | None,
        scope: Iterable[str] = (),
        description: str = "",
    ) -> tuple[TokenInfo, str]:
        """A new token for ``subject``: its info and the token string, which is shown once and never
        kept. ``expires_in`` seconds from now, or ``None`` for a token that does not expire."""
        check_subject(subject, kind)
        if expires_in is not None and expires_in <= 0:
            raise UsageError(f"token expiry: must be positive, got {expires_in:g} s")
        checked = validate_scope(scope)
        now = self._clock()
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        info = TokenInfo(
            id=token_id,
            subject=subject,
            kind=kind,
            issued=now,
            expires=now + expires_in if expires_in is not None else None,
            scope=checked,
            description=description,
        )
        self._store.put(
            KIND, token_id, _doc(info, _sha256(secret)), labels={"subject": subject, "kind": kind}
        )
        return info, f"{PREFIX}{token_id}_{secret}"

    def _with_use(self, info: TokenInfo) -> TokenInfo:
        use = self._store.get(USE_KIND, info.id)
        return replace(info, last_used=_number(use.doc.get("lastUsed"))) if use is not None else info

    def _delete(self, token_id: str) -> bool:
        self._store.delete(USE_KIND, token_id)
        return self._store.delete(KIND, token_id)

    def get(self, token_id: str) -> TokenInfo | None:
        """The token ``token_id``, or ``None``."""
        record = self._store.get(KIND, token_id)
        return None if record is None else self._with_use(_read(record).info)

    def authenticate(self, token: str) -> TokenInfo | None:
        """The token's info when ``token`` is a valid, unexpired, unrevoked token; else ``None``."""
        match = _TOKEN.fullmatch(token) if isinstance(token, str) else None
        if match is None:
            return None
        token_id, secret = match.groups()
        record = self._store.get(KIND, token_id)
        if record is None:
            return None
        stored = _read(record)
        if not stored.digest or not hmac.compare_digest(stored.digest, _sha256(secret)):
            return None
        info = stored.info
        now = self._clock()
        if info.expired(now):
            if info.kind == "session":
                self._delete(token_id)
            return None
        info = self._with_use(info)
        if info.last_used is None or now - info.last_used >= LAST_USE_EVERY:
            info = replace(info, last_used=now)
            self._store.put(USE_KIND, token_id, {"lastUsed": now})
        return info

    def revoke(self, token_id: str, *, subject: str | None = None) -> bool:
        """Revoke one token; with ``subject``, only if it is that subject's. Whether one was revoked."""
        record = self._store.get(KIND, token_id)
        if record is None or (subject is not None and record.labels.get("subject") != subject):
            return False
        return self._delete(token_id)

    def revoke_subject(self, subject: str) -> int:
        """Revoke every token of ``subject``; how many."""
        return sum(self._delete(r.name) for r in self._store.query(KIND, labels={"subject": subject}))

    def list(
        self, *, subject: str | None = None, kinds: Iterable[str] = ("api", "project")
    ) -> builtins.list[TokenInfo]:
        """Tokens of ``kinds`` (of ``subject`` when given), oldest first. Expired session tokens seen
        on the way are deleted."""
        wanted = set(kinds)
        labels = {"subject": subject} if subject is not None else None
        now = self._clock()
        found = []
        for record in self._store.query(KIND, labels=labels):
            info = _read(record).info
            if info.kind == "session" and info.expired(now):
                self._delete(record.name)
                continue
            if info.kind in wanted:
                found.append(self._with_use(info))
        return sorted(found, key=lambda t: (t.issued, t.id))
