"""When an automatic stage takes a change: the upstream stage's Application Synced and Healthy at the
source commit for the soak time, and its verification run (a post-sync pipeline) Succeeded. Pure: the
composition observes the Application and the runs and passes an ``UpstreamStatus``; ``judge_auto``
says promote, wait (and for how long at most) or fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from gitloop.spec.gitloop_promotion import AutoGate

SUCCEEDED, FAILED = "Succeeded", "Failed"


@dataclass(frozen=True)
class UpstreamStatus:
    """What the upstream stage's Application shows now. ``source_commit``: the source commit its
    deployed config carries (``""`` unknown); ``synced_healthy_since``: since when it has been Synced
    and Healthy at that commit without a break (``None``: it is not); ``verification``: the state of
    the verification run for that commit (``""``: none has ended or started)."""

    source_commit: str
    sync_status: str
    health: str
    synced_healthy_since: float | None = None
    verification: str = ""


class Verdict(Enum):
    PROMOTE = "promote"
    WAIT = "wait"
    FAIL = "fail"


@dataclass(frozen=True)
class AutoDecision:
    """The verdict, why, and (for ``WAIT`` on the soak only) the seconds left."""

    verdict: Verdict
    reason: str
    wait: float | None = None


def judge_auto(gate: AutoGate, source_commit: str, upstream: UpstreamStatus, now: float) -> AutoDecision:
    """Whether an automatic stage takes ``source_commit`` now, given the upstream stage's status."""
    if upstream.source_commit != source_commit:
        shown = upstream.source_commit[:12] or "an unknown commit"
        return AutoDecision(Verdict.WAIT, f"upstream is at {shown}, not {source_commit[:12]}")
    if upstream.sync_status != "Synced" or upstream.health != "Healthy":
        return AutoDecision(Verdict.WAIT, f"upstream is {upstream.sync_status} and {upstream.health}")
    if upstream.synced_healthy_since is None:
        return AutoDecision(Verdict.WAIT, "upstream has not been seen Synced and Healthy yet")
    if gate.verification is not None:
        if upstream.verification == FAILED:
            return AutoDecision(Verdict.FAIL, f"verification {gate.verification!r} failed upstream")
        if upstream.verification != SUCCEEDED:
            return AutoDecision(Verdict.WAIT, f"verification {gate.verification!r} has not succeeded yet")
    left = upstream.synced_healthy_since + gate.soak - now
    if left > 0:
        return AutoDecision(Verdict.WAIT, f"soaking: {left:.0f}s left of {gate.soak:.0f}s", wait=left)
    return AutoDecision(
        Verdict.PROMOTE,
        "upstream Synced and Healthy for the soak time"
        + (f", verification {gate.verification!r} succeeded" if gate.verification else ""),
    )
