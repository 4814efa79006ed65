"""Sync options: the Application's ``spec.syncPolicy.syncOptions`` and a resource's annotation.

Both are lists of ``Key=value`` items: the Application's a YAML list, a resource's the
comma-separated ``argocd.argoproj.io/sync-options`` annotation. Argo CD matches them as exact
strings and silently ignores anything it does not recognise; gitloop parses every option Argo CD
documents, raises ``SpecError`` naming the field for an item without ``=`` or a known option with a
value Argo CD would not act on (``PruneLast=yes``), and keeps options it does not know in
``unknown`` (ignored, as in Argo CD, so newer Argo CD options do not break a sync).

What the sync engine honours, and how (as gitops-engine and Argo CD's controller do):

=============================  ==================================================================
Application option             effect
=============================  ==================================================================
CreateNamespace=true           create the destination namespace first when it is missing
PruneLast=true                 prune in one last wave, after every other wave succeeded
ApplyOutOfSyncOnly=true        apply only resources that are not Synced (hooks always run)
Replace=true                   create / replace instead of apply
ServerSideApply=true           apply server-side (a resource's ``ServerSideApply=false`` wins)
Validate=false                 apply without schema validation
SkipDryRunOnMissingResource    skip the dry run of resources whose kind the server lacks
PrunePropagationPolicy=...     foreground (default), background or orphan deletion when pruning
Prune=false|confirm            default for resources without their own ``Prune=`` option
=============================  ==================================================================

Parsed but left to other parts of gitloop: ``FailOnSharedResource`` (the reconciler, before a
sync starts), ``RespectIgnoreDifferences`` (``gitops/diff`` patches the desired objects),
``Delete=false|confirm`` and ``helm.sh/resource-policy: keep`` (Application deletion),
``ClientSideApplyMigration`` (the apply adapter). Resource options honoured: ``Prune=false``,
``Prune=confirm``, ``PruneLast=true``, ``Replace=true``, ``ServerSideApply=true|false``,
``Validate=false``, ``SkipDryRunOnMissingResource=true``, ``Force=true``. As in gitops-engine,
``PruneLast=false``, ``Replace=false`` and ``Validate=true`` on a resource do not undo the
Application's option.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from gitloop.errors import SpecError
from gitloop.gitops.sync import annotation as notes
from gitloop.model.resources import Manifest


class PruneMode(Enum):
    """The value of a ``Prune=`` or ``Delete=`` option."""

    TRUE = "true"
    FALSE = "false"
    """Never prune (or delete) the resource."""
    CONFIRM = "confirm"
    """Prune (or delete) only once a user confirmed it."""

    def __str__(self) -> str:
        return self.value


class PropagationPolicy(Enum):
    """How pruning deletes dependents (``PrunePropagationPolicy=``)."""

    FOREGROUND = "foreground"
    BACKGROUND = "background"
    ORPHAN = "orphan"

    @property
    def api_value(self) -> str:
        """The Kubernetes ``DeleteOptions.propagationPolicy`` value: Foreground, Background, Orphan."""
        return self.value.capitalize()

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class SyncOptions:
    """An Application's ``spec.syncPolicy.syncOptions``; defaults are Argo CD's."""

    create_namespace: bool = False
    prune_last: bool = False
    apply_out_of_sync_only: bool = False
    replace: bool = False
    server_side_apply: bool = False
    validate: bool = True
    skip_dry_run_on_missing_resource: bool = False
    prune_propagation_policy: PropagationPolicy = PropagationPolicy.FOREGROUND
    prune: PruneMode | None = None
    delete: PruneMode | None = None
    fail_on_shared_resource: bool = False
    respect_ignore_differences: bool = False
    client_side_apply_migration: bool = True
    unknown: tuple[str, ...] = ()
    """Items gitloop does not know; ignored."""


@dataclass(frozen=True)
class ResourceOptions:
    """One resource's ``argocd.argoproj.io/sync-options``; ``None`` means "not said"."""

    prune: PruneMode | None = None
    delete: PruneMode | None = None
    prune_last: bool = False
    replace: bool | None = None
    server_side_apply: bool | None = None
    validate: bool | None = None
    skip_dry_run_on_missing_resource: bool = False
    force: bool = False
    unknown: tuple[str, ...] = ()


def _boolean(value: str) -> bool:
    if value not in ("true", "false"):
        raise ValueError("expected true or false")
    return value == "true"


def _true_only(value: str) -> bool:
    """Options whose only meaningful value is ``true``; ``false`` is accepted and means the default."""
    return _boolean(value)


def _enum(kind: type[Enum]) -> Callable[[str], Any]:
    def parse(value: str) -> Any:
        try:
            return kind(value)
        except ValueError:
            allowed = " or ".join(str(m.value) for m in kind)
            raise ValueError(f"expected {allowed}") from None

    return parse


_Parser = tuple[str, Callable[[str], Any]]

_APPLICATION: dict[str, _Parser] = {
    "CreateNamespace": ("create_namespace", _boolean),
    "PruneLast": ("prune_last", _boolean),
    "ApplyOutOfSyncOnly": ("apply_out_of_sync_only", _boolean),
    "Replace": ("replace", _boolean),
    "ServerSideApply": ("server_side_apply", _boolean),
    "Validate": ("validate", _boolean),
    "SkipDryRunOnMissingResource": ("skip_dry_run_on_missing_resource", _boolean),
    "PrunePropagationPolicy": ("prune_propagation_policy", _enum(PropagationPolicy)),
    "Prune": ("prune", _enum(PruneMode)),
    "Delete": ("delete", _enum(PruneMode)),
    "FailOnSharedResource": ("fail_on_shared_resource", _boolean),
    "RespectIgnoreDifferences": ("respect_ignore_differences", _boolean),
    "ClientSideApplyMigration": ("client_side_apply_migration", _boolean),
}

_RESOURCE: dict[str, _Parser] = {
    "Prune": ("prune", _enum(PruneMode)),
    "Delete": ("delete", _enum(PruneMode)),
    "PruneLast": ("prune_last", _true_only),
    "Replace": ("replace", _boolean),
    "ServerSideApply": ("server_side_apply", _boolean),
    "Validate": ("validate", _boolean),
    "SkipDryRunOnMissingResource": ("skip_dry_run_on_missing_resource", _true_only),
    "Force": ("force", _true_only),
}


def _parse(
    items: Iterable[str], table: dict[str, _Parser], where: Callable[[int], str], obj: str | None
) -> dict[str, Any]:
    found: dict[str, Any] = {}
    unknown: list[str] = []
    for index, item in enumerate(items):
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise SpecError(f"sync option {item!r} is not of the form Key=value", obj=obj, field=where(index))
        if key not in table:
            unknown.append(item)
            continue
        attribute, parse = table[key]
        try:
            found[attribute] = parse(value)
        except ValueError as exc:
            raise SpecError(f"sync option {item!r}: {exc}", obj=obj, field=where(index)) from None
    found["unknown"] = tuple(unknown)
    return found


def parse_sync_options(
    items: Iterable[object], *, obj: str | None = None, field: str = "spec.syncPolicy.syncOptions"
) -> SyncOptions:
    """Parse an Application's sync options; ``field`` names the list in errors (``...[2]``)."""
    texts: list[str] = []
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise SpecError(
                f"expected a string, got {type(item).__name__}", obj=obj, field=f"{field}[{index}]"
            )
        texts.append(item)
    return SyncOptions(**_parse(texts, _APPLICATION, lambda i: f"{field}[{i}]", obj))


def resource_options(manifest: Manifest) -> ResourceOptions:
    """Parse a resource's ``argocd.argoproj.io/sync-options`` (and ``helm.sh/resource-policy: keep``)."""
    where = f"metadata.annotations[{notes.SYNC_OPTIONS}]"
    parsed = ResourceOptions(
        **_parse(
            notes.values(manifest, notes.SYNC_OPTIONS), _RESOURCE, lambda _: where, notes.describe(manifest)
        )
    )
    if parsed.delete is None and notes.annotation_map(manifest).get(notes.HELM_RESOURCE_POLICY) == "keep":
        parsed = replace(parsed, delete=PruneMode.FALSE)
    return parsed


@dataclass(frozen=True)
class Effective:
    """The options one task runs with, after combining the Application's and the resource's."""

    replace: bool = False
    force: bool = False
    server_side_apply: bool = False
    validate: bool = True
    skip_dry_run: bool = False
    prune: PruneMode = PruneMode.TRUE
    prune_last: bool = False


def combine(
    app: SyncOptions, target: ResourceOptions, live: ResourceOptions, *, force: bool = False
) -> Effective:
    """Combine options as gitops-engine does: the resource's ``Prune=`` overrides the Application's;
    ``Replace``/``Force`` hold when the Application, the desired or the live object asks;
    ``ServerSideApply=false`` on the desired object wins over the Application's ``true``; a
    resource can turn validation off but not back on. Prune options are read from the live object
    (the one being pruned), the others from the desired one."""
    return Effective(
        replace=app.replace or bool(target.replace) or bool(live.replace),
        force=force or target.force or live.force,
        server_side_apply=target.server_side_apply is not False
        and (app.server_side_apply or bool(target.server_side_apply)),
        validate=app.validate and target.validate is not False,
        skip_dry_run=app.skip_dry_run_on_missing_resource or target.skip_dry_run_on_missing_resource,
        prune=live.prune or app.prune or PruneMode.TRUE,
        prune_last=app.prune_last or live.prune_last,
    )
