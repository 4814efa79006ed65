"""``GitMirror``: the ``GitRepo`` port on a bare mirror of one remote, kept with the ``git`` CLI.

One mirror per repository under a cache root, in a directory named after the repository's host and
path plus a hash of its normalised URL, so every Application that uses a repository (however its
URL is spelled) shares one copy; :class:`MirrorCache` hands out one shared instance per repository.

A fetch asks the remote for its refs first (``ls-remote``) and transfers objects only when a branch
or tag moved; it mirrors ``refs/heads/*`` and ``refs/tags/*`` with ``--prune`` and points the
mirror's ``HEAD`` at the remote's default branch. Fetches of one mirror are serialised by a thread
lock and an ``flock`` on a lock file beside it, so threads and processes may share a cache root.
Reads (resolve, tree ids, export) need no lock: git keeps them consistent while refs move.

Exports are ``git archive`` streamed into :mod:`tarfile` with the ``data`` filter: no index, no
lock, and nothing written outside the destination (a symlink pointing outside the repository fails
the export, as Argo CD refuses such repositories). The mirror's ``info/attributes`` turns off
``export-ignore`` and ``export-subst`` so an export holds exactly the files of the commit.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import tarfile
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from gitloop.errors import GitError
from gitloop.git import command
from gitloop.git.credentials import Credentials, GitAuth, HttpsCredentials, RepoCredentials, git_auth
from gitloop.git.remote import DEFAULT_TIMEOUT, RemoteRefs, check_url, list_remote
from gitloop.git.urls import mirror_dir_name, normalize_git_url, split_userinfo
from gitloop.ports import CommitInfo, Observer, no_observer

__all__ = ["GitMirror", "MirrorCache"]

REFSPECS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
FETCH_OPTIONS = ("--quiet", "--prune", "--no-tags", "--no-write-fetch-head")
#: Appended to a new mirror's config: no background gc outliving a fetch, no reflogs.
MIRROR_CONFIG = (
    "[gc]\n\tautoDetach = false\n[maintenance]\n\tautoDetach = false\n[core]\n\tlogAllRefUpdates = false\n"
)
#: Highest-precedence attributes: an export is the commit's files, whatever its .gitattributes say.
MIRROR_ATTRIBUTES = "* -export-ignore -export-subst\n"
_HEX = re.compile(r"[0-9a-fA-F]{4,64}")
_FULL_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_FOUND = re.compile(r"([0-9a-f]{40}|[0-9a-f]{64}) (commit|tree|blob|tag)")
#: What a revision may not contain: revision expressions, pathspecs, whitespace, control characters.
_NOT_A_REVISION = re.compile(r"[\s~^:?*\[\\\x00-\x1f\x7f]|\.\.|@\{")
_CACHE_SIZE = 4096

_path_locks: dict[Path, threading.Lock] = {}
_path_locks_guard = threading.Lock()


def _thread_lock(path: Path) -> threading.Lock:
    with _path_locks_guard:
        return _path_locks.setdefault(path, threading.Lock())


def _check_revision(revision: str, url: str) -> str:
    rev = revision.strip()
    if rev.startswith("-") or _NOT_A_REVISION.search(rev):
        raise GitError(f"revision {revision!r} of {url} is not a branch, tag or commit SHA")
    return rev


def _tree_path(path: str, url: str) -> str:
    rel = path.strip().strip("/")
    while rel.startswith("./"):
        rel = rel[2:].lstrip("/")
    if rel in ("", "."):
        return ""
    if ".." in rel.split("/") or any(c in rel for c in "\n\r\0"):
        raise GitError(f"path {path!r} does not name a directory inside {url}")
    return rel


class GitMirror:
    """A bare mirror of the repository at ``url`` under the cache directory ``root``.

    ``credentials`` are either the repository's own or a :class:`RepoCredentials` table looked up
    on every remote operation (so rotated credentials take effect); credentials inside an HTTP(S)
    URL are taken out of it and used when nothing else matches. ``env`` is the base environment of
    the git commands (default: this process's), ``timeout`` bounds each remote operation. Every
    ``ls-remote`` and ``fetch`` is reported to ``observe`` as a ``git_request`` (URL without credentials).
    """

    def __init__(
        self,
        url: str,
        root: Path | str,
        *,
        credentials: Credentials | RepoCredentials | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        observe: Observer = no_observer,
    ) -> None:
        clean, user, password = split_userinfo(url)
        self._url = check_url(clean.strip())
        self._embedded = HttpsCredentials(user or "", password or "") if (user or password) else None
        self._credentials = credentials
        self.root = Path(root).expanduser().resolve()
        self.path = self.root / mirror_dir_name(self._url)
        self._lock_path = self.root / f"{self.path.name}.lock"
        self._env = command.base_environment(env)
        self._timeout = timeout
        self._lock = _thread_lock(self.path)
        self._observe = observe
        self._memo: OrderedDict[tuple[str, str, str], object] = OrderedDict()
        self._memo_lock = threading.Lock()

    @property
    def url(self) -> str:
        """The remote's URL as configured, without credentials."""
        return self._url

    def __repr__(self) -> str:
        return f"GitMirror({self._url!r}, path={str(self.path)!r})"

    # -- credentials and commands ------------------------------------------------------------------

    def credentials(self) -> Credentials | None:
        """The credentials the next remote operation will use."""
        found = self._credentials
        if isinstance(found, RepoCredentials):
            found = found.lookup(self._url)
        return found if found is not None else self._embedded

    @contextmanager
    def _auth(self) -> Iterator[tuple[dict[str, str], GitAuth]]:
        with git_auth(self._url, self.credentials(), known_hosts=self.root / "known_hosts") as auth:
            yield {**self._env, **auth.env}, auth

    def _git(self, *args: str, what: str, input: bytes | None = None) -> bytes:
        return command.run(
            args, env=self._env, what=what, git_dir=self.path, timeout=self._timeout, input=input
        )[1]

    # -- fetching ----------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive use of the mirror: first among this process's threads, then among processes."""
        with self._lock:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # releases the flock

    def _init(self) -> None:
        """Create the bare repository, atomically (a killed init leaves no half mirror)."""
        if (self.path / "HEAD").is_file():
            return
        for leftover in self.root.glob(f".{self.path.name}.*"):  # of a killed init; we hold the flock
            shutil.rmtree(leftover, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=self.root))
        try:
            command.run(
                ["init", "--quiet", "--bare", "--initial-branch=main", str(tmp)],
                env=self._env,
                what=f"git init {tmp}",
                cwd=self.root,
                timeout=self._timeout,
            )
            with (tmp / "config").open("a") as config:
                config.write(MIRROR_CONFIG)
            (tmp / "info").mkdir(exist_ok=True)
            (tmp / "info" / "attributes").write_text(MIRROR_ATTRIBUTES)
            if self.path.exists():  # a broken leftover
                shutil.rmtree(self.path)
            tmp.rename(self.path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def _remove_stale_locks(self) -> None:
        """Lock files a killed git left behind. Only fetches write refs, and we hold the flock."""
        for name in ("HEAD.lock", "packed-refs.lock", "config.lock", "shallow.lock", "FETCH_HEAD.lock"):
            (self.path / name).unlink(missing_ok=True)
        for stale in (self.path / "refs").rglob("*.lock"):
            stale.unlink(missing_ok=True)

    def _local_refs(self) -> dict[str, str]:
        out = self._git(
            "for-each-ref",
            "--format=%(objectname) %(refname)",
            "refs/heads",
            "refs/tags",
            what="git for-each-ref",
        )
        refs: dict[str, str] = {}
        for line in out.decode("utf-8", "replace").splitlines():
            sha, _, ref = line.partition(" ")
            refs[ref] = sha
        return refs

    def _set_head(self, remote: RemoteRefs) -> None:
        if remote.head is not None and remote.head.startswith("refs/heads/"):
            self._git("symbolic-ref", "HEAD", remote.head, what="git symbolic-ref HEAD")
        elif remote.head is None and "HEAD" in remote.refs:  # a remote that does not say (dumb HTTP)
            sha = remote.refs["HEAD"]
            command.run(
                ["update-ref", "--no-deref", "HEAD", sha],
                env=self._env,
                what="git update-ref HEAD",
                git_dir=self.path,
                timeout=self._timeout,
                check=False,
            )

    def fetch(self) -> None:
        """Bring the mirror up to date with the remote: all branches and tags, pruned, and HEAD."""
        with self._locked():
            self._init()
            self._remove_stale_locks()
            with self._auth() as (env, auth):
                started = time.perf_counter()
                try:
                    remote = list_remote(
                        self._url, env=env, scrub=auth.scrub, timeout=self._timeout, git_dir=self.path
                    )
                finally:
                    self._observed("ls-remote", started)
                if remote.branches_and_tags() != self._local_refs():
                    started = time.perf_counter()
                    try:
                        command.run(
                            ["fetch", *FETCH_OPTIONS, "--", self._url, *REFSPECS],
                            env=env,
                            what=f"git fetch {self._url}",
                            git_dir=self.path,
                            scrub=auth.scrub,
                            timeout=self._timeout,
                        )
                    finally:
                        self._observed("fetch", started)
            self._set_head(remote)

    def ls_remote(self) -> dict[str, str]:
        """Every ref the remote advertises now (see :func:`gitloop.git.remote.ls_remote`)."""
        with self._auth() as (env, auth):
            started = time.perf_counter()
            try:
                return list_remote(self._url, env=env, scrub=auth.scrub, timeout=self._timeout).refs
            finally:
                self._observed("ls-remote", started)

    def _observed(self, request_type: str, started: float) -> None:
        self._observe("git_request", (self._url, request_type), time.perf_counter() - started)

    # -- reading -----------------------------------------------------------------------------------

    def _require(self) -> None:
        if not (self.path / "HEAD").is_file():
            raise GitError(f"the mirror of {self._url} has not been fetched yet")

    def _lookup(self, *names: str) -> list[tuple[str, str] | None]:
        """(object id, type) of each object name, or ``None`` where it names nothing (one process)."""
        out = self._git(
            "cat-file",
            "--batch-check=%(objectname) %(objecttype)",
            what=f"git cat-file in the mirror of {self._url}",
            input="".join(f"{n}\n" for n in names).encode(),
        )
        lines = out.decode("utf-8", "replace").splitlines()
        found: list[tuple[str, str] | None] = []
        for i in range(len(names)):
            match = _FOUND.fullmatch(lines[i]) if i < len(lines) else None
            found.append((match[1], match[2]) if match else None)
        return found

    def _remember(self, key: tuple[str, str, str], value: object) -> None:
        with self._memo_lock:
            self._memo[key] = value
            if len(self._memo) > _CACHE_SIZE:
                self._memo.popitem(last=False)

    def _recall(self, key: tuple[str, str, str]) -> object | None:
        with self._memo_lock:
            return self._memo.get(key)

    def resolve(self, revision: str) -> str:
        """``revision`` (a branch, tag, full ref, full or abbreviated SHA, or ``HEAD``/``""`` for the
        remote's default branch) as a full commit SHA, as of the last fetch. Branches win over
        tags of the same name, as in Argo CD. Annotated tags are peeled to their commit."""
        self._require()
        rev = _check_revision(revision, self._url)
        if rev in ("", "HEAD"):
            names = ["HEAD"]
        elif rev.startswith("refs/"):
            names = [rev]
        else:
            names = [f"refs/heads/{rev}", f"refs/tags/{rev}"]
        by_sha = _HEX.fullmatch(rev) is not None
        if by_sha:
            names.append(rev)
        found = self._lookup(*(f"{n}^{{commit}}" for n in names))
        for hit in found[:-1] if by_sha else found:
            if hit is not None:
                return hit[0]
        if by_sha and found[-1] is not None and found[-1][0].startswith(rev.lower()):
            return found[-1][0]
        if rev in ("", "HEAD"):
            raise GitError(f"revision HEAD not found in {self._url}: the repository has no default branch")
        raise GitError(f"revision {revision!r} not found in {self._url}")

    def _commit(self, commit: str) -> str:
        rev = _check_revision(commit, self._url) or "HEAD"
        found = self._lookup(f"{rev}^{{commit}}")[0]
        if found is None:
            raise GitError(f"commit {commit!r} not found in {self._url}")
        return found[0]

    def tree_id(self, commit: str, path: str = "") -> str:
        """The id of the tree at ``path`` (``""``/``"."`` is the root) in ``commit``: equal ids mean
        equal directory contents. ``GitError`` if the commit or the directory does not exist."""
        self._require()
        rel = _tree_path(path, self._url)
        rev = _check_revision(commit, self._url) or "HEAD"
        key = ("tree", rev, rel)
        cached = self._recall(key) if _FULL_SHA.fullmatch(rev) else None
        if isinstance(cached, str):
            return cached
        target = f"{rev}^{{commit}}:{rel}" if rel else f"{rev}^{{tree}}"
        found_commit, found = self._lookup(f"{rev}^{{commit}}", target)
        if found_commit is None:
            raise GitError(f"commit {commit!r} not found in {self._url}")
        if found is None:
            raise GitError(f"path {path!r} not found in commit {found_commit[0][:12]} of {self._url}")
        if found[1] != "tree":
            raise GitError(
                f"path {path!r} in commit {found_commit[0][:12]} of {self._url} is not a directory"
            )
        self._remember(("tree", found_commit[0], rel), found[0])
        return found[0]

    def commit_info(self, commit: str) -> CommitInfo:
        """Author, author time and message (without trailing newlines) of ``commit``."""
        self._require()
        sha = self._commit(commit)
        cached = self._recall(("info", sha, ""))
        if isinstance(cached, CommitInfo):
            return cached
        out = self._git(
            "show", "-s", "--format=%H%x00%an%x00%ae%x00%at%x00%B", sha, "--", what=f"git show {sha[:12]}"
        )
        fields = out.decode("utf-8", "replace").split("\x00", 4)
        if len(fields) != 5:
            raise GitError(f"unexpected output of git show for {sha[:12]} in {self._url}")
        info = CommitInfo(fields[0], fields[1], fields[2], float(fields[3] or 0), fields[4].rstrip("\n"))
        self._remember(("info", sha, ""), info)
        return info

    def export(self, commit: str, dest: Path) -> Path:
        """Write the files of ``commit`` into ``dest`` (created, or an empty directory); no ``.git``.

        The files are extracted beside ``dest`` and moved into place at the end, so ``dest`` never
        holds part of a commit, even when the export fails."""
        self._require()
        sha = self._commit(commit)
        dest = Path(dest)
        what = f"cannot export {sha[:12]} of {self._url}"
        if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
            raise GitError(f"{what}: {dest} exists and is not empty")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
        except OSError as exc:
            raise GitError(f"{what}: {exc}") from exc
        try:
            self._extract(sha, staging, what)
            staging.chmod(0o755)  # mkdtemp made it 0700
            if dest.exists():
                dest.rmdir()
            staging.rename(dest)
        except OSError as exc:
            raise GitError(f"{what}: {exc}") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return dest

    def _extract(self, sha: str, into: Path, what: str) -> None:
        """``git archive`` of ``sha`` streamed into ``into`` through tarfile's ``data`` filter."""
        proc = command.popen(["archive", "--format=tar", sha], env=self._env, git_dir=self.path)
        with proc:
            assert proc.stdout is not None and proc.stderr is not None
            try:
                with tarfile.open(fileobj=proc.stdout, mode="r|") as archive:
                    archive.extractall(into, filter="data")
                proc.stdout.read()  # the archive's padding, so git can finish writing
            except tarfile.TarError as exc:
                command.kill_group(proc)
                proc.communicate()
                raise GitError(f"{what}: {exc}") from exc
            except BaseException:
                command.kill_group(proc)
                proc.communicate()
                raise
            err = proc.stderr.read()
        if proc.returncode != 0:
            raise command.failure(f"git archive {sha[:12]} of {self._url}", err, str)


class MirrorCache:
    """The mirrors under one cache root: one shared :class:`GitMirror` per repository, however its
    URL is spelled, with credentials looked up in one :class:`RepoCredentials` table; their remote
    operations reported to ``observe``."""

    def __init__(
        self,
        root: Path | str,
        *,
        credentials: RepoCredentials | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        observe: Observer = no_observer,
    ) -> None:
        self.root = Path(root).expanduser().resolve()
        self.credentials = credentials if credentials is not None else RepoCredentials()
        self._env = dict(env) if env is not None else None
        self._timeout = timeout
        self._observe = observe
        self._mirrors: dict[str, GitMirror] = {}
        self._lock = threading.Lock()

    def get(self, url: str) -> GitMirror:
        """The mirror of the repository at ``url`` (created on first use; not fetched)."""
        clean = split_userinfo(url)[0]
        key = normalize_git_url(clean)
        if not key:
            raise GitError(f"not a usable repository URL: {clean!r}")
        with self._lock:
            mirror = self._mirrors.get(key)
            if mirror is None:
                mirror = GitMirror(
                    url,
                    self.root,
                    credentials=self.credentials,
                    env=self._env,
                    timeout=self._timeout,
                    observe=self._observe,
                )
                self._mirrors[key] = mirror
            return mirror

    def __len__(self) -> int:
        with self._lock:
            return len(self._mirrors)

    def __repr__(self) -> str:
        return f"MirrorCache({str(self.root)!r}, {len(self)} mirrors)"
