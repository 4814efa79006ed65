"""The ``auth`` and ``rbac`` fields of a ``ServeConfig`` (``gitloop.spec.serveconfig``).

``auth: {anonymous, sessionDuration, maxLoginFailures, loginFailureWindow}``: whether requests without
credentials act with ``rbac.policyDefault`` (Argo CD's ``users.anonymous.enabled``), how long a login
session lasts, and after how many failed logins within the window a user is throttled (Argo CD: 5 in
300 s). ``rbac: {policyFile | policyCSV, policyDefault}``: Argo CD's ``policy.csv`` and
``policy.default``. The policy is read and checked here, so a bad line stops ``gitloop serve`` with a
``SpecError`` naming ``FILE:line``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gitloop.errors import SpecError
from gitloop.spec.argocd.rbac_policy import (
    BUILTIN_POLICY,
    MAX_POLICY_BYTES,
    PolicyLine,
    parse_policy,
    role_names,
)
from gitloop.spec.fields import Node

DEFAULT_SESSION_DURATION = 86400.0
DEFAULT_MAX_LOGIN_FAILURES = 5
DEFAULT_LOGIN_FAILURE_WINDOW = 300.0


@dataclass(frozen=True)
class AuthConfig:
    """``auth``: ``anonymous`` requests act with the default role (else they get 401); sessions last
    ``session_duration`` seconds; ``max_login_failures`` failed logins within ``login_failure_window``
    seconds throttle the user."""

    anonymous: bool = False
    session_duration: float = DEFAULT_SESSION_DURATION
    max_login_failures: int = DEFAULT_MAX_LOGIN_FAILURES
    login_failure_window: float = DEFAULT_LOGIN_FAILURE_WINDOW


@dataclass(frozen=True)
class RBACConfig:
    """``rbac``: the policy (from ``policy_file`` or ``policy_csv``; ``lines`` holds it parsed, built-in
    lines not included) and ``policy_default``, the role every request has (``""``: none)."""

    policy_file: Path | None = None
    policy_csv: str = ""
    policy_default: str = ""
    lines: tuple[PolicyLine, ...] = ()


def parse_auth(node: Node) -> AuthConfig:
    """``node``'s ``auth`` (the defaults without one)."""
    found = node.child("auth")
    if found is None:
        return AuthConfig()
    found.only(("anonymous", "sessionDuration", "maxLoginFailures", "loginFailureWindow"))
    session = _positive(found, "sessionDuration")
    window = _positive(found, "loginFailureWindow")
    return AuthConfig(
        anonymous=found.boolean("anonymous"),
        session_duration=DEFAULT_SESSION_DURATION if session is None else session,
        max_login_failures=found.integer("maxLoginFailures", DEFAULT_MAX_LOGIN_FAILURES, minimum=1),
        login_failure_window=DEFAULT_LOGIN_FAILURE_WINDOW if window is None else window,
    )


def _positive(node: Node, key: str) -> float | None:
    seconds = node.duration(key)
    if seconds == 0:
        raise node.field(key).error("must be more than 0")
    return seconds


def parse_rbac(node: Node, file_of: Callable[[Node], Path]) -> RBACConfig:
    """``node``'s ``rbac`` (no policy without one); ``file_of`` makes a path field absolute (relative
    to the config file), checking that it is an existing file."""
    found = node.child("rbac")
    if found is None:
        return RBACConfig()
    found.only(("policyFile", "policyCSV", "policyDefault"))
    if found.has("policyFile") and found.has("policyCSV"):
        raise found.field("policyCSV").error("give either policyFile or policyCSV, not both")
    policy_file: Path | None = None
    csv_text = ""
    lines: tuple[PolicyLine, ...] = ()
    file_node = found.child("policyFile")
    if file_node is not None:
        policy_file = file_of(file_node)
        lines = parse_policy(_read_policy(policy_file, file_node), source=str(policy_file))
    csv_node = found.child("policyCSV")
    if csv_node is not None:
        csv_text = csv_node.as_str()
        line = csv_node.origin.line(csv_node.path) or 1
        first = line + 1 if "\n" in csv_text.rstrip("\n") or csv_text.endswith("\n") else line
        lines = parse_policy(csv_text, source=csv_node.origin.file, first_line=first)
    default = found.string("policyDefault").strip()
    if default:
        if not default.startswith("role:") or default == "role:":
            raise found.field("policyDefault").error(f"must be a role name (role:...), not {default!r}")
        known = role_names((*BUILTIN_POLICY, *lines))
        if default not in known:
            raise found.field("policyDefault").error(
                f"{default} is not a role of the policy; roles: {', '.join(sorted(known))}"
            )
    return RBACConfig(policy_file, csv_text, default, lines)


def _read_policy(path: Path, node: Node) -> str:
    """The policy file's text, refused before reading when over the policy size limit."""
    try:
        size = path.stat().st_size
        if size > MAX_POLICY_BYTES:
            raise node.error(f"{path} is larger than {MAX_POLICY_BYTES} bytes")
        with path.open("rb") as handle:
            data = handle.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise node.error(f"{path}: cannot be read: {exc.strerror}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"not UTF-8 text (byte {exc.start})", file=str(path)) from exc
