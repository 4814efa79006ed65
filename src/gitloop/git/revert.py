"""``RevertTree``: a full clone of a config repository in which commits are reverted with ``git revert``.

:class:`~gitloop.git.worktree.Worktree` fetches and pushes (credentials, refused pushes); this adds
what a revert needs: the first-parent history of a path (``git log``), and a revert made in the
clone's own scratch working tree — checked out detached at the tip, ``git revert --no-commit``
(git's three-way merge), the tree written and committed with ``commit-tree`` as the given author,
committer and signing. A conflicting revert is aborted and raises :class:`RevertConflictError` naming
the unmerged files. The clone is the caller's own temporary directory: nobody's checkout is touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gitloop.errors import GitError
from gitloop.git import command
from gitloop.git.credentials import Credentials
from gitloop.git.remote import DEFAULT_TIMEOUT
from gitloop.git.worktree import CommitSigning, Identity, Worktree

__all__ = ["LoggedCommit", "RevertConflictError", "RevertTree"]

_RECORD = "\x1e"
_FIELD = "\x00"


@dataclass(frozen=True)
class LoggedCommit:
    """One commit of a path's history: its id, its parents and its message."""

    sha: str
    parents: tuple[str, ...]
    message: str


class RevertConflictError(GitError):
    """``git revert`` stopped with unmerged files (``files``); the revert was aborted."""

    def __init__(self, commit: str, files: tuple[str, ...]) -> None:
        self.commit = commit
        self.files = files
        super().__init__(f"reverting {commit[:12]} conflicts in {', '.join(files)}")


class RevertTree:
    """A full (not shallow) clone of ``url`` in ``dest``, to read history and revert commits in."""

    def __init__(
        self,
        url: str,
        dest: Path,
        *,
        credentials: Credentials | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        known_hosts: Path | None = None,
    ) -> None:
        self.worktree = Worktree.clone(
            url, dest, credentials=credentials, env=env, timeout=timeout, known_hosts=known_hosts
        )
        # Worktree.clone fetches shallowly; a revert needs the history behind the tip.
        self.worktree = Worktree(
            self.worktree.path,
            url=url,
            credentials=credentials,
            env=env,
            timeout=timeout,
            known_hosts=known_hosts,
        )
        self._env = command.base_environment(env)
        self._timeout = timeout

    def _git(
        self, *args: str, what: str, env: Mapping[str, str] | None = None, input: bytes | None = None
    ) -> tuple[int, bytes]:
        return command.run(
            args,
            env={**self._env, **(env or {})},
            what=what,
            cwd=self.worktree.path,
            timeout=self._timeout,
            input=input,
            check=False,
        )

    def _ok(
        self, *args: str, what: str, env: Mapping[str, str] | None = None, input: bytes | None = None
    ) -> str:
        return command.run(
            args,
            env={**self._env, **(env or {})},
            what=what,
            cwd=self.worktree.path,
            timeout=self._timeout,
            input=input,
        )[1].decode()

    def history(self, start: str, path: str, limit: int) -> list[LoggedCommit]:
        """At most ``limit`` first-parent ancestors of ``start`` (itself included) that changed
        ``path`` (``""``: any), newest first."""
        code, _ = self._git("cat-file", "-e", f"{start}^{{commit}}", what=f"git cat-file {start[:12]}")
        if code != 0:
            raise GitError(
                f"commit {start[:12]} is not in the history of {self.worktree.url} (was the branch rewritten?)"
            )
        spec = ["--", path] if path.strip("/.") else []
        out = self._ok(
            "log",
            "--first-parent",
            f"--max-count={limit}",
            "--format=%H%x00%P%x00%B%x1e",
            start,
            *spec,
            what=f"git log {start[:12]}",
        )
        found = []
        for record in out.split(_RECORD):
            if not record.strip():
                continue
            sha, parents, message = record.lstrip("\n").split(_FIELD, 2)
            found.append(LoggedCommit(sha, tuple(parents.split()), message))
        return found

    def revert(
        self,
        base: str,
        commit: str,
        *,
        message: str,
        author: Identity,
        committer: Identity | None = None,
        signing: CommitSigning | None = None,
    ) -> str | None:
        """A commit on ``base`` undoing ``commit`` (``git revert`` semantics); ``None`` when that
        changes nothing; :class:`RevertConflictError` when it conflicts (nothing is left behind)."""
        who = committer or author
        identity = {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_COMMITTER_NAME": who.name,
            "GIT_COMMITTER_EMAIL": who.email,
        }
        self._ok("checkout", "--quiet", "--force", "--detach", base, what=f"git checkout {base[:12]}")
        self._ok("clean", "-fdq", what="git clean")
        try:
            self._ok(
                "revert", "--no-commit", "--no-edit", commit, what=f"git revert {commit[:12]}", env=identity
            )
        except GitError as exc:
            unmerged = self._ok("diff", "--name-only", "--diff-filter=U", what="git diff").split()
            self._git("revert", "--abort", what="git revert --abort")
            if unmerged:
                raise RevertConflictError(commit, tuple(unmerged)) from exc
            raise
        tree = self._ok("write-tree", what="git write-tree").strip()
        self._git("revert", "--quit", what="git revert --quit")
        if tree == self._ok("rev-parse", f"{base}^{{tree}}", what="git rev-parse").strip():
            return None
        sign = [*signing.git_options(), "commit-tree", "-S"] if signing else ["commit-tree"]
        return self._ok(
            *sign, tree, "-p", base, "-F", "-", what="git commit-tree", input=message.encode(), env=identity
        ).strip()
