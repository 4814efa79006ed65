"""App of Apps: the ``argoproj.io`` objects of a parent Application's manifests, split off and compared. Pure.

As Argo CD does when a parent applies Applications to its own namespace, a parent's rendered
``argoproj.io/v1alpha1`` ``Application``, ``AppProject`` and ``ApplicationSet`` objects are not applied
to the destination cluster: they become the engine's own objects, owned ``app:<parent>``
(``owner(parent)``). ``split`` takes them out of the desired manifests (before placement, planning and
comparison) and parses them with the one Argo CD parser; a child that does not validate is a problem
naming the child and its field (the parent's refresh turns it into a ``ComparisonError`` and nothing
of its children changes). Two children of one kind and name keep the last, with a
``RepeatedResourceWarning``, as resources do.

``compare_children`` makes each child one of the parent's resources (group ``argoproj.io``, namespace
as written, ``argocd`` by default): ``Synced`` when the registered child has the same document and the
parent's owner, ``OutOfSync`` when it is missing, different or registered by another owner (then a
``SharedResourceWarning`` names that owner: it is not taken over), and each one the parent registered
that git no longer holds is ``OutOfSync`` with ``requiresPruning``. A child Application's health is its
own Application health (Progressing until the engine has compared it, as the Application health rule
says of an Application without ``status.health``); AppProjects and ApplicationSets have none.
``fold`` adds them to the parent's comparison: they count towards its sync status like any resource,
and a child's health towards the parent's except Missing and Unknown ones (the Application rule of
``gitloop.gitops.comparison``).

The engine's side — what the comparison reads, what a sync registers — is ``gitloop.gitops.parents``;
the sync driver reaches it through the ``ChildRegistrar`` port.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from gitloop.errors import SpecError
from gitloop.gitops import health
from gitloop.gitops.applications import document
from gitloop.gitops.comparison import Comparison
from gitloop.gitops.status import Condition, ConditionType, ResourceStatus
from gitloop.gitops.sync.selection import ResourceSelector
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.resources import Manifest, ResourceKey
from gitloop.model.sync import SyncStatus
from gitloop.spec.argocd import API_VERSION, Application, AppProject, parse_apps_text

GROUP = "argoproj.io"
KINDS = frozenset({"Application", "AppProject", "ApplicationSet"})
NAMESPACE = "argocd"
"""Argo CD's own namespace: where a child written without one lives."""


def owner(parent: str) -> str:
    """The owner string of the children the Application ``parent`` registers."""
    return f"app:{parent}"


def is_child(key: ResourceKey) -> bool:
    """Whether ``key`` names an object the engine keeps itself (never applied to a cluster)."""
    return key.group == GROUP and key.kind in KINDS


@dataclass(frozen=True)
class Children:
    """The children in one parent's manifests, validated; ``problems`` lists the ones that are not."""

    apps: tuple[Application, ...] = ()
    projects: tuple[AppProject, ...] = ()
    appsets: tuple[Manifest, ...] = ()
    """ApplicationSets as written (the ApplicationSet controller parses them)."""
    keys: Mapping[tuple[str, str], ResourceKey] = field(default_factory=dict)
    """The resource key of each child by ``(kind, name)``."""
    problems: tuple[str, ...] = ()
    repeated: tuple[str, ...] = ()
    manifests: tuple[Manifest, ...] = ()
    """Every child as written, in the order of the manifests."""

    def key(self, kind: str, name: str) -> ResourceKey:
        return self.keys.get((kind, name)) or ResourceKey(GROUP, kind, NAMESPACE, name)


class ChildRegistrar(Protocol):
    """The port through which a parent's sync registers its children (``gitloop.gitops.parents``)."""

    async def register(self, parent: str, children: Children, *, prune: bool) -> None:
        """Make the children of ``parent`` exactly ``children``; those no longer given go only with
        ``prune``."""
        ...


def selected(children: Children, selectors: Sequence[ResourceSelector]) -> Children:
    """The children a sync restricted to ``selectors`` takes part in (all when there are none)."""
    if not selectors:
        return children

    def chosen(kind: str, name: str) -> bool:
        return any(s.matches(children.key(kind, name)) for s in selectors)

    return replace(
        children,
        apps=tuple(a for a in children.apps if chosen("Application", a.name)),
        projects=tuple(p for p in children.projects if chosen("AppProject", p.name)),
        appsets=tuple(m for m in children.appsets if chosen("ApplicationSet", _name(m))),
    )


def _name(obj: Manifest) -> str:
    meta = obj.get("metadata")
    return str(meta.get("name") or "") if isinstance(meta, dict) else ""


def split(desired: Sequence[Manifest], *, parent: str = "") -> tuple[list[Manifest], Children]:
    """The manifests to apply, and the children among ``desired`` (``parent`` names the Application in
    a problem's text)."""
    resources: list[Manifest] = []
    written: list[Manifest] = []
    by_key: dict[tuple[str, str], Application | AppProject | Manifest] = {}
    keys: dict[tuple[str, str], ResourceKey] = {}
    problems: list[str] = []
    repeated: list[str] = []
    where = f"manifests of Application {parent}" if parent else "manifests"
    for obj in desired:
        key = ResourceKey.of(obj)
        if not is_child(key):
            resources.append(obj)
            continue
        written.append(obj)
        found: Application | AppProject | Manifest = obj
        if key.kind != "ApplicationSet":
            try:
                parsed = parse_apps_text(json.dumps(obj), where)
            except SpecError as exc:
                problems.append(str(exc))
                continue
            candidates: list[Application | AppProject] = [*parsed.apps.values(), *parsed.projects.values()]
            found = candidates[0]
        elif str(obj.get("apiVersion")) != API_VERSION or not _name(obj):
            why = "metadata.name is required" if not _name(obj) else f"apiVersion must be {API_VERSION}"
            problems.append(f"ApplicationSet {key.name or '(no name)'}: {where}: {why}")
            continue
        ident = (key.kind, key.name)
        if ident in by_key:
            repeated.append(f"{key.kind}/{key.name}")
        by_key[ident] = found
        keys[ident] = replace(key, namespace=key.namespace or NAMESPACE)
    children = Children(
        apps=tuple(c for c in by_key.values() if isinstance(c, Application)),
        projects=tuple(c for c in by_key.values() if isinstance(c, AppProject)),
        appsets=tuple(
            c for (kind, _), c in by_key.items() if kind == "ApplicationSet" and isinstance(c, dict)
        ),
        keys=keys,
        problems=tuple(problems),
        repeated=tuple(dict.fromkeys(repeated)),
        manifests=tuple(written),
    )
    return resources, children


class Registered(Protocol):
    """What a comparison reads of the engine's set (``gitloop.gitops.applications.Applications``)."""

    @property
    def apps(self) -> Mapping[str, Application]: ...

    @property
    def projects(self) -> Mapping[str, AppProject]: ...

    def owner_of(self, name: str) -> str | None: ...

    def project_owner(self, name: str) -> str | None: ...

    def owned(self, owner: str) -> list[str]: ...

    def owned_projects(self, owner: str) -> list[str]: ...


def _same_project(a: AppProject, b: AppProject) -> bool:
    return replace(a, origin=None) == replace(b, origin=None)


def compare_children(
    parent: str,
    children: Children,
    registered: Registered,
    health_of: Callable[[str], HealthResult | None],
    appsets: Mapping[str, Manifest],
) -> tuple[list[ResourceStatus], list[Condition]]:
    """The resource statuses of ``parent``'s children and the conditions they raise. ``health_of`` is a
    registered Application's health (``None`` before its first comparison); ``appsets`` the
    ApplicationSets the parent's last sync handed over, by name."""
    mine = owner(parent)
    statuses: list[ResourceStatus] = []
    conditions = [
        Condition(ConditionType.REPEATED_RESOURCE_WARNING, f"Resource {name} appeared more than once")
        for name in children.repeated
    ]

    def add(kind: str, name: str, synced: bool, held: str | None, result: HealthResult | None) -> None:
        key = children.key(kind, name)
        message = ""
        if held is not None and held != mine:
            message = f"{kind} {name} is registered by {held} and is not taken over"
            conditions.append(Condition(ConditionType.SHARED_RESOURCE_WARNING, message))
        status = SyncStatus.SYNCED if synced and held == mine else SyncStatus.OUT_OF_SYNC
        statuses.append(ResourceStatus(key, API_VERSION, status, result, message=message))

    def app_health(name: str) -> HealthResult:
        return health_of(name) or HealthResult(HealthStatus.PROGRESSING)

    for app in children.apps:
        before = registered.apps.get(app.name)
        held = registered.owner_of(app.name)
        same = before is not None and document(before) == document(app)
        result = app_health(app.name) if held == mine else HealthResult(HealthStatus.MISSING)
        add("Application", app.name, same, held, result)
    for project in children.projects:
        known = registered.projects.get(project.name)
        same = known is not None and _same_project(known, project)
        add("AppProject", project.name, same, registered.project_owner(project.name), None)
    for obj in children.appsets:
        name = _name(obj)
        add("ApplicationSet", name, appsets.get(name) == obj, mine, None)
    given = {(k, n) for k, n in children.keys}
    pruned = [
        *(("Application", n) for n in registered.owned(mine)),
        *(("AppProject", n) for n in registered.owned_projects(mine)),
        *(("ApplicationSet", n) for n in appsets),
    ]
    for kind, name in pruned:
        if (kind, name) in given:
            continue
        namespace = registered.apps[name].namespace if kind == "Application" else NAMESPACE
        own = app_health(name) if kind == "Application" else None
        key = ResourceKey(GROUP, kind, namespace, name)
        statuses.append(ResourceStatus(key, API_VERSION, SyncStatus.OUT_OF_SYNC, own, requires_pruning=True))
    return statuses, conditions


def fold(
    comparison: Comparison, statuses: Sequence[ResourceStatus], conditions: Sequence[Condition]
) -> Comparison:
    """``comparison`` with the children's ``statuses`` among its resources, counted in its sync status
    and health, and their ``conditions``."""
    if not statuses and not conditions:
        return comparison
    resources = sorted(
        [*comparison.resources, *statuses],
        key=lambda s: (s.key.group, s.key.kind, s.key.namespace, s.key.name),
    )
    sync = comparison.sync_status
    if sync is SyncStatus.SYNCED and any(s.status is not SyncStatus.SYNCED for s in statuses):
        sync = SyncStatus.OUT_OF_SYNC
    counted = [
        s.health.status
        for s in statuses
        if s.health is not None and s.health.status not in (HealthStatus.MISSING, HealthStatus.UNKNOWN)
    ]
    worst = health.worst([comparison.health.status, *counted])
    result = comparison.health
    if worst is not comparison.health.status:
        message = next((s.health.message for s in statuses if s.health and s.health.status is worst), "")
        result = HealthResult(worst, message)
    return replace(
        comparison,
        resources=tuple(resources),
        sync_status=sync,
        health=result,
        conditions=(*comparison.conditions, *conditions),
    )
