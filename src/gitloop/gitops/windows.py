"""Sync windows: whether an AppProject's ``syncWindows`` let an Application sync now, decided as Argo
CD decides it (``SyncWindows.Matches`` and ``CanSync``).

- A window *selects* the Application when one of its ``applications`` globs matches the name, one of
  its ``clusters`` globs the destination's ``name`` or ``server``, or one of its ``namespaces`` globs
  the destination namespace (with ``andOperator``: every selector it has must match). A window with
  no selectors selects nothing. Globs: ``*`` (any text, ``/`` included), ``?``, ``[abc]``.
- A window is *active* when its last fire time ``t`` (cron, in its time zone) satisfies
  ``t <= now < t + duration``.
- No selecting window: syncs are allowed. An active deny window blocks every sync; an active allow
  window (and no active deny) allows; allow windows that select the Application but none active
  block. Deny wins over allow.
- A manual sync goes through a block when every active deny window has ``manualSync`` or, blocked by
  inactive allow windows, when one of them has it.

``state`` returns a ``WindowState`` (allowed, manual allowed, the windows selecting, active and
blocking, and when the answer may change next, for re-checking at the boundary); its ``response`` is
what ``GET /api/v1/applications/{name}/syncwindows`` answers.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from gitloop.spec.argocd import Application
from gitloop.spec.argocd.project import SyncWindow
from gitloop.spec.cron import zone


@dataclass(frozen=True)
class WindowState:
    """What an Application's sync windows say at one instant."""

    allowed: bool
    """Whether an automated sync may start."""
    manual_allowed: bool
    """Whether a manual sync may start."""
    assigned: tuple[SyncWindow, ...] = ()
    """The windows that select the Application."""
    active: tuple[SyncWindow, ...] = ()
    """The assigned windows open now."""
    blocking: tuple[SyncWindow, ...] = ()
    """The windows that block: the active deny windows, or the assigned allow windows none of which
    is open."""
    next_change: float | None = None
    """The next instant (epoch seconds) at which a window opens or closes; ``None``: never."""

    def message(self, *, manual: bool = False) -> str:
        """Why syncs are blocked (empty when the kind of sync asked for is allowed)."""
        if self.manual_allowed if manual else self.allowed:
            return ""
        labels = ", ".join(w.label for w in self.blocking)
        if any(w.kind == "deny" for w in self.blocking):
            reason = f"active {labels}"
        else:
            reason = f"no active allow window: {labels}"
        return f"blocked by sync window: {reason}"

    def response(self) -> dict[str, Any]:
        """Argo CD's ``ApplicationSyncWindowsResponse``: the active and the assigned windows, and
        ``canSync`` (whether a manual sync may start now)."""
        return {
            "activeWindows": [w.to_dict() for w in self.active],
            "assignedWindows": [w.to_dict() for w in self.assigned],
            "canSync": self.manual_allowed,
        }


def selects(window: SyncWindow, app: Application) -> bool:
    """Whether ``window`` applies to ``app`` (its applications, clusters and namespaces globs)."""
    dest = app.destination
    checks = []
    if window.applications:
        checks.append(any(_glob(p, app.name) for p in window.applications))
    if window.clusters:
        checks.append(
            any(
                (bool(dest.name) and _glob(p, dest.name)) or (bool(dest.server) and _glob(p, dest.server))
                for p in window.clusters
            )
        )
    if window.namespaces:
        checks.append(any(_glob(p, dest.namespace) for p in window.namespaces))
    if not checks:
        return False
    return all(checks) if window.and_operator else any(checks)


def _glob(pattern: str, value: str) -> bool:
    return pattern == "*" or fnmatch.fnmatchcase(value, pattern)


def span(window: SyncWindow, now: float) -> tuple[float, float] | None:
    """The open period ``(start, end)`` of ``window`` containing ``now``; ``None`` when it is closed."""
    at = datetime.fromtimestamp(now, UTC)
    fired = window.schedule.previous(at, zone(window.time_zone))
    if fired is None:
        return None
    end = fired + timedelta(seconds=window.duration)
    return (fired.timestamp(), end.timestamp()) if at < end else None


def _next_opening(window: SyncWindow, now: float) -> float | None:
    fires = window.schedule.following(datetime.fromtimestamp(now, UTC), zone(window.time_zone))
    return None if fires is None else fires.timestamp()


def state(windows: tuple[SyncWindow, ...], app: Application, now: float) -> WindowState:
    """What ``windows`` (an AppProject's) say about syncing ``app`` at ``now`` (epoch seconds)."""
    assigned = tuple(w for w in windows if selects(w, app))
    if not assigned:
        return WindowState(allowed=True, manual_allowed=True)
    active: list[SyncWindow] = []
    changes: list[float] = []
    for window in assigned:
        found = span(window, now)
        if found is not None:
            active.append(window)
            changes.append(found[1])
        else:
            opening = _next_opening(window, now)
            if opening is not None:
                changes.append(opening)
    next_change = min(changes) if changes else None
    denies = tuple(w for w in active if w.kind == "deny")
    if denies:
        manual = all(w.manual_sync for w in denies)
        return WindowState(False, manual, assigned, tuple(active), denies, next_change)
    if any(w.kind == "allow" for w in active):
        return WindowState(True, True, assigned, tuple(active), (), next_change)
    allows = tuple(w for w in assigned if w.kind == "allow")
    if allows:
        manual = any(w.manual_sync for w in allows)
        return WindowState(False, manual, assigned, tuple(active), allows, next_change)
    return WindowState(True, True, assigned, tuple(active), (), next_change)
