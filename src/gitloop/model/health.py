"""Health of Kubernetes objects and Applications, as Argo CD names and orders it.

``HealthStatus`` members are ordered from most to least healthy, exactly as Argo CD's gitops-engine
orders them: Healthy < Suspended < Progressing < Missing < Degraded < Unknown. An Application's health
is the worst (the ``max``) of the health of its resources.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class HealthStatus(Enum):
    """Health of one object; members compare by severity, so ``max()`` picks the worst."""

    HEALTHY = "Healthy"
    """The object is 100% healthy."""
    SUSPENDED = "Suspended"
    """The object is suspended or paused and waits for an outside event (a paused Deployment)."""
    PROGRESSING = "Progressing"
    """Not healthy yet, but still has a chance to become healthy."""
    MISSING = "Missing"
    """The object is desired but absent from the cluster (assigned by the reconciler, never by a rule)."""
    DEGRADED = "Degraded"
    """The object failed, or could not become healthy in time."""
    UNKNOWN = "Unknown"
    """Assessing health failed; the actual health is unknown."""

    @property
    def rank(self) -> int:
        """0 for Healthy up to 5 for Unknown."""
        return _RANK[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, HealthStatus):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, HealthStatus):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, HealthStatus):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, HealthStatus):
            return NotImplemented
        return self.rank >= other.rank

    def __str__(self) -> str:
        return self.value


_RANK = {status: index for index, status in enumerate(HealthStatus)}


@dataclass(frozen=True)
class HealthResult:
    """The outcome of one health assessment: a status and a human-readable message (often empty)."""

    status: HealthStatus
    message: str = ""
