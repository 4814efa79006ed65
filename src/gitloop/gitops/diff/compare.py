"""Comparison of one resource: desired (from git) against live, giving its sync status.

``compare(desired, live, predicted=...)`` is a function over ``(desired | None, live | None)``:

- no live object → OutOfSync: the resource is to be created;
- no desired object → OutOfSync with ``requires_pruning``: the live object is tracked by the
  Application but no longer in git. Callers pass only live objects the Application tracks. A live
  object annotated ``argocd.argoproj.io/compare-options: IgnoreExtraneous`` is still OutOfSync itself,
  but does not make its Application OutOfSync (``counts``), as in Argo CD;
- both → every side is normalised (``normalize``) and has its ignored differences removed
  (``ignore``); then, given the server-side apply dry-run result (``predicted``), Synced exactly when
  it equals the live object — server defaults and webhook mutations appear on both sides and cancel
  out. Without one, the three-way merge (``merge``) predicts the object from the live one, the desired
  one and what gitloop applied before (the ``last-applied-configuration`` annotation and the fields of
  the ``gitloop`` field manager): fields set in git must match, and fields only the live object has
  count only if gitloop applied them and git dropped them.

The result holds the normalised desired, live and predicted objects with Secret values masked, for
display (``render``); ``predicted`` is what the live object will be after a sync. ``Unknown`` is for a
comparison that failed: the reconciler builds it with ``ResourceDiff.failed``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from gitloop.errors import SyncError
from gitloop.gitops.diff import merge
from gitloop.gitops.diff.fieldpath import list_shapes, managed_by
from gitloop.gitops.diff.ignore import IgnoreDifferences, ResourceIgnores, drop_managed_differences
from gitloop.gitops.diff.normalize import NormalizeOptions, last_applied, normalize
from gitloop.gitops.diff.secrets import mask_secrets
from gitloop.model.resources import Manifest, ResourceKey
from gitloop.model.sync import SyncStatus

MANAGER = "gitloop"
"""The field manager gitloop applies with."""

COMPARE_OPTIONS_ANNOTATION = "argocd.argoproj.io/compare-options"
IGNORE_EXTRANEOUS = "IgnoreExtraneous"


@dataclass(frozen=True)
class CompareOptions:
    """System-level settings of the comparison."""

    normalize: NormalizeOptions = field(default_factory=NormalizeOptions)
    manager: str = MANAGER
    """The field manager whose managed fields are "what gitloop applied"."""
    hide_annotations: frozenset[str] = frozenset()
    """Secret annotations masked like Secret data (Argo CD's ``resource.sensitive.mask.annotations``)."""


@dataclass(frozen=True)
class ResourceDiff:
    """The outcome of comparing one resource."""

    key: ResourceKey
    status: SyncStatus
    desired: Manifest | None = None
    """Normalised desired object, Secret values masked; ``None`` when it is not in git."""
    live: Manifest | None = None
    """Normalised live object, Secret values masked; ``None`` when it does not exist."""
    predicted: Manifest | None = None
    """What the live object will be after a sync, normalised and masked; ``None`` when it is pruned."""
    requires_pruning: bool = False
    ignore_extraneous: bool = False
    message: str = ""

    @property
    def modified(self) -> bool:
        return self.status is SyncStatus.OUT_OF_SYNC

    @property
    def counts(self) -> bool:
        """Whether this resource's status counts towards its Application's sync status."""
        return not (self.requires_pruning and self.ignore_extraneous)

    @classmethod
    def failed(cls, key: ResourceKey, message: str) -> ResourceDiff:
        """An Unknown result: comparing (rendering, the dry run, ...) failed with ``message``."""
        return cls(key, SyncStatus.UNKNOWN, message=message)


def compare(
    desired: Manifest | None,
    live: Manifest | None,
    *,
    predicted: Manifest | None = None,
    ignores: IgnoreDifferences | None = None,
    options: CompareOptions | None = None,
) -> ResourceDiff:
    """Compare one resource; ``predicted`` is the server-side apply dry-run result, if there is one."""
    if desired is None and live is None:
        raise SyncError("nothing to compare: neither a desired nor a live object")
    options = options or CompareOptions()
    key = ResourceKey.of(desired if desired is not None else live or {})
    rules = (ignores or IgnoreDifferences()).for_resource(key)

    def prepare(obj: Manifest | None) -> Manifest | None:
        return None if obj is None else rules.apply(normalize(obj, options.normalize))

    norm_desired, norm_predicted = prepare(desired), prepare(predicted)
    if live is None:
        return _result(key, SyncStatus.OUT_OF_SYNC, norm_desired, None, norm_desired, options)
    norm_live = rules.apply(normalize(live, options.normalize))
    if norm_desired is None:
        extraneous = IGNORE_EXTRANEOUS in _compare_options(live)
        return _result(
            key, SyncStatus.OUT_OF_SYNC, None, norm_live, None, options, pruning=True, extraneous=extraneous
        )
    if rules.managers:
        drop_managed_differences(norm_live, [norm_desired, norm_predicted], managed_by(live, rules.managers))
    target = (
        norm_predicted
        if norm_predicted is not None
        else _three_way(norm_desired, norm_live, live, rules, options)
    )
    status = SyncStatus.SYNCED if target == norm_live else SyncStatus.OUT_OF_SYNC
    return _result(key, status, norm_desired, norm_live, target, options)


def _three_way(
    desired: Manifest, live: Manifest, live_raw: Manifest, rules: ResourceIgnores, options: CompareOptions
) -> Manifest:
    shapes = list_shapes(live_raw)
    before = last_applied(live_raw)
    before = None if before is None else rules.apply(normalize(before, options.normalize))
    return merge.predict(
        live, desired, merge.applied_fields(live_raw, before, options.manager, shapes), shapes
    )


def _result(
    key: ResourceKey,
    status: SyncStatus,
    desired: Manifest | None,
    live: Manifest | None,
    predicted: Manifest | None,
    options: CompareOptions,
    *,
    pruning: bool = False,
    extraneous: bool = False,
) -> ResourceDiff:
    masked = mask_secrets([desired, live, predicted], options.hide_annotations)
    return ResourceDiff(
        key,
        status,
        desired=masked[0],
        live=masked[1],
        predicted=masked[2],
        requires_pruning=pruning,
        ignore_extraneous=extraneous,
    )


def _compare_options(obj: Manifest) -> set[str]:
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    value = annotations.get(COMPARE_OPTIONS_ANNOTATION) if isinstance(annotations, dict) else None
    return {part.strip() for part in value.split(",")} if isinstance(value, str) else set()


def application_status(diffs: Iterable[ResourceDiff]) -> SyncStatus:
    """An Application's sync status: Unknown if any comparison failed, else OutOfSync if any counted
    resource is, else Synced."""
    statuses = [diff.status for diff in diffs if diff.counts]
    if SyncStatus.UNKNOWN in statuses:
        return SyncStatus.UNKNOWN
    if SyncStatus.OUT_OF_SYNC in statuses:
        return SyncStatus.OUT_OF_SYNC
    return SyncStatus.SYNCED
