"""Local account names, validated as Argo CD validates its local users: a lowercase DNS-label-like name
that can never be mistaken for a role (``role:``), a project role (``proj:``) or split a policy line."""

from __future__ import annotations

import re

from gitloop.errors import UsageError

MAX_LENGTH = 63
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$")
_RESERVED_PREFIXES = ("proj:", "role:")


def validate_username(name: str) -> str:
    """``name`` when it may name a local account; ``UsageError`` naming it and the rule it breaks."""
    if not name:
        raise UsageError("account name: must not be empty")
    if name.startswith(_RESERVED_PREFIXES):
        raise UsageError(
            f"account name {name!r}: must not start with 'proj:' or 'role:' (reserved for roles)"
        )
    for bad, what in ((":", "a colon"), (",", "a comma"), (" ", "a space")):
        if bad in name:
            raise UsageError(f"account name {name!r}: must not contain {what}")
    if len(name) > MAX_LENGTH:
        raise UsageError(f"account name {name!r}: at most {MAX_LENGTH} characters (has {len(name)})")
    if not _NAME.fullmatch(name):
        raise UsageError(
            f"account name {name!r}: lowercase letters, digits, '-', '_' and '.' only, "
            "starting and ending with a letter or digit"
        )
    return name
