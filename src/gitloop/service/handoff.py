"""The image handoff's wiring to git: set an image in a config repository and push the commit that
says where the image came from.

One call: clone the repository shallowly into a temporary directory (``repo``) or use a checkout
(``directory``), then let the handoff engine (:func:`gitloop.handoff.land`) fetch the branch's tip,
make the edit, commit it (author, message with the source commit and PipelineRun, gitloop trailers,
optionally signed) and push, retrying on the new tip while other writers push first.

Handoffs on one machine to the same repository and branch also take turns: each holds an ``flock``
on a lock file (per user, under the temporary directory, named by a hash of the normalised URL and
the branch) from its fetch to its push, so they never make each other's pushes fail; the retries are
for writers elsewhere. A lock not obtained within ``lock_timeout`` seconds (a stuck holder) is
given up on, and the handoff goes ahead optimistically.

With ``directory``, the checked-out branch is fast-forwarded to the new commit when no local change
stands in the way; a checkout without an ``origin`` remote gets the commit on its branch and nothing
is pushed.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from gitloop.errors import UsageError
from gitloop.git import Credentials, normalize_git_url
from gitloop.git.remote import DEFAULT_TIMEOUT
from gitloop.git.worktree import (
    CommitSigning,
    Identity,
    NonFastForwardError,
    Worktree,
    check_branch,
    check_file,
)
from gitloop.handoff import (
    MAX_ATTEMPTS,
    BranchMoved,
    HandoffPlan,
    HandoffResult,
    PushRetry,
    land,
    plan_handoff,
)

__all__ = ["DEFAULT_AUTHOR", "ImageHandoff", "WorktreeBranch", "lock_directory", "set_image"]

log = logging.getLogger(__name__)

DEFAULT_AUTHOR = Identity("gitloop", "gitloop@localhost")
LOCK_TIMEOUT = 600.0


@dataclass(frozen=True)
class ImageHandoff:
    """What to set where. Exactly one of ``repo`` (a URL) and ``directory`` (a checkout); ``file`` is
    relative to the repository root (to ``directory`` for a checkout). ``image`` is ``NAME=REF``
    (see :func:`gitloop.handoff.parse_image_update`); it may be left out when ``path`` assigns a value.
    ``branch`` defaults to the remote's default branch (the checked-out one for ``directory``)."""

    file: str
    image: str | None = None
    repo: str | None = None
    directory: Path | None = None
    path: str | None = None
    branch: str | None = None
    message: str | None = None
    author: Identity = DEFAULT_AUTHOR
    committer: Identity | None = None
    source_commit: str | None = None
    pipelinerun: str | None = None
    signing: CommitSigning | None = None
    credentials: Credentials | None = field(default=None, repr=False)
    known_hosts: Path | None = None


def _plan(request: ImageHandoff) -> HandoffPlan:
    if (request.repo is None) == (request.directory is None):
        raise UsageError("give exactly one of --repo URL and --dir DIR")
    check_file(request.file)
    if request.branch is not None:
        check_branch(request.branch)
    return plan_handoff(
        file=request.file,
        image=request.image,
        path=request.path,
        message=request.message,
        branch=request.branch,
        source_commit=request.source_commit,
        pipelinerun=request.pipelinerun,
    )


def lock_directory() -> Path:
    """Where this user's handoffs on this machine keep their lock files."""
    return Path(tempfile.gettempdir()) / f"gitloop-{os.getuid()}" / "handoff-locks"


@contextmanager
def _turn(where: str, branch: str, directory: Path, timeout: float) -> Iterator[None]:
    """Exclusive use of ``branch`` of ``where`` among this machine's handoffs (see the module doc)."""
    key = hashlib.sha256(f"{normalize_git_url(where) or where}\0{branch}".encode()).hexdigest()[:32]
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(directory / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        log.debug("no handoff lock in %s: %s", directory, exc)
        yield
        return
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    log.warning(
                        "handoff lock for %s %s still held after %.0fs; going ahead", where, branch, timeout
                    )
                    break
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)  # releases the flock


@dataclass
class WorktreeBranch:
    """The handoff engine's :class:`~gitloop.handoff.ConfigBranch` over one branch of a worktree,
    committing as ``author``/``committer`` (signed with ``signing``) and taking turns through the
    lock files in ``locks`` (``None``: no turns, the retries alone)."""

    worktree: Worktree
    name: str
    author: Identity = DEFAULT_AUTHOR
    committer: Identity | None = None
    signing: CommitSigning | None = None
    locks: Path | None = None
    lock_timeout: float = LOCK_TIMEOUT

    @property
    def where(self) -> str:
        return self.worktree.url or str(self.worktree.path)

    @property
    def remote(self) -> bool:
        return self.worktree.url is not None

    def turn(self) -> AbstractContextManager[None]:
        if self.locks is None:
            return nullcontext()
        return _turn(self.where, self.name, self.locks, self.lock_timeout)

    def fetch(self) -> str:
        return self.worktree.fetch(self.name)

    def read_file(self, commit: str, file: str) -> tuple[bytes, str] | None:
        found = self.worktree.read_file(commit, file)
        return None if found is None else (found.content, found.mode)

    def commit_file(self, base: str, file: str, content: bytes, *, message: str, mode: str) -> str | None:
        return self.worktree.commit_file(
            base,
            file,
            content,
            message=message,
            author=self.author,
            committer=self.committer,
            signing=self.signing,
            mode=mode,
        )

    def push(self, commit: str, *, parent: str) -> None:
        try:
            self.worktree.push(commit, self.name, parent=parent)
        except NonFastForwardError as exc:
            raise BranchMoved(str(exc)) from exc


@contextmanager
def _open(
    request: ImageHandoff, env: Mapping[str, str] | None, timeout: float | None
) -> Iterator[tuple[Worktree, str]]:
    """The worktree and the file's path from its root."""
    if request.directory is not None:
        worktree = Worktree.open(
            request.directory,
            credentials=request.credentials,
            env=env,
            timeout=timeout,
            known_hosts=request.known_hosts,
        )
        target = (Path(request.directory).resolve() / check_file(request.file)).resolve()
        try:
            rel = target.relative_to(worktree.path.resolve()).as_posix()
        except ValueError:
            raise UsageError(f"--file {request.file} is outside the checkout {worktree.path}") from None
        yield worktree, rel
        return
    assert request.repo is not None
    with tempfile.TemporaryDirectory(prefix="gitloop-handoff-") as tmp:
        worktree = Worktree.clone(
            request.repo,
            Path(tmp) / "repo",
            credentials=request.credentials,
            env=env,
            timeout=timeout,
            known_hosts=request.known_hosts,
        )
        yield worktree, check_file(request.file)


def set_image(
    request: ImageHandoff,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    max_attempts: int = MAX_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
    lock_dir: Path | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
    take_turns: bool = True,
) -> HandoffResult:
    """Set the image of ``request`` and push the commit (see the module documentation).

    ``lock_dir`` overrides :func:`lock_directory`; ``take_turns=False`` leaves concurrent handoffs
    on this machine to the retries alone. ``UsageError``/``SpecError`` for bad input (nothing
    pushed), ``GitError`` when git fails or the branch moved on before each of ``max_attempts``
    pushes."""
    retry = PushRetry(max_attempts=max_attempts, sleep=sleep)
    plan = _plan(request)
    with _open(request, env, timeout) as (worktree, file):
        branch = WorktreeBranch(
            worktree,
            _branch(request, worktree),
            request.author,
            request.committer,
            request.signing,
            (lock_dir if lock_dir is not None else lock_directory()) if take_turns else None,
            lock_timeout,
        )
        result = land(branch, plan, file, retry=retry)
        if result.commit is not None and request.directory is not None:
            result = dataclasses.replace(
                result, checkout_updated=worktree.fast_forward(branch.name, result.commit)
            )
        return result


def _branch(request: ImageHandoff, worktree: Worktree) -> str:
    """``--branch``, else the checked-out branch of a checkout, else the remote's default branch."""
    if request.branch:
        return check_branch(request.branch)
    current = worktree.current_branch() if request.directory is not None else None
    if current is not None:
        return current
    if worktree.url is None:
        raise UsageError(f"--dir {request.directory}: HEAD is detached; give --branch")
    return worktree.default_branch()
