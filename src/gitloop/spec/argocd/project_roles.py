"""An AppProject's ``spec.roles``: named roles whose policies apply to the project's own objects.

Each role has a ``name`` (letters, digits, ``-`` and ``_``, starting and ending with a letter or
digit), a ``description``, ``policies`` (policy.csv ``p`` lines) and ``groups`` (members of the role);
``jwtTokens`` (Argo CD's record of the tokens it issued) is accepted and ignored. The checks are Argo
CD's project validation: a policy's subject is ``proj:<project>:<role>``, its resource one of
``applications``, ``applicationsets``, ``logs``, its object ``<project>/<name>`` or
``<project>/<namespace>/<name>`` (globs allowed); errors name the project, the role and the policy
index. ``AppProject.roles`` holds them (``gitloop.spec.argocd.project``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gitloop.errors import SpecError
from gitloop.spec.argocd.rbac_policy import PROJECT_SCOPED, PolicyLine, parse_policy_line
from gitloop.spec.fields import Node

_ROLE_FIELDS = ("name", "description", "policies", "groups", "jwtTokens")
_ROLE_NAME = re.compile(r"[a-zA-Z0-9]([-_a-zA-Z0-9]*[a-zA-Z0-9])?")


@dataclass(frozen=True)
class ProjectRole:
    """A role of an AppProject: its ``p`` lines (subject ``proj:<project>:<role>``) and the groups
    (or users) that hold it."""

    name: str
    description: str = ""
    policies: tuple[PolicyLine, ...] = ()
    groups: tuple[str, ...] = ()


def role_subject(project: str, role: str) -> str:
    """The subject a project role's policies and tokens act as."""
    return f"proj:{project}:{role}"


def parse_roles(spec: Node, project: str) -> tuple[ProjectRole, ...]:
    """The ``roles`` of an AppProject's ``spec``; ``SpecError`` naming the project, role and field."""
    found: list[ProjectRole] = []
    for item in spec.items("roles"):
        item.require_map().only(_ROLE_FIELDS)
        name = item.string("name", required=True)
        if not _ROLE_NAME.fullmatch(name):
            raise item.error(
                f"project {project}: role name {name!r} is invalid: letters, digits, '-' and '_', "
                "starting and ending with a letter or digit",
                "name",
            )
        if any(role.name == name for role in found):
            raise item.error(f"project {project}: role {name!r} is defined twice", "name")
        policies = tuple(
            _policy(policy, project, name, index) for index, policy in enumerate(item.items("policies"))
        )
        groups = item.strings("groups")
        for index, group in enumerate(groups):
            if not group.strip() or "," in group or group != group.strip():
                raise item.error(
                    f"project {project}: role {name}: group {group!r} is invalid (empty, a comma, or "
                    "spaces around it)",
                    f"groups[{index}]",
                )
        item.items("jwtTokens")
        found.append(ProjectRole(name, item.string("description"), policies, groups))
    return tuple(found)


def _policy(node: Node, project: str, role: str, index: int) -> PolicyLine:
    text = node.as_str().strip()
    line = node.origin.line(node.path)
    where = f"{node.origin.file}:{line}" if line else node.origin.file
    prefix = f"project {project}: role {role}: policies[{index}]"
    try:
        policy = parse_policy_line(text, where=where)
    except SpecError as exc:
        raise SpecError(f"{where}: {prefix}: {str(exc).removeprefix(where + ': ')}") from exc
    if policy.kind != "p":
        raise SpecError(f"{where}: {prefix}: a role's policy is a p line, not {policy.kind!r}")
    subject, resource, _action, obj, _effect = policy.fields
    expected = role_subject(project, role)
    if subject != expected:
        raise SpecError(f"{where}: {prefix}: the subject must be {expected!r}, not {subject!r}")
    if resource not in PROJECT_SCOPED:
        raise SpecError(
            f"{where}: {prefix}: resource {resource!r} cannot be granted by a project role; "
            f"use one of {', '.join(PROJECT_SCOPED)}"
        )
    if not re.fullmatch(re.escape(project) + r"/[*\w.-]+(/[*\w.-]+)?", obj, re.ASCII):
        raise SpecError(
            f"{where}: {prefix}: the object must be '{project}/*', '{project}/<app>' or "
            f"'{project}/<namespace>/<app>', not {obj!r}"
        )
    return policy
