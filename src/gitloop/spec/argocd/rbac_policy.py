"""Argo CD's ``policy.csv``, read into ``PolicyLine``s, and the vocabulary it may use (``RESOURCES``).

``p, subject, resource, action, object, effect`` grants (``allow``) or refuses (``deny``) an action on
objects of a resource; ``g, user-or-group, role`` makes a user or group a member of a role. ``#``
comments and blank lines are skipped, fields are trimmed and may be CSV-quoted (``"a, b"``) as casbin
reads them. Resources and actions are checked against ``RESOURCES`` (globs allowed: ``*``,
``action/*``); every glob is checked to compile. ``BUILTIN_POLICY`` is gitloop's counterpart of Argo
CD's ``builtin-policy.csv``: ``role:readonly``, ``role:admin`` and ``g, admin, role:admin``. The
enforcer (``gitloop.access.rbac``) re-exports all of it through ``gitloop.access.policy``.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from gitloop.errors import SpecError
from gitloop.spec.argocd.rbac_glob import check_glob, glob_match

_CRUD = ("get", "create", "update", "delete")
RESOURCES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "applications": (*_CRUD, "sync", "override", "action/*"),
        "applicationsets": _CRUD,
        "projects": _CRUD,
        "clusters": _CRUD,
        "repositories": _CRUD,
        "accounts": ("get", "update"),
        "logs": ("get",),
        "pipelineruns": ("get", "create", "cancel", "logs"),
        "promotions": ("get", "create", "approve"),
        "server": ("get",),
        "lineage": ("get",),
    }
)
"""Each resource and the actions on it. ``action/*`` stands for Argo CD's resource actions
(``action/<group>/<kind>/<name>``). For ``applications``, ``applicationsets`` and ``logs`` the object
is ``<project>/<name>``."""
PROJECT_SCOPED = ("applications", "applicationsets", "logs")
"""Resources whose object is ``<project>/<name>``."""
EFFECTS = ("allow", "deny")
MAX_POLICY_BYTES = 1024 * 1024
MAX_POLICY_LINES = 20_000
READONLY_ROLE = "role:readonly"
ADMIN_ROLE = "role:admin"


@dataclass(frozen=True)
class PolicyLine:
    """One line of a policy: ``kind`` ``p`` (fields subject, resource, action, object, effect) or ``g``
    (fields member, role); ``source`` is ``file:line``, for messages."""

    kind: str
    fields: tuple[str, ...]
    source: str

    @property
    def subject(self) -> str:
        """The subject of a ``p`` line, the member of a ``g`` line."""
        return self.fields[0]

    def text(self) -> str:
        """The line as policy.csv writes it."""
        return ", ".join((self.kind, *self.fields))


def parse_policy(text: str, *, source: str, first_line: int = 1) -> tuple[PolicyLine, ...]:
    """The lines of the policy.csv ``text``; ``source`` names it in messages and ``first_line`` is the
    line number of the text's first line there (a policy inside a YAML file). ``SpecError`` naming
    ``source:line``, the field and the reason for the first bad line; the text is refused whole when
    over ``MAX_POLICY_BYTES`` or ``MAX_POLICY_LINES``."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_POLICY_BYTES:
        raise SpecError(f"the policy is larger than {MAX_POLICY_BYTES} bytes", file=source)
    rows = text.splitlines()
    if len(rows) > MAX_POLICY_LINES:
        raise SpecError(f"the policy has more than {MAX_POLICY_LINES} lines", file=source)
    found: list[PolicyLine] = []
    for number, row in enumerate(rows, start=first_line):
        stripped = row.strip()
        if not stripped or stripped.startswith("#"):
            continue
        where = f"{source}:{number}"
        found.append(parse_policy_line(stripped, where=where))
    return tuple(found)


def parse_policy_line(row: str, *, where: str) -> PolicyLine:
    """One non-comment line; ``SpecError`` at ``where`` naming the field and the reason."""
    try:
        fields = [cell.strip() for cell in next(csv.reader([row], skipinitialspace=True, strict=True))]
    except (csv.Error, StopIteration) as exc:
        raise SpecError(f"not a CSV line: {exc}", file=where) from exc
    kind, rest = fields[0], tuple(fields[1:])
    if kind == "p":
        _check_p(rest, where)
    elif kind == "g":
        if len(rest) != 2:
            raise SpecError(
                f"a g line has 3 fields (g, user-or-group, role), found {len(fields)}", file=where
            )
        for name, value in zip(("user-or-group", "role"), rest, strict=True):
            if not value:
                raise SpecError("must not be empty", file=where, field=name)
    else:
        raise SpecError(f"unknown line kind {kind!r}: a line starts with p or g", file=where)
    return PolicyLine(kind, rest, where)


def _check_p(rest: tuple[str, ...], where: str) -> None:
    if len(rest) != 5:
        raise SpecError(
            f"a p line has 6 fields (p, subject, resource, action, object, effect), found {len(rest) + 1}",
            file=where,
        )
    _subject, resource, action, _obj, effect = rest
    for name, value in zip(("subject", "resource", "action", "object", "effect"), rest, strict=True):
        if not value:
            raise SpecError("must not be empty", file=where, field=name)
        if name != "effect":
            try:
                check_glob(value)
            except ValueError as exc:
                raise SpecError(f"{value!r} is not a valid glob: {exc}", file=where, field=name) from None
    resources = [name for name in RESOURCES if glob_match(resource, name)]
    if not resources:
        raise SpecError(
            f"unknown resource {resource!r}; known resources: {', '.join(RESOURCES)}",
            file=where,
            field="resource",
        )
    if not any(_action_fits(action, name) for name in resources):
        raise SpecError(
            f"action {action!r} is not valid for {resource}; valid actions: "
            f"{', '.join(sorted({a for name in resources for a in RESOURCES[name]}))}",
            file=where,
            field="action",
        )
    if effect not in EFFECTS:
        raise SpecError(f"effect must be allow or deny, not {effect!r}", file=where, field="effect")


def _action_fits(action: str, resource: str) -> bool:
    """Whether the ``action`` glob names some action of ``resource`` (``action/apps/Deployment/restart``
    is one of ``action/*``)."""
    return any(glob_match(action, known) or glob_match(known, action) for known in RESOURCES[resource])


def _builtin_text() -> str:
    rows = ["# role:readonly: read everything", f"g, {ADMIN_ROLE}, {READONLY_ROLE}"]
    rows += [
        f"p, {READONLY_ROLE}, {name}, get, *, allow" for name, acts in RESOURCES.items() if "get" in acts
    ]
    rows.append(f"p, {READONLY_ROLE}, pipelineruns, logs, *, allow")
    rows.append("# role:admin: every action on every resource")
    rows += [f"p, {ADMIN_ROLE}, {name}, *, *, allow" for name in RESOURCES]
    rows.append(f"g, admin, {ADMIN_ROLE}")
    return "\n".join(rows) + "\n"


BUILTIN_POLICY_CSV = _builtin_text()
"""The built-in policy as policy.csv text (shown by documentation and tests)."""
BUILTIN_POLICY: tuple[PolicyLine, ...] = parse_policy(BUILTIN_POLICY_CSV, source="builtin-policy.csv")


def role_names(lines: tuple[PolicyLine, ...]) -> frozenset[str]:
    """The role names ``lines`` define or grant: ``role:`` subjects of ``p`` lines and roles of ``g``
    lines."""
    found = {line.fields[1] for line in lines if line.kind == "g"}
    found.update(line.subject for line in lines if line.kind == "p" and line.subject.startswith("role:"))
    return frozenset(found)
