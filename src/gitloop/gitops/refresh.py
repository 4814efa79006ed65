"""Refresh one Application: git → revisions → manifests → live state → comparison → status.

Each step that can fail becomes a condition rather than an exception, so one broken Application
never stops the others (Argo CD's conditions):

- ``InvalidSpecError``: the project refuses the source, the destination or the kind of a desired
  resource (``clusterResourceWhitelist`` and the other resource lists), a sync option or an
  ``ignoreDifferences`` rule does not validate, the destination cluster is unknown;
- ``ComparisonError``: git (unreachable repository, unknown revision), rendering (the tool's own
  message: malformed YAML with file and line, a failing ``kustomize build`` or ``helm template``), a
  kind the cluster does not serve, a live state that could not be read (cluster unreachable), or an
  App of Apps child (``argoproj.io`` Application, AppProject) that does not validate.

An App of Apps parent's children are split off the rendered manifests before placement
(``gitloop.gitops.appofapps``): they are never applied to the cluster; ``children`` (the engine's
``Parents.compare``) makes them resources of the parent on every refresh, and ``Refreshed.children``
carries them to the sync driver, which registers them.

With an error the sync status and health are Unknown and the resources are those last known.
Unchanged inputs are not recomputed: rendering is cached by ``ManifestSource``, placement by the
render key, and the whole comparison is reused while neither the render key nor the Application's
live objects (``LiveCache.version``) changed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from gitloop.errors import ClusterError, GitError, GitloopError, RenderError, SpecError, UsageError
from gitloop.gitops import appofapps
from gitloop.gitops.appofapps import Children
from gitloop.gitops.comparison import Comparison, DiffMemo, compare_app
from gitloop.gitops.destinations import IN_CLUSTER_NAME, server_url
from gitloop.gitops.diff import CompareOptions, IgnoreDifferences, IgnoreRule, ResourceDiff, StatusPolicy
from gitloop.gitops.observe import ClusterView, Placed, digest
from gitloop.gitops.source import ManifestSource, Rendered
from gitloop.gitops.status import AppStatus, Condition, ConditionType, ResourceStatus
from gitloop.gitops.sync import SyncOptions, parse_sync_options
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.images import images_in
from gitloop.model.resources import Manifest, ResourceKey
from gitloop.model.sync import SyncStatus
from gitloop.spec.argocd import IN_CLUSTER, Application, ApplicationSource, AppProject, project_problems

ViewFor = Callable[[Application], ClusterView]
"""The cluster view of an Application's destination; ``UsageError`` for an unknown destination."""
CompareChildren = Callable[[str, Children], tuple[list[ResourceStatus], list[Condition]]]
"""A parent's children as its resource statuses, and their conditions (``Parents.compare``)."""


@dataclass(frozen=True)
class Refreshed:
    """A refresh's outcome: the new status, and the comparison (``None`` after an error)."""

    status: AppStatus
    comparison: Comparison | None = None
    view: ClusterView | None = None
    options: SyncOptions = field(default_factory=SyncOptions)
    placed: Placed | None = None
    children: Children = field(default_factory=Children)


@dataclass
class _Memo:
    placed_key: str = ""
    placed: Placed | None = None
    compare_key: tuple[object, ...] = ()
    comparison: Comparison | None = None
    diffs: dict[tuple[object, ...], ResourceDiff] = field(default_factory=dict)
    split_key: str = ""
    split: tuple[Rendered, Children] | None = None


def ignore_rules(app: Application) -> IgnoreDifferences:
    """The Application's ``ignoreDifferences``, compiled (``SpecError`` for a bad pointer or jq path)."""
    return IgnoreDifferences(
        IgnoreRule(
            group=d.group,
            kind=d.kind,
            name=d.name,
            namespace=d.namespace,
            json_pointers=d.json_pointers,
            jq_path_expressions=d.jq_path_expressions,
            managed_fields_managers=d.managed_fields_managers,
        )
        for d in app.ignore_differences
    )


class _NotPermitted(GitloopError):
    """Desired resources of kinds the project does not permit."""


def _permitted(project: AppProject, obj: Manifest, cluster_scoped: frozenset[tuple[str, str]]) -> bool:
    key = ResourceKey.of(obj)
    return project.permits_kind(key.group, key.kind, namespaced=(key.group, key.kind) not in cluster_scoped)


def _failed(previous: AppStatus, kind: ConditionType, message: str, now: float) -> Refreshed:
    status = replace(
        previous,
        sync_status=SyncStatus.UNKNOWN,
        health=HealthResult(HealthStatus.UNKNOWN, message),
        reconciled_at=now,
    )
    return Refreshed(status.with_conditions([Condition(kind, message)], now))


class Refresher:
    """Computes Applications' statuses; keeps per-Application memos of unchanged inputs."""

    def __init__(
        self,
        sources: ManifestSource,
        view_for: ViewFor,
        project_for: Callable[[str], AppProject | None],
        *,
        options: CompareOptions | None = None,
        clock: Callable[[], float] = time.time,
        children: CompareChildren | None = None,
    ) -> None:
        self.sources = sources
        self._children = children
        self._view_for = view_for
        self._project_for = project_for
        self._options = options
        self._clock = clock
        self._memos: dict[str, _Memo] = {}

    def view_for(self, app: Application) -> ClusterView:
        """The cluster view of ``app``'s destination (``UsageError`` if it is unknown)."""
        return self._view_for(app)

    async def refresh(
        self,
        app: Application,
        previous: AppStatus,
        *,
        fetched_after: float = 0.0,
        revisions: tuple[str, ...] | None = None,
        sources: tuple[ApplicationSource, ...] | None = None,
    ) -> Refreshed:
        """A fresh status of ``app``; ``revisions``/``sources`` pin what to compare (a rollback)."""
        now = self._clock()
        problems = self.problems(app)
        if problems:
            return _failed(previous, ConditionType.INVALID_SPEC_ERROR, "; ".join(problems), now)
        try:
            options = parse_sync_options(app.sync_policy.sync_options, obj=f"Application/{app.name}")
            ignores = ignore_rules(app)
            view = self._view_for(app)
        except (SpecError, UsageError) as exc:
            return _failed(previous, ConditionType.INVALID_SPEC_ERROR, str(exc), now)
        try:
            if revisions is None:
                revisions = await asyncio.to_thread(self.sources.resolve, app, fetched_after=fetched_after)
            rendered = await asyncio.to_thread(self.sources.render, app, revisions, sources=sources)
        except (GitError, RenderError, SpecError) as exc:
            return _failed(previous, ConditionType.COMPARISON_ERROR, f"rpc error: {exc}", now)
        rendered, children = self._split(app.name, rendered)
        if children.problems:
            return _failed(previous, ConditionType.COMPARISON_ERROR, "; ".join(children.problems), now)
        try:
            comparison, placed = await self._compare(app, previous, view, rendered, ignores)
        except _NotPermitted as exc:
            return _failed(previous, ConditionType.INVALID_SPEC_ERROR, str(exc), now)
        except ClusterError as exc:
            return _failed(previous, ConditionType.COMPARISON_ERROR, f"failed to load live state: {exc}", now)
        except GitloopError as exc:
            return _failed(previous, ConditionType.UNKNOWN_ERROR, str(exc), now)
        if self._children is not None:
            comparison = appofapps.fold(comparison, *self._children(app.name, children))
        if children.manifests:
            comparison = replace(comparison, children=children.manifests)
        status = replace(
            previous,
            sync_status=comparison.sync_status,
            revisions=revisions,
            health=comparison.health,
            resources=comparison.resources,
            reconciled_at=now,
            images=images_in(comparison.live.values()),
        )
        kept = [c for c in previous.conditions if c.type is ConditionType.SYNC_ERROR]
        status = status.with_conditions([*kept, *comparison.conditions], now)
        return Refreshed(status, comparison, view, options, placed, children)

    def _split(self, name: str, rendered: Rendered) -> tuple[Rendered, Children]:
        """``rendered`` without the App of Apps children, and the children (remembered by render key)."""
        memo = self._memos.setdefault(name, _Memo())
        if memo.split is None or memo.split_key != rendered.key:
            resources, children = appofapps.split(rendered.manifests, parent=name)
            memo.split = (replace(rendered, manifests=tuple(resources)), children)
            memo.split_key = rendered.key
        return memo.split

    async def _compare(
        self,
        app: Application,
        previous: AppStatus,
        view: ClusterView,
        rendered: Rendered,
        ignores: IgnoreDifferences,
    ) -> tuple[Comparison, Placed]:
        memo = self._memos.setdefault(app.name, _Memo())
        if memo.placed is None or memo.placed_key != rendered.key:
            memo.placed = await view.place(app.name, rendered.manifests, app.destination.namespace)
            memo.placed_key = rendered.key
        placed = memo.placed
        project = self._project_for(app.project)
        refused = [
            f"{ResourceKey.of(obj)}"
            for obj in placed.desired
            if project is not None and not _permitted(project, obj, placed.cluster_scoped)
        ]
        if refused:
            raise _NotPermitted(
                f"resources not permitted in project {app.project} "
                f"(clusterResourceWhitelist/namespaceResourceBlacklist): {', '.join(refused)}"
            )
        key = (rendered.key, view.cache.version(app.name), app.ignore_differences)
        if memo.comparison is not None and memo.compare_key == key:
            return memo.comparison, placed
        extra = {(r.api_version, r.key.kind) for r in previous.resources if not appofapps.is_child(r.key)}
        gathered = await view.gather(app.name, placed, extra)
        if gathered.problems:
            reasons = "; ".join(f"{kind}: {why}" for (_, kind), why in sorted(gathered.problems.items()))
            raise ClusterError(reasons)
        if memo.compare_key[2:] != key[2:]:
            memo.diffs = {}  # other ignoreDifferences: no diff can be reused
        digests = placed.digests
        diffs = DiffMemo(lambda obj: digests.get(ResourceKey.of(obj)) or digest(obj), view.fingerprint)
        diffs.diffs = memo.diffs
        comparison = compare_app(
            rendered.revisions,
            placed.desired,
            gathered.live,
            predicted=gathered.predicted,
            ignores=ignores,
            options=self._options,
            messages=placed.unknown,
            memo=diffs if self._status_ignored() else None,
        )
        memo.diffs = diffs.diffs
        conditions = [
            *comparison.conditions,
            *(Condition(ConditionType.SHARED_RESOURCE_WARNING, text) for text in gathered.shared),
            *(
                Condition(ConditionType.COMPARISON_ERROR, f"{key}: {why}")
                for key, why in placed.unknown.items()
            ),
        ]
        comparison = replace(comparison, conditions=tuple(conditions))
        cacheable = not gathered.read and not placed.unknown
        memo.comparison = comparison if cacheable else None
        memo.compare_key = key
        return comparison, placed

    def _status_ignored(self) -> bool:
        """Whether comparisons ignore ``status`` (then a status change cannot change a diff)."""
        options = self._options or CompareOptions()
        return options.normalize.status is StatusPolicy.ALL

    def problems(self, app: Application) -> list[str]:
        """Why ``app`` may not be reconciled (empty when it may): its project's source and destination
        rules — its destination cluster's server and name inferred from the one it gives — and a
        destination that is no known cluster."""
        try:
            view = self._view_for(app)
        except (UsageError, SpecError) as exc:
            return [*project_problems(app, self._project_for(app.project)), str(exc)]
        server, name = view.server, view.name
        if app.destination.name == IN_CLUSTER_NAME or server_url(app.destination.server) == IN_CLUSTER:
            server, name = (
                IN_CLUSTER,
                IN_CLUSTER_NAME,
            )  # Argo CD's in-cluster is both, whichever cluster it is here
        return project_problems(app, self._project_for(app.project), server=server, name=name)

    def last(self, name: str) -> Comparison | None:
        """The last comparison of ``name`` in this process (``None``: none yet, or forgotten)."""
        memo = self._memos.get(name)
        return memo.comparison if memo is not None else None

    def forget(self, name: str) -> None:
        """Drop what is remembered of an Application (its spec changed or it was removed)."""
        self._memos.pop(name, None)
