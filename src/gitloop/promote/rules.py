"""When an automatic stage takes a change: the upstream stage's Application Synced and Healthy at the
source commit for the soak time, and its verification run (a post-sync pipeline) Succeeded. Pure: the
composition observes the Application and the runs and passes an ``UpstreamStatus``; ``judge_auto``
says promote, wait (and for how long at most) or fail. A stage of several Applications (an
ApplicationSet's) is one ``UpstreamStatus`` by ``combine``: Synced and Healthy at a source commit only
when all of them are.
"""

from __future__ import annotations

from collections.abc import Sequence
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


NO_APPLICATIONS = "NoApplications"
"""The sync status ``combine`` gives a stage with no Applications (an ApplicationSet generating none)."""


def combine(statuses: Sequence[UpstreamStatus]) -> UpstreamStatus:
    """One status for a stage of several Applications, the least of them: the source commit they all run
    (``""`` when they differ or none is known); ``Synced``/``Healthy`` only when every one is (else the
    first other value, in order); Synced and Healthy since the latest of their times (``None`` when one
    is not); the verification ``Failed`` when one failed, ``Succeeded`` when all succeeded, else the
    first other state. No Applications: ``NoApplications`` and ``Missing``, never promotable."""
    if not statuses:
        return UpstreamStatus("", NO_APPLICATIONS, "Missing")
    if len(statuses) == 1:
        return statuses[0]
    commits = {s.source_commit for s in statuses}
    sync = next((s.sync_status for s in statuses if s.sync_status != "Synced"), "Synced")
    health = next((s.health for s in statuses if s.health != "Healthy"), "Healthy")
    times = [s.synced_healthy_since for s in statuses]
    since = None if any(t is None for t in times) else max(t for t in times if t is not None)
    runs = [s.verification for s in statuses]
    verification = FAILED if FAILED in runs else next((r for r in runs if r != SUCCEEDED), SUCCEEDED)
    return UpstreamStatus(commits.pop() if len(commits) == 1 else "", sync, health, since, verification)


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
    if upstream.sync_status == NO_APPLICATIONS:
        return AutoDecision(Verdict.WAIT, "upstream has no Applications (its ApplicationSet generates none)")
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
