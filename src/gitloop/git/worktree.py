"""``Worktree``: a local repository to build commits in and push them from, with the ``git`` CLI.

Commits are made with plumbing, never with the working tree: the file is read from the commit it
changes (``ls-tree``/``cat-file``), the new content is written as a blob, a tree is made from the
parent's tree in a private index file (``GIT_INDEX_FILE``), and ``commit-tree`` makes the commit with
the author, committer and message given (signed with ``-S`` when asked). So a commit can be rebuilt
on any tip without checkouts, merges or conflicts, and a user's checkout (``open``) keeps its
working tree, index and uncommitted changes.

Remote operations fetch and push by URL with explicit refspecs and the credentials of
:mod:`gitloop.git.credentials` (never in a URL or on disk); a push the remote refuses because its
branch moved on raises :class:`NonFastForwardError`, so the caller can fetch, rebuild and retry.

Signing: OpenPGP (``gpg``; the key is ``user.signingkey``, a key id or fingerprint, or the
committer's identity when none is given) or SSH (``gpg.format=ssh``; the key is the path of a
private key file, or ``key::<public key>`` served by ssh-agent). The key must be usable without a
prompt: no passphrase, or one cached by gpg-agent / ssh-agent. ``GNUPGHOME`` and ``SSH_AUTH_SOCK``
are taken from the environment.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from gitloop.errors import GitError, UsageError
from gitloop.git import command
from gitloop.git.credentials import Credentials, HttpsCredentials, git_auth
from gitloop.git.remote import DEFAULT_TIMEOUT, check_url, list_remote
from gitloop.git.urls import split_userinfo

__all__ = ["CommitSigning", "Identity", "NonFastForwardError", "TreeFile", "Worktree"]

#: A push refused because the branch moved (or another push holds or just changed its ref).
_MOVED = re.compile(
    r"\[rejected\].*\((fetch first|non-fast-forward|stale info)\)"
    r"|\[remote rejected\].*\((failed to update ref|failed to lock|cannot lock ref[^)]*)\)"
    r"|cannot lock ref|incorrect old value provided",
    re.IGNORECASE,
)
_BRANCH_MISSING = re.compile(r"couldn't find remote ref|remote ref does not exist", re.IGNORECASE)
_IDENTITY = re.compile(r"\s*([^<>\n]*?)\s*<([^<>\s]+)>\s*")
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_BAD_BRANCH = re.compile(r"[\s~^:?*\[\\\x00-\x1f\x7f]|\.\.|@\{|^-|^/|/$|\.lock$|//")


class NonFastForwardError(GitError):
    """The remote branch moved on since the commit's parent was fetched: fetch, rebuild, push again."""


@dataclass(frozen=True)
class Identity:
    """A commit author or committer."""

    name: str
    email: str

    def __post_init__(self) -> None:
        if not self.name.strip() or any(c in self.name + self.email for c in "<>\n\r\0"):
            raise UsageError(f"not a usable git identity: {self.name!r} <{self.email}>")

    @classmethod
    def parse(cls, text: str) -> Identity:
        """``Name <email>``."""
        found = _IDENTITY.fullmatch(text)
        if found is None:
            raise UsageError(f"identity {text!r} is not 'Name <email>'")
        return cls(found[1], found[2])

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


@dataclass(frozen=True)
class CommitSigning:
    """How to sign commits: ``openpgp`` (gpg) or ``ssh``, with ``key`` (see the module documentation)
    and, for OpenPGP, another ``program`` than ``gpg``."""

    format: Literal["openpgp", "ssh"] = "openpgp"
    key: str | None = field(default=None)
    program: str | None = None

    def __post_init__(self) -> None:
        if self.format not in ("openpgp", "ssh"):
            raise UsageError(f"signing format {self.format!r} is not openpgp or ssh")
        if self.format == "ssh" and not self.key:
            raise UsageError("SSH commit signing needs a key (a private key file or key::<public key>)")
        if any(c in (self.key or "") + (self.program or "") for c in "\n\r\0"):
            raise UsageError("the signing key and program must be one line")

    def git_options(self) -> list[str]:
        """``-c`` options and the ``-S`` flag for ``git commit-tree``."""
        options = ["-c", f"gpg.format={self.format}"]
        if self.key:
            options += ["-c", f"user.signingkey={self.key}"]
        if self.program:
            options += ["-c", f"gpg.{'ssh.' if self.format == 'ssh' else ''}program={self.program}"]
        return options


@dataclass(frozen=True)
class TreeFile:
    """A file of a commit: its mode (``100644`` or ``100755``) and content."""

    mode: str
    content: bytes


def check_branch(branch: str) -> str:
    """``branch`` if it is a usable branch name (no revision syntax, no option)."""
    name = branch.strip().removeprefix("refs/heads/")
    if not name or _BAD_BRANCH.search(name):
        raise UsageError(f"{branch!r} is not a branch name")
    return name


def check_file(path: str) -> str:
    """``path`` as a normal relative path inside a repository, or ``UsageError``."""
    text = path.strip()
    rel = PurePosixPath(text)
    if not text or rel.is_absolute() or ".." in rel.parts or any(c in text for c in "\n\r\0"):
        raise UsageError(f"--file {path!r} must be a relative path inside the repository")
    normal = str(rel)
    if normal in ("", "."):
        raise UsageError(f"--file {path!r} must name a file")
    return normal


class Worktree:
    """A repository on this machine and, unless local only, the remote it fetches from and pushes to.

    Make one with :meth:`clone` (a new repository in an empty directory, fetched shallowly from
    ``url``) or :meth:`open` (an existing checkout; its ``origin`` remote, if any, is the remote).
    """

    def __init__(
        self,
        path: Path,
        *,
        url: str | None,
        credentials: Credentials | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        shallow: bool = False,
        known_hosts: Path | None = None,
    ) -> None:
        self.path = path
        self._url: str | None = None
        self._credentials = credentials
        if url is not None:
            clean, user, password = split_userinfo(url.strip())
            self._url = check_url(clean)
            if credentials is None and (user or password):
                self._credentials = HttpsCredentials(user or "", password or "")
        self._env = command.base_environment(env)
        self._timeout = timeout
        self._shallow = shallow
        self._known_hosts = known_hosts

    # -- making one ----------------------------------------------------------------------------------

    @classmethod
    def clone(
        cls,
        url: str,
        dest: Path,
        *,
        credentials: Credentials | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        known_hosts: Path | None = None,
    ) -> Worktree:
        """A new repository in ``dest`` (created, or empty) for ``url``; nothing fetched yet."""
        dest = Path(dest)
        if dest.exists() and any(dest.iterdir()):
            raise GitError(f"cannot clone into {dest}: it is not empty")
        dest.mkdir(parents=True, exist_ok=True)
        base = command.base_environment(env)
        command.run(["init", "--quiet", str(dest)], env=base, what=f"git init {dest}", timeout=timeout)
        return cls(
            dest.resolve(),
            url=url,
            credentials=credentials,
            env=env,
            timeout=timeout,
            shallow=True,
            known_hosts=known_hosts,
        )

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        remote: str = "origin",
        credentials: Credentials | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        known_hosts: Path | None = None,
    ) -> Worktree:
        """The checkout holding ``path``; its ``remote``'s URL (if it has that remote) is the remote."""
        base = command.base_environment(env)
        where = Path(path)
        if not where.is_dir():
            raise UsageError(f"--dir {path}: not a directory")
        code, out = command.run(
            ["rev-parse", "--show-toplevel"],
            env=base,
            what=f"git rev-parse in {where}",
            cwd=where,
            check=False,
        )
        if code != 0:
            raise UsageError(f"--dir {path}: not inside a git checkout")
        top = Path(out.decode().strip())
        code, out = command.run(
            ["remote", "get-url", "--", remote], env=base, what="git remote get-url", cwd=top, check=False
        )
        url = out.decode().strip() if code == 0 else None
        return cls(
            top, url=url or None, credentials=credentials, env=env, timeout=timeout, known_hosts=known_hosts
        )

    # -- plumbing ------------------------------------------------------------------------------------

    @property
    def url(self) -> str | None:
        """The remote's URL without credentials, or ``None`` for a local-only repository."""
        return self._url

    def _git(
        self, *args: str, what: str, input: bytes | None = None, env: Mapping[str, str] | None = None
    ) -> bytes:
        run_env = {**self._env, **(env or {})}
        return command.run(args, env=run_env, what=what, cwd=self.path, timeout=self._timeout, input=input)[1]

    def _remote(self, *args: str, what: str) -> bytes:
        assert self._url is not None
        with git_auth(self._url, self._credentials, known_hosts=self._known_hosts) as auth:
            env = {**self._env, **auth.env}
            return command.run(
                args, env=env, what=what, cwd=self.path, scrub=auth.scrub, timeout=self._timeout
            )[1]

    def _sha(self, revision: str) -> str | None:
        code, out = command.run(
            ["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"],
            env=self._env,
            what=f"git rev-parse {revision}",
            cwd=self.path,
            timeout=self._timeout,
            check=False,
        )
        sha = out.decode().strip()
        return sha if code == 0 and _SHA.fullmatch(sha) else None

    # -- branches ------------------------------------------------------------------------------------

    def default_branch(self) -> str:
        """The remote's default branch, or the checked-out branch of a local-only repository."""
        if self._url is None:
            return self.current_branch() or "main"
        with git_auth(self._url, self._credentials, known_hosts=self._known_hosts) as auth:
            env = {**self._env, **auth.env}
            refs = list_remote(self._url, env=env, scrub=auth.scrub, timeout=self._timeout, git_dir=None)
        if refs.head is None or not refs.head.startswith("refs/heads/"):
            raise GitError(f"{self._url} has no default branch; give the branch")
        return refs.head.removeprefix("refs/heads/")

    def current_branch(self) -> str | None:
        """The branch checked out, or ``None`` (detached HEAD)."""
        code, out = command.run(
            ["symbolic-ref", "--quiet", "--short", "HEAD"],
            env=self._env,
            what="git symbolic-ref HEAD",
            cwd=self.path,
            timeout=self._timeout,
            check=False,
        )
        return (out.decode().strip() or None) if code == 0 else None

    def fetch(self, branch: str) -> str:
        """The commit ``branch`` is at now: fetched from the remote into ``refs/remotes/origin/``, or
        read from ``refs/heads/`` of a local-only repository."""
        name = check_branch(branch)
        if self._url is None:
            sha = self._sha(f"refs/heads/{name}")
            if sha is None:
                raise GitError(f"branch {name!r} not found in {self.path}")
            return sha
        tracking = f"refs/remotes/origin/{name}"
        args = ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head"]
        args += ["--depth=1"] if self._shallow else []
        try:
            self._remote(
                *args, "--", self._url, f"+refs/heads/{name}:{tracking}", what=f"git fetch {self._url}"
            )
        except GitError as exc:
            if _BRANCH_MISSING.search(str(exc)):
                raise GitError(f"branch {name!r} not found in {self._url}") from exc
            raise
        sha = self._sha(tracking)
        if sha is None:  # pragma: no cover - fetch succeeded
            raise GitError(f"branch {name!r} of {self._url} was not fetched")
        return sha

    # -- commits -------------------------------------------------------------------------------------

    def read_file(self, commit: str, path: str) -> TreeFile | None:
        """``path`` in ``commit``, or ``None`` when the commit has no such file."""
        rel = check_file(path)
        out = self._git("ls-tree", "-z", "--full-tree", commit, "--", rel, what=f"git ls-tree {commit[:12]}")
        entry = out.split(b"\0", 1)[0].decode("utf-8", "replace")
        if not entry:
            return None
        meta, _, _name = entry.partition("\t")
        mode, kind, blob = meta.split(" ")
        if kind != "blob" or mode not in ("100644", "100755"):
            raise UsageError(
                f"--file {rel}: not a regular file in commit {commit[:12]} (a {kind}, mode {mode})"
            )
        content = self._git("cat-file", "blob", blob, what=f"git cat-file {blob[:12]}")
        return TreeFile(mode, content)

    def commit_file(
        self,
        parent: str,
        path: str,
        content: bytes,
        *,
        message: str,
        author: Identity,
        committer: Identity | None = None,
        signing: CommitSigning | None = None,
        mode: str = "100644",
    ) -> str | None:
        """A commit on ``parent`` in which ``path`` holds ``content``; ``None`` when that changes nothing.

        The repository's index, working tree and refs are not touched."""
        rel = check_file(path)
        who = committer or author
        with tempfile.TemporaryDirectory(prefix="gitloop-index-") as tmp:
            index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self._git("read-tree", parent, what=f"git read-tree {parent[:12]}", env=index)
            blob = self._git(
                "hash-object", "-w", "--no-filters", "--stdin", what="git hash-object", input=content
            )
            cacheinfo = f"{mode},{blob.decode().strip()},{rel}"
            self._git("update-index", "--add", "--cacheinfo", cacheinfo, what="git update-index", env=index)
            tree = self._git("write-tree", what="git write-tree", env=index).decode().strip()
        if tree == self._git("rev-parse", f"{parent}^{{tree}}", what="git rev-parse").decode().strip():
            return None
        identity = {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_COMMITTER_NAME": who.name,
            "GIT_COMMITTER_EMAIL": who.email,
        }
        sign = [*signing.git_options(), "commit-tree", "-S"] if signing else ["commit-tree"]
        out = self._git(
            *sign, tree, "-p", parent, "-F", "-", what="git commit-tree", input=message.encode(), env=identity
        )
        return out.decode().strip()

    def commit_message(self, commit: str) -> str:
        """The full message of ``commit``."""
        return self._git("show", "-s", "--format=%B", commit, "--", what=f"git show {commit[:12]}").decode()

    # -- publishing ----------------------------------------------------------------------------------

    def push(self, commit: str, branch: str, *, parent: str) -> None:
        """Make ``branch`` ``commit`` (a child of ``parent``, the tip it was built on): pushed to the
        remote, or moved in a local-only repository. :class:`NonFastForwardError` when the branch is
        no longer at ``parent``."""
        name = check_branch(branch)
        if self._url is None:
            self._advance_local(name, commit, parent)
            return
        try:
            self._remote(
                "push",
                "--quiet",
                "--",
                self._url,
                f"{commit}:refs/heads/{name}",
                what=f"git push {self._url}",
            )
        except command.GitAuthError:
            raise
        except GitError as exc:
            if _MOVED.search(str(exc)):
                raise NonFastForwardError(f"{self._url} branch {name} moved on: {exc}") from exc
            raise
        self._git("update-ref", f"refs/remotes/origin/{name}", commit, what="git update-ref")

    def _advance_local(self, name: str, commit: str, parent: str) -> None:
        if self.current_branch() == name:
            code, _ = command.run(
                ["merge", "--ff-only", "--quiet", commit],
                env=self._env,
                what=f"git merge --ff-only {commit[:12]}",
                cwd=self.path,
                timeout=self._timeout,
                check=False,
            )
            if code != 0:
                if self._sha(f"refs/heads/{name}") != parent:
                    raise NonFastForwardError(f"branch {name} of {self.path} moved on")
                raise GitError(f"cannot move {name} in {self.path}: local changes to the file are in the way")
            return
        code, _ = command.run(
            ["update-ref", f"refs/heads/{name}", commit, parent],
            env=self._env,
            what="git update-ref",
            cwd=self.path,
            timeout=self._timeout,
            check=False,
        )
        if code != 0:
            raise NonFastForwardError(f"branch {name} of {self.path} moved on")

    def fast_forward(self, branch: str, commit: str) -> bool:
        """After a push: move the checked-out ``branch`` (and its files) to ``commit`` if that is a
        fast-forward that no local change stands in the way of. Returns whether it moved."""
        if self._url is None or self.current_branch() != check_branch(branch):
            return False
        code, _ = command.run(
            ["merge", "--ff-only", "--quiet", commit],
            env=self._env,
            what=f"git merge --ff-only {commit[:12]}",
            cwd=self.path,
            timeout=self._timeout,
            check=False,
        )
        return code == 0

    def __repr__(self) -> str:
        return f"Worktree({str(self.path)!r}, url={self._url!r})"
