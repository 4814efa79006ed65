"""Who is asking: a request's credential turned into a ``Principal``, or refused.

The credential is the raw token (the HTTP layer strips ``Bearer `` or reads the cookie). No credential
is the anonymous principal when anonymous access is on, else refused; the serve config's legacy
``apiTokenFile`` token acts as ``admin``; a session or API token acts as its account while the account
exists and is enabled; a project token acts as its AppProject role ``proj:<project>:<role>``. A
credential that does not verify is refused, never treated as anonymous.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from gitloop.access.accounts import ADMIN, Accounts
from gitloop.access.tokens import Tokens, scope_permits

PRINCIPAL_KINDS = ("anonymous", "session", "api", "project", "apiTokenFile")


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: ``subject`` is the account name, ``proj:<project>:<role>``, or ``""``
    for anonymous; ``scope`` narrows what its token may do (empty: whatever the subject may)."""

    subject: str
    kind: str
    token_id: str = ""
    scope: tuple[str, ...] = ()

    @property
    def anonymous(self) -> bool:
        """Whether no credential was given."""
        return self.kind == "anonymous"

    def permits(self, resource: str, action: str) -> bool:
        """Whether the token's scope allows ``action`` on ``resource`` (RBAC decides the rest)."""
        return scope_permits(self.scope, resource, action)


ANONYMOUS = Principal(subject="", kind="anonymous")


class Authenticator:
    """Turns credentials into principals against ``accounts`` and ``tokens``."""

    def __init__(
        self,
        accounts: Accounts,
        tokens: Tokens,
        *,
        anonymous: bool,
        legacy_token: bytes | None = None,
    ) -> None:
        self._accounts = accounts
        self._tokens = tokens
        self._anonymous = anonymous
        self._legacy = legacy_token or None

    def principal(self, credential: str | None) -> Principal | None:
        """The caller behind ``credential``, or ``None`` when it is refused."""
        if not credential:
            return ANONYMOUS if self._anonymous else None
        if self._legacy is not None and hmac.compare_digest(credential.strip().encode("utf-8"), self._legacy):
            return Principal(subject=ADMIN, kind="apiTokenFile")
        info = self._tokens.authenticate(credential)
        if info is None:
            return None
        if info.kind != "project":
            account = self._accounts.get(info.subject)
            if account is None or not account.enabled:
                return None
        return Principal(subject=info.subject, kind=info.kind, token_id=info.id, scope=info.scope)


__all__ = ["ANONYMOUS", "PRINCIPAL_KINDS", "Authenticator", "Principal"]
