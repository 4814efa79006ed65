"""Who may do what: Argo CD's RBAC model enforced with casbin over ``PolicyLine``s.

The model (written here, given to casbin as text) is Argo CD's: a request is (subject, resource,
action, object); a ``p`` line is (subject, resource, action, object, effect); ``g`` lines make
members of roles, transitively; the effect is "some allow and no deny"; the matcher matches the
subject through the roles and the resource, action and object with Argo CD's glob. ``allowed``
follows Argo CD's ``enforce``: the default role is asked first and, when it allows, the request is
allowed; otherwise the subject is asked (the empty subject, anonymous, gets the default role only).
The built-in policy (``role:readonly``, ``role:admin``, ``g, admin, role:admin``) is always present.

casbin evaluates its matcher once per ``p`` line, so each request is decided by a casbin enforcer
holding only the lines that can apply: those whose resource glob matches the request's resource and
whose subject is the request's subject or one of its roles, with the ``g`` lines leading there (built
on first use per resource and subject, bounded). A request for a resource outside the vocabulary is
refused. casbin's enforcer is not safe
for concurrent use, so calls hold a lock; answers are cached per request (bounded), the cache
belonging to one ``Enforcer`` whose policy never changes: a new policy is a new ``Enforcer``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

import casbin  # type: ignore[import-untyped]
from casbin.model import Model  # type: ignore[import-untyped]

from gitloop.access.glob import glob_match
from gitloop.access.policy import BUILTIN_POLICY, RESOURCES, PolicyLine
from gitloop.access.projectroles import project_policy
from gitloop.spec.argocd.project import AppProject

MODEL_TEXT = """
[request_definition]
r = sub, res, act, obj

[policy_definition]
p = sub, res, act, obj, eft

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = g(r.sub, p.sub) && argoGlob(r.res, p.res) && argoGlob(r.act, p.act) && argoGlob(r.obj, p.obj)
"""
CACHE_SIZE = 10_000
"""Answers kept per enforcer (least recently used dropped first)."""
PARTITIONS = 1024
"""casbin enforcers kept per (resource, subject) (least recently used dropped first)."""
MAX_ROLE_DEPTH = 10
"""How many ``g`` hops casbin follows from a subject to a role."""


def _argo_glob(request: str, pattern: str) -> bool:
    """casbin's matcher function: the request value against the policy's glob (a malformed glob,
    refused by the parser, matches nothing)."""
    try:
        return glob_match(pattern, request)
    except ValueError:
        return False


class Enforcer:
    """Answers ``allowed(subject, resource, action, object)`` for a fixed policy: the built-in policy,
    ``lines`` and (``with_projects``) the roles of AppProjects. ``default_role`` (Argo CD's
    ``policy.default``): a role every request has, anonymous ones included."""

    def __init__(self, lines: Iterable[PolicyLine], *, default_role: str = "") -> None:
        self.lines: tuple[PolicyLine, ...] = tuple(lines)
        self.default_role = default_role
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, str, str, str], bool] = OrderedDict()
        every = (*BUILTIN_POLICY, *self.lines)
        policy = _unique([list(line.fields) for line in every if line.kind == "p"])
        groups = _unique([list(line.fields) for line in every if line.kind == "g"])
        self._groups = groups
        self._by_resource = {
            resource: [row for row in policy if _argo_glob(resource, row[1])] for resource in RESOURCES
        }
        self._roles = _casbin([], groups)
        self._partitions: OrderedDict[tuple[str, str], tuple[casbin.Enforcer, list[list[str]]]] = (
            OrderedDict()
        )

    def with_projects(self, projects: Iterable[AppProject]) -> Enforcer:
        """A new enforcer with this one's lines and default role plus the projects' roles
        (``proj:<project>:<role>`` policies and ``g, <group>, proj:<project>:<role>``)."""
        return Enforcer((*self.lines, *project_policy(projects)), default_role=self.default_role)

    def allowed(self, subject: str, resource: str, action: str, obj: str) -> bool:
        """Whether ``subject`` (``""``: anonymous) may do ``action`` on ``obj`` of ``resource``. For
        applications, applicationsets and logs ``obj`` is ``<project>/<name>``."""
        key = (subject, resource, action, obj)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
            answer = self._decide(subject, resource, action, obj)
            self._cache[key] = answer
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
            return answer

    def _decide(self, subject: str, resource: str, action: str, obj: str) -> bool:
        if resource not in self._by_resource:
            return False
        role = self.default_role
        if role and self._ask(role, resource, action, obj):
            return True
        return bool(subject) and self._ask(subject, resource, action, obj)

    def _ask(self, subject: str, resource: str, action: str, obj: str) -> bool:
        """casbin's answer, asked only when some line of the subject can match action and object
        (without one casbin would find no allow: the matcher needs those globs to match)."""
        enforcer, rows = self._partition(resource, subject)
        if not any(_argo_glob(action, row[2]) and _argo_glob(obj, row[3]) for row in rows):
            return False
        return bool(enforcer.enforce(subject, resource, action, obj))

    def _partition(self, resource: str, subject: str) -> tuple[casbin.Enforcer, list[list[str]]]:
        """The casbin enforcer holding the lines that can apply to ``subject`` on ``resource``: the
        ``p`` lines of the subject and its roles, and the ``g`` lines leading there (casbin decides on
        these exactly as on the whole policy, as no other line can match)."""
        key = (resource, subject)
        found = self._partitions.get(key)
        if found is not None:
            self._partitions.move_to_end(key)
            return found
        reach = {subject, *self._roles.get_implicit_roles_for_user(subject)}
        policy = [row for row in self._by_resource[resource] if row[0] in reach]
        found = (_casbin(policy, [row for row in self._groups if row[0] in reach]), policy)
        self._partitions[key] = found
        if len(self._partitions) > PARTITIONS:
            self._partitions.popitem(last=False)
        return found

    def roles_of(self, subject: str) -> tuple[str, ...]:
        """The roles ``subject`` holds through ``g`` lines, transitively (sorted)."""
        if not subject:
            return ()
        with self._lock:
            return tuple(sorted(self._roles.get_implicit_roles_for_user(subject)))


def _casbin(policy: list[list[str]], groups: list[list[str]]) -> casbin.Enforcer:
    """A casbin enforcer of the model over ``policy`` (``p`` rows) and ``groups`` (``g`` rows)."""
    model = Model()
    model.load_model_from_text(MODEL_TEXT)
    enforcer = casbin.Enforcer(model, enable_log=False)
    enforcer.add_function("argoGlob", _argo_glob)
    enforcer.get_role_manager().max_hierarchy_level = MAX_ROLE_DEPTH
    if policy:
        enforcer.get_model().add_policies("p", "p", policy)
    if groups:
        enforcer.get_model().add_policies("g", "g", groups)
    enforcer.build_role_links()
    return enforcer


def _unique(rows: list[list[str]]) -> list[list[str]]:
    """``rows`` without repeats (casbin refuses a batch holding the same rule twice)."""
    seen: set[tuple[str, ...]] = set()
    found = []
    for row in rows:
        if tuple(row) not in seen:
            seen.add(tuple(row))
            found.append(row)
    return found
