"""The image handoff: set an image in a config repository and push the commit that says where the
image came from.

One call: clone the repository shallowly into a temporary directory (``repo``) or use a checkout
(``directory``), read the file at the branch's tip, make the pure edit of :mod:`gitloop.handoff`,
commit it on that tip (author, message with the source commit and PipelineRun, gitloop trailers,
optionally signed) and push. When the push is refused because the branch moved on (another pipeline
pushed first), fetch the new tip, make the edit again on it and push again, after a random pause
that doubles each time (full jitter), up to ``max_attempts`` times. So concurrent handoffs to one
repository all land, each in its own commit, and none undoes another.

Handoffs on one machine to the same repository and branch also take turns: each holds an ``flock``
on a lock file (per user, under the temporary directory, named by a hash of the normalised URL and
the branch) from its fetch to its push, so they never make each other's pushes fail; the retries are
for writers elsewhere. A lock not obtained within ``lock_timeout`` seconds (a stuck holder) is
given up on, and the handoff goes ahead optimistically.

An edit that changes nothing makes no commit. With ``directory``, the checked-out branch is
fast-forwarded to the new commit when no local change stands in the way; a checkout without an
``origin`` remote gets the commit on its branch and nothing is pushed.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from gitloop.errors import GitError, SpecError, UsageError
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
    CommitContext,
    FieldChange,
    ImageEdit,
    ImageUpdate,
    PathExpression,
    check_template,
    parse_expression,
    parse_image_update,
    render_message,
)
from gitloop.handoff import set_image as edit_image
from gitloop.handoff.reference import parse_reference

__all__ = ["DEFAULT_AUTHOR", "MAX_ATTEMPTS", "HandoffResult", "ImageHandoff", "set_image"]

log = logging.getLogger(__name__)

DEFAULT_AUTHOR = Identity("gitloop", "gitloop@localhost")
MAX_ATTEMPTS = 10
BACKOFF_BASE = 0.2
BACKOFF_CAP = 8.0
LOCK_TIMEOUT = 600.0
_random = random.SystemRandom()


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


@dataclass(frozen=True)
class HandoffResult:
    """What happened: ``commit`` is ``None`` when the file already had the image (no commit)."""

    commit: str | None
    changed_files: tuple[str, ...]
    repository: str
    branch: str
    file: str
    image: str
    strategy: str
    changes: tuple[FieldChange, ...]
    base: str
    attempts: int
    pushed: bool
    checkout_updated: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "status": "committed" if self.commit else "unchanged",
            "commit": self.commit,
            "changed_files": list(self.changed_files),
            "repository": self.repository,
            "branch": self.branch,
            "file": self.file,
            "image": self.image,
            "strategy": self.strategy,
            "changes": [c.as_dict() for c in self.changes],
            "base": self.base,
            "attempts": self.attempts,
            "pushed": self.pushed,
            "checkout_updated": self.checkout_updated,
        }


@dataclass(frozen=True)
class _Plan:
    """The request, checked before any git command runs."""

    update: ImageUpdate | None
    expression: PathExpression | None
    image: str
    image_name: str


def _plan(request: ImageHandoff) -> _Plan:
    if (request.repo is None) == (request.directory is None):
        raise UsageError("give exactly one of --repo URL and --dir DIR")
    check_file(request.file)
    update = parse_image_update(request.image) if request.image else None
    expression = parse_expression(request.path) if request.path else None
    if update is not None:
        image, name = update.reference, update.name
    elif expression is not None and expression.value is not None:
        ref = parse_reference(expression.value, what=f"the value of --path {request.path!r}")
        image, name = str(ref), ref.name
    else:
        raise UsageError('--image NAME=REF is needed (or a --path that assigns: <path> = "<value>")')
    if request.message is not None:
        check_template(request.message)
    if request.branch is not None:
        check_branch(request.branch)
    CommitContext(
        image, name, request.file, request.branch or "main", request.source_commit, request.pipelinerun
    )
    return _Plan(update, expression, image, name)


def backoff(attempt: int) -> float:
    """Seconds to wait after the ``attempt``-th refused push: uniform in [0, min(cap, base·2^(n-1))]."""
    return _random.uniform(0.0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)))


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


def _edit(worktree: Worktree, base: str, file: str, plan: _Plan, branch: str) -> tuple[ImageEdit, str]:
    found = worktree.read_file(base, file)
    where = worktree.url or str(worktree.path)
    if found is None:
        raise SpecError(f"not found in branch {branch} of {where} (commit {base[:12]})", file=file)
    try:
        text = found.content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"is not UTF-8 text: {exc}", file=file) from exc
    return edit_image(text, plan.update, file=file, path=plan.expression), found.mode


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
    if max_attempts < 1:
        raise UsageError("max_attempts must be at least 1")
    plan = _plan(request)
    with _open(request, env, timeout) as (worktree, file):
        branch = _branch(request, worktree)
        where = worktree.url or str(worktree.path)
        context = CommitContext(
            plan.image, plan.image_name, file, branch, request.source_commit, request.pipelinerun
        )
        message = render_message(request.message, context)
        locks = lock_dir if lock_dir is not None else lock_directory()
        for attempt in range(1, max_attempts + 1):
            turn = _turn(where, branch, locks, lock_timeout) if take_turns else nullcontext()
            try:
                with turn:
                    base = worktree.fetch(branch)
                    edit, mode = _edit(worktree, base, file, plan, branch)
                    commit = None
                    if edit.changed:
                        commit = worktree.commit_file(
                            base,
                            file,
                            edit.text.encode("utf-8"),
                            message=message,
                            author=request.author,
                            committer=request.committer,
                            signing=request.signing,
                            mode=mode,
                        )
                    if commit is None:
                        log.info(
                            "%s in %s branch %s already has %s: no commit", file, where, branch, plan.image
                        )
                        return HandoffResult(
                            None, (), where, branch, file, plan.image, edit.strategy, (), base, attempt, False
                        )
                    worktree.push(commit, branch, parent=base)
            except NonFastForwardError as exc:
                if attempt == max_attempts:
                    raise GitError(
                        f"gave up setting {plan.image} in {file}: branch {branch} of {where} moved on "
                        f"before each of {max_attempts} pushes"
                    ) from exc
                pause = backoff(attempt)
                log.info(
                    "push %d of %s to %s was refused (branch moved); again in %.2fs",
                    attempt,
                    file,
                    where,
                    pause,
                )
                sleep(pause)
                continue
            updated = request.directory is not None and worktree.fast_forward(branch, commit)
            log.info("set %s in %s: commit %s on %s of %s", plan.image, file, commit[:12], branch, where)
            return HandoffResult(
                commit,
                (file,),
                where,
                branch,
                file,
                plan.image,
                edit.strategy,
                edit.changes,
                base,
                attempt,
                worktree.url is not None,
                updated,
            )
    raise AssertionError("unreachable")  # pragma: no cover


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
