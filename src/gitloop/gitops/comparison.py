"""One Application's comparison: desired manifests against live objects, per resource and as a whole.

Pure, as Argo CD's ``CompareAppState`` is once the live state is gathered: every desired resource and
every tracked live object git no longer holds gets a ``ResourceStatus`` (sync status by
``gitloop.gitops.diff.compare``, health by ``gitloop.gitops.health``); the Application is OutOfSync
when any counted resource is, and its health is the worst of its resources' by Argo CD's rules —
hooks, ``Skip`` objects and ``ignore-healthcheck`` resources do not count, a missing resource counts
as Missing only when its kind has a health rule, a child Application that is Missing or Unknown does
not count. Hooks are left out of the resource list (they are not part of the desired state), but
their live objects are kept for the sync planner.

Two resources with the same identity in git keep the last one and raise a
``RepeatedResourceWarning``, as in Argo CD.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from gitloop.gitops import health
from gitloop.gitops.diff import CompareOptions, IgnoreDifferences, ResourceDiff, application_status, compare
from gitloop.gitops.status import Condition, ConditionType, ResourceStatus
from gitloop.gitops.sync import hooks
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.resources import Manifest, ResourceKey
from gitloop.model.sync import SyncStatus


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing one Application at one revision."""

    revisions: tuple[str, ...]
    resources: tuple[ResourceStatus, ...]
    sync_status: SyncStatus
    health: HealthResult
    desired: tuple[Manifest, ...] = ()
    """Desired objects as gitloop applies them (hooks included), one per identity."""
    live: Mapping[ResourceKey, Manifest] = field(default_factory=dict)
    """Live objects the Application tracks (hooks included), and desired ones found untracked."""
    conditions: tuple[Condition, ...] = ()
    children: tuple[Manifest, ...] = ()
    """App of Apps children as written (``gitloop.gitops.appofapps``): the engine's own, never applied."""

    def resource(self, key: ResourceKey) -> ResourceStatus | None:
        return next((r for r in self.resources if r.key == key), None)

    @property
    def out_of_sync(self) -> tuple[ResourceStatus, ...]:
        return tuple(r for r in self.resources if r.status is not SyncStatus.SYNCED)


class DiffMemo:
    """The diffs of one Application's last comparison, by content.

    ``digest(obj)`` and ``fingerprint(key, obj)`` are the desired object's digest and the live object's
    content fingerprint without status (``ClusterView``'s); a diff is reused while both stay the same
    (status is not compared, so a controller's status update costs no diff)."""

    def __init__(
        self,
        digest: Callable[[Manifest], str] | None = None,
        fingerprint: Callable[[ResourceKey, Manifest], str] | None = None,
    ) -> None:
        self._digest = digest
        self._fingerprint = fingerprint
        self.diffs: dict[tuple[object, ...], ResourceDiff] = {}

    def key(
        self, key: ResourceKey, desired: Manifest | None, live: Manifest | None, predicted: bool
    ) -> tuple[object, ...] | None:
        if self._digest is None or self._fingerprint is None:
            return None
        return (
            key,
            None if desired is None else self._digest(desired),
            None if live is None else self._fingerprint(key, live),
            predicted,
        )


def _is_hook_or_skipped(obj: Manifest) -> bool:
    return hooks.is_hook(obj) or hooks.is_skipped(obj)


def dedupe(desired: Sequence[Manifest]) -> tuple[list[Manifest], list[Condition]]:
    """One object per identity (the last wins), and a warning naming every repeated one."""
    by_key: dict[ResourceKey, Manifest] = {}
    repeated: list[str] = []
    for obj in desired:
        key = ResourceKey.of(obj)
        if key in by_key and key.name:
            repeated.append(str(key))
        by_key[key] = obj
    conditions = [
        Condition(ConditionType.REPEATED_RESOURCE_WARNING, f"Resource {name} appeared more than once")
        for name in dict.fromkeys(repeated)
    ]
    return [obj for obj in desired if by_key.get(ResourceKey.of(obj)) is obj], conditions


def compare_app(
    revisions: tuple[str, ...],
    desired: Sequence[Manifest],
    live: Mapping[ResourceKey, Manifest],
    *,
    predicted: Mapping[ResourceKey, Manifest] | None = None,
    ignores: IgnoreDifferences | None = None,
    options: CompareOptions | None = None,
    messages: Mapping[ResourceKey, str] | None = None,
    memo: DiffMemo | None = None,
) -> Comparison:
    """Compare ``desired`` (prepared, namespaced) with ``live`` (tracked objects plus desired ones found).

    ``predicted`` holds server-side apply dry-run results by key; ``messages`` adds a reason to a
    resource's status (an unknown kind). With a ``memo`` a resource whose desired and live content is
    what it was at the last comparison keeps its diff (only its health is assessed again)."""
    predicted = predicted or {}
    messages = messages or {}
    memo = memo if memo is not None else DiffMemo()
    fresh: dict[tuple[object, ...], ResourceDiff] = {}

    def diff_of(obj: Manifest | None, current: Manifest | None, key: ResourceKey) -> ResourceDiff:
        mkey = memo.key(key, obj, current, key in predicted)
        found = memo.diffs.get(mkey) if mkey is not None else None
        if found is None:
            found = compare(obj, current, predicted=predicted.get(key), ignores=ignores, options=options)
        if mkey is not None:
            fresh[mkey] = found
        return found

    unique, conditions = dedupe(desired)
    statuses: list[ResourceStatus] = []
    diffs: list[ResourceDiff] = []
    healths: list[HealthStatus] = []
    seen: set[ResourceKey] = set()
    for obj in unique:
        key = ResourceKey.of(obj)
        seen.add(key)
        if _is_hook_or_skipped(obj):
            continue
        current = live.get(key)
        diff = diff_of(obj, current, key)
        result = _health(obj, current, healths)
        diffs.append(diff)
        message = messages.get(key, diff.message)
        statuses.append(
            ResourceStatus(key, str(obj["apiVersion"]), diff.status, result, message=message, diff=diff)
        )
    for key, current in live.items():
        if key in seen or _is_hook_or_skipped(current):
            continue
        diff = diff_of(None, current, key)
        result = _health(None, current, healths)
        diffs.append(diff)
        api_version = str(current.get("apiVersion", ""))
        statuses.append(ResourceStatus(key, api_version, diff.status, result, True, diff=diff))
    worst = health.worst(healths)
    message = next(
        (s.health.message for s in statuses if s.health and s.health.status is worst and s.health.message), ""
    )
    statuses.sort(key=lambda s: (s.key.group, s.key.kind, s.key.namespace, s.key.name))
    memo.diffs = fresh
    return Comparison(
        revisions=revisions,
        resources=tuple(statuses),
        sync_status=application_status(diffs),
        health=HealthResult(worst, message),
        desired=tuple(unique),
        live=dict(live),
        conditions=tuple(conditions),
    )


def _health(
    desired: Manifest | None, current: Manifest | None, counted: list[HealthStatus]
) -> HealthResult | None:
    """The resource's health, appended to ``counted`` when it counts towards the Application's."""
    if desired is not None and health.ignores_health(desired):
        return None
    if current is None:
        assert desired is not None
        key = ResourceKey.of(desired)
        if health.check_for(key.group, key.kind) is None:
            return None
        result: HealthResult | None = HealthResult(HealthStatus.MISSING)
    else:
        result = health.assess(current)
    if result is None:
        return None
    key = ResourceKey.of(current if current is not None else desired or {})
    child_app = (key.group, key.kind) == ("argoproj.io", "Application")
    if not (child_app and result.status in (HealthStatus.MISSING, HealthStatus.UNKNOWN)):
        counted.append(result.status)
    return result
