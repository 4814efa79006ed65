"""What the sync step machine asks of its driver, and what the driver reports back.

``decide`` returns actions; the driver performs them **in order**, then calls ``decide`` again with
``Observations``: the outcome of each action it performed, the live state of every key the
operation watches (``watched``), whether pruning was confirmed, and the time. The contract:

- ``Apply`` and ``CreateHook`` apply ``task.manifest`` by ``task.action`` (apply, create, or
  replace — a forced replace deletes and re-creates), server-side when
  ``task.server_side_apply``, validating unless ``task.validate`` is false, as a dry run when
  ``dry_run``. A dry run of a task with ``skip_dry_run`` whose kind the server does not know
  reports success without calling the server.
- ``Prune`` deletes the object with the given propagation policy; an object already gone, or
  already being deleted, counts as pruned. After a failed ``Prune`` the driver performs no further
  action of the same batch (gitops-engine applies nothing of a wave whose prunes failed).
- ``DeleteHook`` removes the hook finalizer (``argocd.argoproj.io/hook-finalizer``) and deletes
  the object; "not found" counts as success. ``ReleaseHook`` only removes the finalizer.
- ``WaitHealth`` and ``Finish`` need no cluster call: the first says what the operation waits for,
  the second that it is over.

Every action names its task; the driver reports one ``ActionResult`` per ``Apply``, ``CreateHook``,
``Prune`` and ``DeleteHook`` it performed. A result that never arrives (the driver stopped) makes
``decide`` ask for the action again, so every action must be idempotent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from gitloop.gitops import health
from gitloop.gitops.sync.task import SyncTask
from gitloop.gitops.sync.types import OperationPhase
from gitloop.model.health import HealthResult
from gitloop.model.resources import Manifest, ResourceKey


@dataclass(frozen=True)
class Apply:
    """Apply a resource (create or replace it under ``Replace=true``)."""

    task: SyncTask
    dry_run: bool = False


@dataclass(frozen=True)
class CreateHook:
    """Create (apply) a hook object; it carries the hook finalizer."""

    task: SyncTask
    dry_run: bool = False


@dataclass(frozen=True)
class Prune:
    """Delete a live object git no longer holds."""

    task: SyncTask
    propagation: str = "Foreground"
    """``Foreground``, ``Background`` or ``Orphan``."""


@dataclass(frozen=True)
class DeleteHook:
    """Delete a hook object (finalizer first), for ``reason``: a delete policy or ``Terminated``."""

    task: SyncTask
    reason: str
    propagation: str = "Foreground"


@dataclass(frozen=True)
class ReleaseHook:
    """Remove the hook finalizer from a completed hook that stays."""

    task: SyncTask


@dataclass(frozen=True)
class WaitHealth:
    """The operation waits for these objects (health, hook completion or deletion)."""

    keys: tuple[ResourceKey, ...]
    message: str


@dataclass(frozen=True)
class Finish:
    """The operation is over."""

    phase: OperationPhase
    message: str


Action = Apply | CreateHook | Prune | DeleteHook | ReleaseHook | WaitHealth | Finish


@dataclass(frozen=True)
class ActionResult:
    """The outcome of one performed action, by the id of its task."""

    task_id: str
    ok: bool
    message: str = ""


@dataclass(frozen=True)
class LiveObservation:
    """One live object as the driver saw it."""

    health: HealthResult | None = None
    """Its health by ``gitloop.gitops.health.assess``; ``None`` when its kind has no health rule."""
    deleting: bool = False
    """``metadata.deletionTimestamp`` is set."""

    @classmethod
    def of(cls, manifest: Manifest) -> LiveObservation:
        """Observe a live object: assess its health and see whether it is being deleted."""
        meta = manifest.get("metadata")
        stamp = meta.get("deletionTimestamp") if isinstance(meta, dict) else None
        deleting = isinstance(stamp, datetime) or (isinstance(stamp, str) and bool(stamp))
        return cls(health=health.assess(manifest), deleting=deleting)


@dataclass(frozen=True)
class Observations:
    """What the driver saw since the last step."""

    now: float = 0.0
    """The driver's clock in seconds (any epoch, as long as it stays the same for one operation)."""
    results: Sequence[ActionResult] = ()
    live: Mapping[ResourceKey, LiveObservation] = field(default_factory=dict)
    """Every watched key whose object exists; a watched key missing here does not exist."""
    prune_confirmed: bool = False
    """The user confirmed pruning (for ``Prune=confirm`` resources)."""
