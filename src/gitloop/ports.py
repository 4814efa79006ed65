"""The Protocols the engines depend on. Adapters implement them; tests fake them.

Each port is small and speaks plain data (``Manifest`` dicts, ``ResourceKey``), never a client
library's types, so the engines never see lightkube, git or a database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gitloop.model.resources import GroupVersionKind, Manifest


@dataclass(frozen=True)
class ApiResource:
    """One kind the API server serves, as discovery reports it."""

    gvk: GroupVersionKind
    plural: str
    namespaced: bool
    verbs: frozenset[str]


@dataclass(frozen=True)
class WatchEvent:
    """One change seen by a watch: ``type`` is ADDED, MODIFIED or DELETED."""

    type: str
    object: Manifest


@dataclass(frozen=True)
class ObjectList:
    """Every object of one kind at one moment, and the collection's ``resourceVersion`` to watch from."""

    items: list[Manifest]
    resource_version: str


class Cluster(Protocol):
    """One Kubernetes cluster. Errors are raised as ``ClusterError`` subclasses."""

    async def resources(self) -> list[ApiResource]:
        """Every kind the server serves (discovery), preferring each group's preferred version."""
        ...

    async def resource_for(self, api_version: str, kind: str) -> ApiResource:
        """The kind behind ``apiVersion``/``kind``; ``NotFoundError`` if the server lacks it."""
        ...

    async def apply(self, manifest: Manifest, *, force: bool = True, dry_run: bool = False) -> Manifest:
        """Server-side apply with field manager ``gitloop``; returns the object the server holds."""
        ...

    async def patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        patch: list[dict[str, Any]] | dict[str, Any],
        patch_type: str = "merge",
    ) -> Manifest:
        """A JSON merge patch (``"merge"``) or JSON patch (``"json"``, a list of operations) of one
        object; returns the object the server holds. ``NotFoundError`` if it does not exist."""
        ...

    async def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Manifest:
        """One object; ``NotFoundError`` if it does not exist."""
        ...

    async def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[Manifest]:
        """Every object of a kind, in one namespace or (``None``) in all of them."""
        ...

    async def snapshot(self, api_version: str, kind: str, namespace: str | None = None) -> ObjectList:
        """Every object of a kind and the list's ``resourceVersion``: watching from it misses nothing
        (the list + watch of a cache)."""
        ...

    def watch(
        self, api_version: str, kind: str, namespace: str | None = None, resource_version: str | None = None
    ) -> AsyncIterator[WatchEvent]:
        """Changes to objects of a kind, from ``resource_version`` on. A ``resource_version`` the server
        no longer remembers fails with ``ClusterError`` status 410 (Gone): list again."""
        ...

    async def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        propagation: str = "Foreground",
    ) -> None:
        """Delete one object; ``NotFoundError`` if it does not exist."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True)
class StoredObject:
    """One record of the store: a resumable state or a finished run, as JSON-compatible data."""

    kind: str
    name: str
    doc: dict[str, object]
    labels: dict[str, str]
    created: float
    updated: float


@dataclass(frozen=True)
class LogLine:
    """One line of a step's (or any source's) output, in the order it was appended."""

    seq: int
    source: str
    time: float
    text: str


@dataclass(frozen=True)
class HistoryEntry:
    """One entry of an Application's (or any owner's) append-only history."""

    id: int
    owner: str
    time: float
    doc: dict[str, object]


class Store(Protocol):
    """Status and history that outlive a process: PipelineRuns, TaskRuns, step logs, sync operations,
    sync history, lineage. Desired state is never kept here (git holds it). Implementations must be
    safe to use from several threads; every write is durable when the call returns.

    ``kind`` is a free-form namespace such as ``"PipelineRun"`` or ``"SyncOperation"``; ``name`` is unique
    within a kind. ``labels`` are exact-match filters for ``query``. Secrets must never be passed in.
    """

    def put(
        self, kind: str, name: str, doc: dict[str, object], *, labels: dict[str, str] | None = None
    ) -> None:
        """Create or replace one record (labels replaced too when given)."""
        ...

    def get(self, kind: str, name: str) -> StoredObject | None:
        """One record, or ``None``."""
        ...

    def query(
        self, kind: str, *, labels: dict[str, str] | None = None, limit: int | None = None
    ) -> list[StoredObject]:
        """Records of a kind whose labels include ``labels``, newest (by creation) first."""
        ...

    def delete(self, kind: str, name: str) -> bool:
        """Remove one record and its logs; whether it existed."""
        ...

    def append_log(self, run: str, source: str, lines: list[str]) -> None:
        """Append lines of output of ``source`` (e.g. ``"build/step-compile"``) to the log of ``run``."""
        ...

    def read_log(
        self, run: str, *, source: str | None = None, after_seq: int = 0, limit: int | None = None
    ) -> Iterator[LogLine]:
        """The log of ``run`` (optionally one source): lines with ``seq > after_seq``, in order, at most
        ``limit`` of them. Read a page at a time as the iterator advances, so a log of any size takes
        constant memory; lines appended while iterating may or may not be seen (``after_seq`` of the
        last line seen resumes exactly). ``ValueError`` for a negative ``limit``."""
        ...

    def append_history(self, owner: str, doc: dict[str, object]) -> int:
        """Append an entry to ``owner``'s history; returns its id (increasing per owner, from 0)."""
        ...

    def history(self, owner: str) -> list[HistoryEntry]:
        """``owner``'s history, oldest first."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class Observer(Protocol):
    """Where adapters report what they timed, for ``/metrics`` (the composition connects it; adapters
    and engines never see a metrics library). ``event`` names what was timed (``git_request``:
    ``(repo, request_type)``; ``k8s_request``: ``(server, verb, resource_kind, resource_namespace,
    response_code)``), ``labels`` its values in that order, ``seconds`` how long it took. Called on hot
    paths from any thread: it must be cheap and never block on I/O."""

    def __call__(self, event: str, labels: tuple[str, ...], seconds: float) -> None: ...


def no_observer(event: str, labels: tuple[str, ...], seconds: float) -> None:
    """The :class:`Observer` of an adapter nobody measures: does nothing."""


@dataclass(frozen=True)
class CommitInfo:
    """What a commit says about itself."""

    sha: str
    author: str
    email: str
    time: float
    message: str


class GitRepo(Protocol):
    """A local mirror of one remote repository, shared by everything that reads it."""

    @property
    def url(self) -> str:
        """The remote's URL as configured (credentials never included)."""
        ...

    def fetch(self) -> None:
        """Bring the mirror up to date with the remote (all branches and tags)."""
        ...

    def resolve(self, revision: str) -> str:
        """A branch, tag, commit SHA (full or abbreviated) or ``HEAD`` as a full commit SHA;
        ``GitError`` if the remote has no such revision."""
        ...

    def tree_id(self, commit: str, path: str = "") -> str:
        """The object id of the tree at ``path`` in ``commit`` (``""`` is the root): equal ids mean the
        directory's content did not change."""
        ...

    def export(self, commit: str, dest: Path) -> Path:
        """Write the files of ``commit`` into ``dest`` (created; no ``.git``); returns ``dest``."""
        ...

    def commit_info(self, commit: str) -> CommitInfo:
        """Author, time and message of one commit."""
        ...


class Renderer(Protocol):
    """Turns an Application source checked out at ``root`` into Kubernetes manifests."""

    def render(
        self,
        root: Path,
        source: dict[str, Any],
        *,
        app_name: str,
        namespace: str,
        revision: str = "",
        project: str = "",
        refs: Mapping[str, Path] | None = None,
    ) -> list[Manifest]:
        """Render ``source`` (an Argo CD ``spec.source`` mapping: ``path``, ``directory``, ``kustomize``,
        ``helm``) relative to ``root``. Raises ``RenderError`` carrying the tool's message.

        ``revision`` and ``project`` feed the build environment (``$ARGOCD_APP_REVISION``); ``refs``
        maps ``$name`` to the checkout roots of the Application's ``ref`` sources (Helm value files)."""
        ...


@dataclass(frozen=True)
class VolumeRequest:
    """One workspace of a TaskRun as an executor must provide it to the steps.

    ``host_path`` is a directory on this machine to bind (a PipelineRun's shared workspace, a
    ``persistentVolumeClaim`` or a ``-w name=DIR``); ``""`` asks for a fresh empty directory in the
    sandbox. ``files`` (relative path -> bytes, mode) are projected for ``secret``/``configMap``
    workspaces. ``mount_path`` is where a container would mount it (``/workspace/<name>``).
    """

    name: str
    mount_path: str
    host_path: str = ""
    sub_path: str = ""
    read_only: bool = False
    files: tuple[tuple[str, bytes, int], ...] = ()


@dataclass(frozen=True)
class SandboxRequest:
    """What one TaskRun attempt needs before its first step: its workspaces and the names of its steps
    (``step-<name>``, each gets a directory for its exit code and step results)."""

    name: str
    volumes: tuple[VolumeRequest, ...] = ()
    containers: tuple[str, ...] = ()


@dataclass(frozen=True)
class SandboxPaths:
    """Where the steps of a prepared sandbox see things, as substituted into ``$(...path)`` variables.

    ``$(results.r.path)`` is ``results/r``; ``$(steps.step-s.exitCode.path)`` is
    ``steps/step-s/exitCode``; step results are ``steps/step-s/results/r``; ``workspaces`` maps each
    workspace to its path (a host directory for the local executor, the mount path in a container).
    """

    results: str
    steps: str
    home: str
    credentials: str
    workspaces: Mapping[str, str]


@dataclass(frozen=True)
class MountRequest:
    """A workspace or volume a container mounts at ``mount_path`` (``name`` is a ``VolumeRequest``)."""

    name: str
    mount_path: str
    sub_path: str = ""
    read_only: bool = False


@dataclass(frozen=True)
class ContainerRequest:
    """One step or sidecar, every variable already substituted.

    Either ``script`` (complete, with its shebang line) run with ``args``, or ``command`` + ``args``
    (``command`` empty means the image's entrypoint). ``working_dir`` empty is the executor's default.
    """

    name: str
    image: str
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    script: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    working_dir: str = ""
    mounts: tuple[MountRequest, ...] = ()
    stdout_path: str = ""
    stderr_path: str = ""


@dataclass(frozen=True)
class StepOutcome:
    """How one container ended. ``reason`` is ``""`` when it ran to its exit code; ``"Killed"`` when
    ``kill_step`` or ``release`` stopped it; ``"StartFailed"`` (no such executable, bad working
    directory) or ``"ImagePullFailed"`` when it never ran, with ``message`` saying why.

    ``results`` and ``step_results`` are the result files present after the container ended (the
    Task's, and this step's own), each read up to ``result_limit + 1`` bytes of the request.
    """

    exit_code: int
    started: float
    finished: float
    reason: str = ""
    message: str = ""
    results: Mapping[str, str] = field(default_factory=dict)
    step_results: Mapping[str, str] = field(default_factory=dict)


OutputSink = Callable[[str, str], None]
"""Receives each line a container prints: ``(container name, line without newline)``."""


class StepExecutor(Protocol):
    """Runs the containers of TaskRuns: one sandbox per TaskRun attempt, steps one at a time.

    The engine decides; the executor only does: ``prepare`` a sandbox (directories, workspaces), start
    the sidecars, run each step to its end, kill a running step on request and ``release`` the
    sandbox (sidecars stopped, scratch removed). A sandbox's calls never overlap, except ``kill_step``
    and ``release``, which may arrive while ``run_step`` is waiting. Implementations must kill every
    process they started by ``release``.
    """

    name: str
    """``local`` or ``podman``: shown in status and logs."""

    async def prepare(self, sandbox: SandboxRequest, *, result_limit: int) -> SandboxPaths:
        """Create the sandbox; raises ``PipelineError`` if it cannot (e.g. a workspace's host path)."""
        ...

    async def start_sidecars(
        self, sandbox: str, sidecars: Sequence[ContainerRequest], output: OutputSink
    ) -> StepOutcome | None:
        """Start the sidecars in the background; the outcome of the first one that could not start."""
        ...

    async def run_step(self, sandbox: str, step: ContainerRequest, output: OutputSink) -> StepOutcome:
        """Run one step to its end, streaming its output line by line."""
        ...

    async def kill_step(self, sandbox: str) -> None:
        """Kill the running step of ``sandbox`` (its whole process group); no-op if none runs."""
        ...

    async def release(self, sandbox: str) -> None:
        """Stop the sidecars, kill whatever still runs, remove the sandbox's scratch space."""
        ...

    async def close(self) -> None:
        """The run is over: release every sandbox still open. Until then, the executor makes sure that
        the steps it started do not outlive the process running them (``kill -9`` included)."""
        ...
