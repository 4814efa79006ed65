"""Sync status of resources and Applications, as Argo CD names it.

A resource is ``Synced`` when its live object matches the desired state from git (after the
normalisation and ignored differences of ``gitloop.gitops.diff``), ``OutOfSync`` when it differs,
is missing from the cluster, or is live but no longer desired (it needs pruning), and ``Unknown``
when the comparison itself failed.
"""

from __future__ import annotations

from enum import Enum


class SyncStatus(Enum):
    """Whether a resource (or an Application) matches its desired state."""

    SYNCED = "Synced"
    """The live object matches the desired state."""
    OUT_OF_SYNC = "OutOfSync"
    """The live object differs from the desired state, is missing, or should be pruned."""
    UNKNOWN = "Unknown"
    """Comparing failed; whether the object is in sync is unknown."""

    def __str__(self) -> str:
        return self.value
