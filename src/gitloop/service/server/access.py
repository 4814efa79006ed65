"""The server's access control, composed from the access engine (``gitloop.access``) and the serve config.

Who a request is: ``Authenticator`` (a session or API token, a project role's token, the legacy
``apiTokenFile`` token, or anonymous when ``auth.anonymous`` allows it). Whether they may: Argo CD's RBAC
(``gitloop.access.rbac``) over the built-in policy, the serve config's ``rbac`` policy and the AppProjects'
roles. The policy is ``LivePolicy``: the ``rbac.policyFile`` is read again when it changes and the
projects' roles when the set of projects changes; a policy file that stops validating keeps the last good
policy (logged), so a typo never locks everyone out or lets everyone in. Logins are throttled
(``auth.maxLoginFailures`` per ``auth.loginFailureWindow``) and audited, failed ones too. Token secrets
are returned once and never kept: the store holds their hashes only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from gitloop.access.accounts import Account, Accounts, LoginFailed, LoginThrottled
from gitloop.access.audit import AuditLog
from gitloop.access.authn import Authenticator, Principal
from gitloop.access.policy import PolicyLine, parse_policy
from gitloop.access.projectroles import project_policy
from gitloop.access.rbac import Enforcer
from gitloop.access.throttle import LoginThrottle
from gitloop.access.tokens import TokenInfo, Tokens
from gitloop.errors import GitloopError, UsageError
from gitloop.ports import Store
from gitloop.spec.argocd import AppProject
from gitloop.spec.serve_auth import AuthConfig, RBACConfig

log = logging.getLogger("gitloop.serve.access")

POLICY_CHECK_INTERVAL = 2.0
"""Seconds between two looks at the policy file's modification time."""

Projects = Callable[[], Iterable[AppProject]]

__all__ = ["LivePolicy", "LoginFailed", "LoginThrottled", "ServedAccess"]


class LivePolicy:
    """The enforcer of the moment: built-in lines, the config's policy, the projects' roles."""

    def __init__(
        self,
        rbac: RBACConfig,
        projects: Projects,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rbac = rbac
        self._projects = projects
        self._clock = clock
        self._lock = threading.Lock()
        self._file_lines: tuple[PolicyLine, ...] = ()
        self._file_stamp: tuple[int, int] | None = None
        self._checked = float("-inf")
        self._project_key: object = None
        self._enforcer: Enforcer | None = None
        self._file_lines = rbac.lines  # parsed when the config was read
        if rbac.policy_file is not None:
            self._file_stamp = _stamp(rbac.policy_file)
            self._checked = clock()
        elif rbac.policy_csv and not rbac.lines:
            self._file_lines = parse_policy(rbac.policy_csv, source="rbac.policyCSV")

    def enforcer(self) -> Enforcer:
        """The enforcer for the policy as it is now (rebuilt only when something changed)."""
        with self._lock:
            changed = self._reread_file()
            projects = tuple(self._projects())
            key = tuple((p.name, p.roles) for p in projects)
            if changed or key != self._project_key or self._enforcer is None:
                self._project_key = key
                lines = (*self._file_lines, *project_policy(projects))  # the built-in policy is always in
                self._enforcer = Enforcer(lines, default_role=self._rbac.policy_default)
            return self._enforcer

    def _reread_file(self) -> bool:
        path = self._rbac.policy_file
        now = self._clock()
        if path is None or now - self._checked < POLICY_CHECK_INTERVAL:
            return False
        self._checked = now
        stamp = _stamp(path)
        if stamp == self._file_stamp:
            return False
        self._file_stamp = stamp
        try:
            self._file_lines = _read_policy(path)
        except GitloopError as exc:
            log.warning("rbac.policyFile not applied, the last good policy stays in force: %s", exc)
            return False
        log.info("rbac.policyFile %s read again: %d lines", path, len(self._file_lines))
        return True


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return (found.st_mtime_ns, found.st_size)


def _read_policy(path: Path) -> tuple[PolicyLine, ...]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: rbac.policyFile cannot be read: {exc}") from None
    return parse_policy(text, source=str(path))


@dataclass
class ServedAccess:
    """Authentication, authorization, logins, tokens and the audit trail of one server."""

    accounts: Accounts
    tokens: Tokens
    audit: AuditLog
    authenticator: Authenticator
    policy: LivePolicy
    auth: AuthConfig = field(default_factory=AuthConfig)

    @classmethod
    def build(
        cls,
        store: Store,
        auth: AuthConfig,
        rbac: RBACConfig,
        *,
        legacy_token: bytes | None = None,
        projects: Projects = tuple,
        clock: Callable[[], float] = time.time,
    ) -> ServedAccess:
        throttle = LoginThrottle(auth.max_login_failures, auth.login_failure_window, clock=clock)
        accounts = Accounts(store, clock=clock, throttle=throttle)
        tokens = Tokens(store, clock=clock)
        authenticator = Authenticator(accounts, tokens, anonymous=auth.anonymous, legacy_token=legacy_token)
        return cls(
            accounts, tokens, AuditLog(store, clock=clock), authenticator, LivePolicy(rbac, projects), auth
        )

    def principal(self, credential: str | None) -> Principal | None:
        """Who presents ``credential`` (``None``: nobody may act with it, or without one)."""
        return self.authenticator.principal(credential)

    def allowed(self, principal: Principal, resource: str, action: str, obj: str) -> bool:
        """Whether ``principal`` may do ``action`` on ``resource`` ``obj`` (its token's scope and the policy)."""
        if not principal.permits(resource, action):
            return False
        return self.policy.enforcer().allowed(principal.subject, resource, action, obj)

    def login(self, username: str, password: str, *, source: str) -> tuple[Account, str]:
        """A session token for ``username`` (``LoginFailed``/``LoginThrottled`` otherwise); audited."""
        try:
            account = self.accounts.login(username, password)
        except (LoginFailed, LoginThrottled) as exc:
            self.audit.record(
                user=username,
                action="login.failed",
                object=username,
                source=source,
                outcome="failed: throttled"
                if isinstance(exc, LoginThrottled)
                else "failed: wrong name or password",
            )
            raise
        _info, token = self.tokens.issue(
            account.name, kind="session", expires_in=self.auth.session_duration, description="session"
        )
        self.audit.record(user=account.name, action="login", object=account.name, source=source)
        return account, token

    def logout(self, principal: Principal, *, source: str) -> None:
        """End the session ``principal`` came with (an API token is not ended by a logout)."""
        if principal.kind == "session" and principal.token_id:
            self.tokens.revoke(principal.token_id)
            self.audit.record(
                user=principal.subject, action="logout", object=principal.subject, source=source
            )

    def account_token(
        self, name: str, *, expires_in: float | None, scope: tuple[str, ...], description: str
    ) -> tuple[TokenInfo, str]:
        """A new API token of the account ``name`` (``LookupError`` for an unknown or disabled one)."""
        account = self.accounts.get(name)
        if account is None or not account.enabled:
            raise LookupError(f"no enabled account named {name!r}")
        return self.tokens.issue(
            name, kind="api", expires_in=expires_in, scope=scope, description=description
        )

    def project_token(
        self, subject: str, *, expires_in: float | None, description: str
    ) -> tuple[TokenInfo, str]:
        """A new token acting as the project role ``subject`` (``proj:<project>:<role>``)."""
        return self.tokens.issue(subject, kind="project", expires_in=expires_in, description=description)
