"""Who may approve a promotion into a manual stage, and when there are enough approvals. Pure: the
composition says which roles the user holds (from the server's RBAC) and who authored the change.

An approval counts per distinct user: a second approval by the same user is accepted and changes
nothing. The author of the change is refused when the gate says ``excludeAuthor``; a user holding none
of the gate's ``roles`` (when it names some) is refused. A refusal says why, for a 403.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from gitloop.spec.gitloop_promotion import ApprovalGate


@dataclass(frozen=True)
class Approval:
    """One approval: the user and when (seconds since the epoch)."""

    user: str
    time: float


def refusal(gate: ApprovalGate, user: str, *, author: str, user_roles: Collection[str]) -> str | None:
    """Why ``user`` may not approve (``None``: they may). ``author`` is the change's author as git has
    it (``Name <email>``, a name or an email; compared case-insensitively with its name, email and
    the email's local part)."""
    if not user:
        return "an approval needs an authenticated user"
    if gate.exclude_author and _is_author(user, author):
        return f"{user} is the author of the change and may not approve it (excludeAuthor)"
    if gate.roles and not set(gate.roles) & set(user_roles):
        return f"{user} holds none of the roles allowed to approve: {', '.join(gate.roles)}"
    return None


def _is_author(user: str, author: str) -> bool:
    """Whether ``user`` is ``author`` (``Name <email>``, a name or an email): the same name, email, or
    email local part, case-insensitively."""
    if not author:
        return False
    name, _, rest = author.partition("<")
    email = rest.rstrip(">").strip() if rest else (author if "@" in author else "")
    identities = {name.strip().casefold(), email.casefold(), email.split("@", 1)[0].casefold()} - {""}
    return user.casefold() in identities


def approvers(approvals: Iterable[Approval]) -> tuple[str, ...]:
    """The distinct users who approved, in the order of their first approval."""
    seen: dict[str, None] = {}
    for approval in approvals:
        seen.setdefault(approval.user, None)
    return tuple(seen)


def enough(gate: ApprovalGate, approvals: Iterable[Approval]) -> bool:
    """Whether ``gate.required_approvals`` distinct users approved."""
    return len(approvers(approvals)) >= gate.required_approvals
