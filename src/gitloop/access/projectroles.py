"""AppProject roles as policy lines: each role's own ``p`` lines (subject ``proj:<project>:<role>``,
checked when the project was read) and ``g, <group>, proj:<project>:<role>`` for each of its groups.
A token issued for a project role acts as that subject."""

from __future__ import annotations

from collections.abc import Iterable

from gitloop.access.policy import PolicyLine
from gitloop.spec.argocd.project import AppProject
from gitloop.spec.argocd.project_roles import role_subject


def project_policy(projects: Iterable[AppProject]) -> tuple[PolicyLine, ...]:
    """The policy lines the ``roles`` of ``projects`` grant, in order."""
    found: list[PolicyLine] = []
    for project in projects:
        where = str(project.origin) if project.origin is not None else f"AppProject {project.name}"
        for role in project.roles:
            found.extend(role.policies)
            subject = role_subject(project.name, role.name)
            found.extend(PolicyLine("g", (group, subject), where) for group in role.groups)
    return tuple(found)
