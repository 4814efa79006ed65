"""The two seams between the server and the engines, as small Protocols the server owns.

``PipelineLauncher`` starts the runs an EventListener created (the CI side); ``AppRefresher`` refreshes
the Applications a push touched and answers the API about them (the CD side). The HTTP layer and the
webhook logic only see these, so they are tested with small fakes; ``ci.py`` and ``cd.py`` adapt the
real engine services to them. ``Subscription`` is one reader of the Application stream (``/api/v1``).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gitloop.gitops.operation import SyncRequest
from gitloop.gitops.query import AppQuery
from gitloop.gitops.resource import ResourceRef
from gitloop.lineage import RunSource
from gitloop.spec.argocd import Application, AppProject, Destination

LAUNCHABLE_KINDS = ("PipelineRun", "TaskRun")
"""What a TriggerTemplate may create here: there is no cluster to create anything else in."""


class NotFound(LookupError):
    """The named Application or run does not exist (answered with 404)."""


class Conflict(RuntimeError):
    """The request conflicts with what is going on (an operation already running; answered with 409)."""


class PipelineLauncher(Protocol):
    """Starts PipelineRuns (and TaskRuns) rendered by a TriggerTemplate."""

    def launch(self, resource: dict[str, Any], *, event_id: str, source: RunSource | None = None) -> str:
        """Queue ``resource`` (a ``tekton.dev/v1`` PipelineRun or TaskRun with ``metadata.name``) to run in
        the background and record it in the store; returns the run's name. Must return quickly: the
        webhook sender is waiting. ``source`` is the run's link in the lineage, carried to its end.
        Raises ``GitloopError`` when it cannot be queued at all."""
        ...

    def cancel(self, name: str, status: str | None = None) -> str:
        """Cancel the run ``name`` with Tekton's ``spec.status`` (``Cancelled`` unless ``status``): a
        queued run ends at once without starting, a running one is cancelled by its driver. Returns the
        status set; ``NotFound`` for an unknown run, ``Conflict`` for one that finished (or runs in
        another process), ``UsageError`` for a status Tekton does not have."""
        ...

    def rerun(self, name: str) -> str:
        """Queue a copy of the run ``name`` under a new name (``<name>-r-xxxxx``) labelled
        ``gitloop.dev/rerun-of``, linked in the lineage to the same source commit; the new name.
        ``NotFound`` for an unknown run, ``Conflict`` when its resource was not kept."""
        ...

    def in_flight(self) -> int:
        """Runs queued or running."""
        ...

    def resume(self) -> list[str]:
        """Queue again the runs a previous process queued but never started; their names."""
        ...

    def drain(self, grace: float, force: threading.Event | None = None) -> int:
        """Stop starting runs and wait up to ``grace`` seconds (or until ``force`` is set) for the running
        ones to end, then interrupt those still running (steps stopped, runs ended ``Interrupted``);
        returns how many were interrupted. Queued runs stay queued for the next start."""
        ...


@dataclass(frozen=True)
class Push:
    """What a push webhook says about the repository and the ref it updated."""

    provider: str
    repo_urls: tuple[str, ...]
    """Every URL the payload gives for the repository (web page, HTTPS clone URL, SSH URL)."""
    web_url: str
    ref: str
    """``refs/heads/main``, ``refs/tags/v1``."""
    after: str
    default_branch: str = ""
    head_message: str = ""
    head_time: float | None = None
    deleted: bool = False


class AppRefresher(Protocol):
    """The CD engine as the server sees it."""

    def names(self) -> list[str]:
        """Every Application, sorted."""
        ...

    def project_of(self, name: str) -> str | None:
        """The project of the Application ``name`` (``None``: no such Application)."""
        ...

    def project_specs(self) -> list[AppProject]:
        """Every AppProject, ``default`` included."""
        ...

    def apps_for_push(self, push: Push) -> list[str]:
        """The Applications with a source in the pushed repository tracking the pushed ref."""
        ...

    def refresh(self, app_names: Sequence[str]) -> None:
        """Refresh these Applications now, fetching git (auto-sync follows). Thread-safe; returns at once."""
        ...

    def status(self, name: str) -> Mapping[str, Any]:
        """The Application's status as last reconciled (``NotFound`` if unknown)."""
        ...

    async def refresh_now(self, name: str) -> Mapping[str, Any]:
        """Refresh one Application and return its new status (``NotFound`` if unknown)."""
        ...

    async def sync(self, name: str, request: SyncRequest, *, wait: bool) -> Mapping[str, Any]:
        """Start a sync (``Conflict`` if one runs); with ``wait``, return the finished operation.
        The request is the CD engine's own (``gitloop.gitops.operation.SyncRequest``)."""
        ...

    async def drain(self, grace: float, force: threading.Event | None = None) -> None:
        """Wait up to ``grace`` seconds (or until ``force`` is set) for running sync operations to end,
        then stop reconciling. Idempotent."""
        ...

    # -- /api/v1: Argo CD-shaped objects (``gitloop.gitops.shapes``, ``gitloop.gitops.apiobjects``) --

    def list_applications(self, query: AppQuery) -> dict[str, Any]:
        """One page of the Applications ``query`` selects: an ``ApplicationList``. From memory only."""
        ...

    async def application(self, name: str, *, refresh: str = "") -> dict[str, Any]:
        """The Application (``refresh``: ``normal`` or ``hard`` refreshes it first)."""
        ...

    async def start_sync(self, name: str, request: SyncRequest) -> dict[str, Any]:
        """Start a sync (``Conflict`` if an operation runs); the Application with the operation."""
        ...

    async def rollback(
        self, name: str, history_id: int, *, prune: bool, dry_run: bool, username: str = ""
    ) -> dict[str, Any]:
        """Start a sync back to history entry ``history_id``; the Application with the operation.
        ``SyncError`` (400) while auto-sync is on."""
        ...

    async def revert(self, name: str, *, username: str = "") -> dict[str, Any]:
        """Revert the config commit that brought ``name``'s current state (``gitloop.service.revert``);
        the Application with ``revert``, what was pushed. ``Conflict`` when the revert conflicts."""
        ...

    def terminate(self, name: str) -> None:
        """Stop the running operation (``SyncError`` when none runs)."""
        ...

    def sync_windows(self, name: str) -> dict[str, Any]:
        """Argo CD's ``ApplicationSyncWindowsResponse`` of ``name`` now: ``activeWindows``,
        ``assignedWindows``, ``canSync`` (a manual sync) — ``NotFound`` if unknown."""
        ...

    async def resource_tree(self, name: str) -> dict[str, Any]:
        """``ApplicationTree``: the resources and the objects they own, read from the cluster now."""
        ...

    async def managed_resources(self, name: str) -> dict[str, Any]:
        """``{"items": [ResourceDiff]}`` of a fresh comparison."""
        ...

    async def manifests(self, name: str) -> dict[str, Any]:
        """``ManifestResponse``: the desired objects as gitloop applies them."""
        ...

    async def events(self, name: str) -> dict[str, Any]:
        """``EventList`` of the Events about the Application's resources, read from the cluster now."""
        ...

    async def resource(self, name: str, ref: ResourceRef) -> dict[str, Any]:
        """``ApplicationResourceResponse`` ``{"manifest"}``: the live object ``ref``, a node of the
        Application's tree, Secret values masked — ``NotInTree`` for any other object."""
        ...

    def subscribe(self, query: AppQuery) -> Subscription:
        """Changes of the Applications ``query`` selects, starting with each as ``ADDED``; ``ADDED``,
        ``MODIFIED`` and ``DELETED`` follow as Applications are created, change and are deleted."""
        ...

    async def create(self, app: Application, *, upsert: bool) -> dict[str, Any]:
        """Register ``app`` (``POST /api/v1/applications``); the Application. ``Conflict`` when one of
        its name exists with another spec and not ``upsert``; ``SpecError`` for a project or
        destination the engine refuses."""
        ...

    async def update(self, name: str, app: Application) -> dict[str, Any]:
        """Replace the spec of ``name`` by ``app``'s (``NotFound``; ``UsageError`` for another name)."""
        ...

    def delete(self, name: str, *, cascade: bool | None, propagation: str | None) -> None:
        """Start deleting ``name`` (``NotFound``); returns at once, the deletion runs in the background."""
        ...

    def projects(self) -> dict[str, Any]:
        """``AppProjectList`` (``default`` included)."""
        ...

    def project(self, name: str) -> dict[str, Any]:
        """One ``AppProject`` (``NotFound`` if unknown)."""
        ...

    def destinations(self) -> list[Destination]:
        """Every Application's destination (``/api/v1/clusters`` counts them per cluster)."""
        ...


class Subscription:
    """One reader of Application changes: a bounded queue. A reader that falls ``size`` events behind
    is dropped (``next`` then answers ``None``), so a slow client never holds the engine up."""

    def __init__(self, query: AppQuery, *, size: int = 256) -> None:
        self.query = query
        self._queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=size)
        self.dropped = False
        self.closed = False

    def offer(self, event: dict[str, Any]) -> bool:
        """Queue ``event`` without waiting; ``False`` (and the subscription dropped) when it is full."""
        if self.closed:
            return False
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped = self.closed = True
            return False
        return True

    async def next(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next event; ``None`` once dropped or closed, ``{}`` after ``timeout`` without one."""
        if self.closed and self._queue.empty():
            return None
        try:
            found = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return {}
        if self.dropped:
            return None
        return found

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)
