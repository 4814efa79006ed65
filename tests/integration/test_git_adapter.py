"""The ``git/`` adapter against the real local git server: mirrors that resolve, compare trees,
export, follow the remote, share one copy between threads and processes, and keep credentials secret."""

from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitloop.errors import AuthError, GitError
from gitloop.git import (
    GitAuthError,
    GitMirror,
    HttpsCredentials,
    MirrorCache,
    RepoCredentials,
    RepoCreds,
    ls_remote,
)
from gitloop.git import command as git_command
from gitloop.localinfra.gitserver import BasicAuth, GitServer
from gitloop.ports import GitRepo

pytestmark = pytest.mark.integration


def git(env: dict[str, str], *args: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(
        ["git", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, f"git {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}"
    return proc.stdout.strip()


class Source:
    """A working clone of a repository of the test git server, to commit and push from."""

    def __init__(self, env: dict[str, str], url: str, work: Path) -> None:
        self.env, self.url, self.work = env, url, work
        git(env, "clone", "-q", url, str(work))

    def git(self, *args: str) -> str:
        return git(self.env, *args, cwd=self.work)

    def commit(self, files: dict[str, str | None], message: str = "change") -> str:
        for name, text in files.items():
            path = self.work / name
            if text is None:
                path.unlink()
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    def push(self, *refspecs: str) -> None:
        self.git("push", "-q", "--force", "origin", *(refspecs or ("main",)))


@pytest.fixture
def source(git_server: GitServer, git_env: dict[str, str], tmp_path: Path) -> Source:
    url = git_server.create_repo(f"adapter-{uuid.uuid4().hex[:8]}")
    return Source(git_env, url, tmp_path / "work")


@pytest.fixture
def cache(git_env: dict[str, str], tmp_path: Path) -> MirrorCache:
    return MirrorCache(tmp_path / "cache", env=git_env, timeout=60)


def test_mirror_implements_the_port(source: Source, cache: MirrorCache) -> None:
    mirror: GitRepo = cache.get(source.url)
    assert mirror.url == source.url


def test_resolve_branches_tags_shas_and_head(
    source: Source, cache: MirrorCache, git_server: GitServer
) -> None:
    first = source.commit({"apps/web/deploy.yaml": "replicas: 1\n"}, "first")
    source.git("tag", "v1.0.0")  # lightweight
    source.git("tag", "-a", "v1.0.1", "-m", "annotated release")
    second = source.commit({"apps/web/deploy.yaml": "replicas: 2\n"}, "second")
    source.git("branch", "release", first)
    source.push("main", "release", "--tags")
    mirror = cache.get(source.url)
    mirror.fetch()

    assert mirror.resolve("main") == second
    assert mirror.resolve("release") == first
    assert mirror.resolve("refs/heads/release") == first
    assert mirror.resolve("v1.0.0") == first
    assert mirror.resolve("v1.0.1") == first, "an annotated tag is peeled to its commit"
    assert mirror.resolve("refs/tags/v1.0.1") == first
    assert mirror.resolve(first) == first
    assert mirror.resolve(first[:7]) == first
    assert mirror.resolve(first[:7].upper()) == first
    assert mirror.resolve("HEAD") == second
    assert mirror.resolve("") == second
    assert mirror.resolve(" main ") == second

    for unknown in ("nope", "refs/heads/nope", "deadbeefdeadbeef", "0" * 40):
        with pytest.raises(GitError) as caught:
            mirror.resolve(unknown)
        assert repr(unknown) in str(caught.value) and source.url in str(caught.value)
    with pytest.raises(GitError, match="not a branch, tag or commit SHA"):
        mirror.resolve("main~1")

    # HEAD is the remote's default branch, whatever it is called.
    bare = git_server.repo_path(source.url.rsplit("/", 1)[1].removesuffix(".git"))
    git(source.env, "--git-dir", str(bare), "symbolic-ref", "HEAD", "refs/heads/release")
    try:
        mirror.fetch()
        assert mirror.resolve("HEAD") == first
    finally:
        git(source.env, "--git-dir", str(bare), "symbolic-ref", "HEAD", "refs/heads/main")


def test_a_branch_wins_over_a_tag_of_the_same_name(source: Source, cache: MirrorCache) -> None:
    tagged = source.commit({"f": "1"})
    source.git("tag", "same")
    branch = source.commit({"f": "2"})
    source.git("branch", "same", branch)
    source.push("main", "refs/heads/same:refs/heads/same", "refs/tags/same:refs/tags/same")
    mirror = cache.get(source.url)
    mirror.fetch()
    assert mirror.resolve("same") == branch
    assert mirror.resolve("refs/tags/same") == tagged


def test_tree_id_changes_only_with_the_path(source: Source, cache: MirrorCache) -> None:
    base = source.commit({"apps/web/deploy.yaml": "replicas: 1\n", "apps/db/db.yaml": "x: 1\n"})
    elsewhere = source.commit({"apps/db/db.yaml": "x: 2\n", "README.md": "hi\n"}, "elsewhere")
    touched = source.commit({"apps/web/deploy.yaml": "replicas: 3\n"}, "web")
    reverted = source.commit({"apps/web/deploy.yaml": "replicas: 1\n"}, "revert web")
    source.push()
    mirror = cache.get(source.url)
    mirror.fetch()

    web = mirror.tree_id(base, "apps/web")
    assert mirror.tree_id(elsewhere, "apps/web") == web
    assert mirror.tree_id(elsewhere, "./apps/web/") == web
    assert mirror.tree_id(touched, "apps/web") != web
    assert mirror.tree_id(reverted, "apps/web") == web, "same content, same tree"
    assert mirror.tree_id(elsewhere, "") != mirror.tree_id(base, "")
    assert mirror.tree_id(base, "") == mirror.tree_id(base, ".") == mirror.tree_id(base)
    assert mirror.tree_id(base, "") == git(source.env, "rev-parse", f"{base}^{{tree}}", cwd=source.work)

    with pytest.raises(GitError, match="'apps/nope' not found"):
        mirror.tree_id(base, "apps/nope")
    with pytest.raises(GitError, match="not a directory"):
        mirror.tree_id(base, "apps/web/deploy.yaml")
    with pytest.raises(GitError, match="not found"):
        mirror.tree_id("0" * 40, "apps/web")


def test_export_writes_the_files_of_the_commit(source: Source, cache: MirrorCache, tmp_path: Path) -> None:
    source.commit(
        {
            "apps/web/deploy.yaml": "replicas: 1\n",
            "apps/web/run.sh": "#!/bin/sh\necho hi\n",
            "apps/web/ignored.yaml": "kind: ConfigMap\n",
            ".gitattributes": "apps/web/ignored.yaml export-ignore\n*.yaml export-subst\n",
            "deep/a/b/c.txt": "$Format:%H$\n",
        }
    )
    (source.work / "apps/web/run.sh").chmod(0o755)
    (source.work / "apps/web/link.yaml").symlink_to("deploy.yaml")
    old = source.commit({}, "exec and link")
    new = source.commit({"apps/web/deploy.yaml": "replicas: 5\n", "deep/a/b/c.txt": None}, "new")
    source.push()
    mirror = cache.get(source.url)
    mirror.fetch()

    out = mirror.export(old, tmp_path / "out" / "old")
    assert out == tmp_path / "out" / "old"
    assert (out / "apps/web/deploy.yaml").read_text() == "replicas: 1\n"
    assert os.access(out / "apps/web/run.sh", os.X_OK)
    assert (out / "apps/web/link.yaml").is_symlink() and (
        out / "apps/web/link.yaml"
    ).read_text() == "replicas: 1\n"
    assert (out / "apps/web/ignored.yaml").exists(), "export-ignore does not hide files from an export"
    assert (out / "deep/a/b/c.txt").read_text() == "$Format:%H$\n", "export-subst does not rewrite files"
    assert not (out / ".git").exists()

    newer = mirror.export(new, tmp_path / "new")
    assert (newer / "apps/web/deploy.yaml").read_text() == "replicas: 5\n"
    assert not (newer / "deep").exists()

    with pytest.raises(GitError, match="not empty"):
        mirror.export(new, out)
    with pytest.raises(GitError, match="not found"):
        mirror.export("f" * 40, tmp_path / "missing")


def test_export_refuses_a_symlink_out_of_the_repository(
    source: Source, cache: MirrorCache, tmp_path: Path
) -> None:
    source.commit({"app/ok.yaml": "a: 1\n"})
    (source.work / "app/passwd").symlink_to("/etc/passwd")
    (source.work / "app/up").symlink_to("../../../../outside")
    bad = source.commit({}, "escape")
    source.push()
    mirror = cache.get(source.url)
    mirror.fetch()
    with pytest.raises(GitError, match="cannot export"):
        mirror.export(bad, tmp_path / "out")
    assert not (tmp_path / "outside").exists()
    assert not (tmp_path / "out").exists(), "no half export"
    assert not list(tmp_path.glob(".out.*")), "no staging directory left behind"


def test_commit_info(source: Source, cache: MirrorCache) -> None:
    sha = source.commit({"f": "1"}, "Subject line\n\nBody with détails.\n")
    source.push()
    mirror = cache.get(source.url)
    mirror.fetch()
    info = mirror.commit_info(sha)
    assert (info.sha, info.author, info.email) == (sha, "gitloop tests", "tests@gitloop.invalid")
    assert info.message == "Subject line\n\nBody with détails."
    assert abs(info.time - time.time()) < 600
    assert mirror.commit_info(sha[:10]) == info
    with pytest.raises(GitError, match="not found"):
        mirror.commit_info("1" * 40)


def test_fetch_follows_the_remote(source: Source, cache: MirrorCache) -> None:
    mirror = cache.get(source.url)
    with pytest.raises(GitError, match="not been fetched"):
        mirror.resolve("main")
    mirror.fetch()  # an empty repository is fine ...
    with pytest.raises(GitError, match="no default branch"):
        mirror.resolve("HEAD")  # ... and has no HEAD yet

    first = source.commit({"f": "1"})
    source.git("tag", "moving")
    source.git("branch", "doomed")
    source.push("main", "doomed", "--tags")
    mirror.fetch()
    assert mirror.resolve("main") == first
    assert mirror.resolve("doomed") == first
    assert ls_remote(source.url, env=source.env)["refs/heads/main"] == first
    assert mirror.ls_remote()["refs/heads/main"] == first

    second = source.commit({"f": "2"})
    source.git("tag", "-f", "moving")
    source.push("main", "--tags")
    source.git("push", "-q", "origin", "--delete", "doomed")
    assert mirror.resolve("main") == first, "nothing changes before a fetch"
    mirror.fetch()
    assert mirror.resolve("main") == second
    assert mirror.resolve("moving") == second, "a moved tag follows"
    with pytest.raises(GitError, match="'doomed' not found"):
        mirror.resolve("doomed")  # pruned
    assert mirror.resolve(first) == first, "old commits stay readable"

    mirror.fetch()  # nothing moved: no transfer, still fine
    assert mirror.resolve("HEAD") == second


def test_one_mirror_per_repository(source: Source, cache: MirrorCache) -> None:
    a = cache.get(source.url)
    assert cache.get(source.url.upper().replace("HTTP://", "http://")) is a
    assert cache.get(source.url.removesuffix(".git") + "/") is a
    assert cache.get(source.url.replace("http://", "http://someone:pw@")) is a
    assert len(cache) == 1
    other = cache.get(source.url.replace(".git", "-other.git"))
    assert other is not a and other.path != a.path
    with pytest.raises(GitError):
        cache.get("https://example.com:99999/x")


def _fetch_together(cache: MirrorCache, url: str, threads: int) -> list[tuple[GitMirror, str]]:
    """``threads`` threads that each get the mirror of ``url`` and fetch it, all at once; what
    each one saw as ``main`` afterwards."""
    barrier = threading.Barrier(threads)
    seen: list[tuple[GitMirror, str]] = []
    errors: list[BaseException] = []

    def fetch() -> None:
        try:
            barrier.wait(timeout=30)
            mirror = cache.get(url)
            mirror.fetch()
            seen.append((mirror, mirror.resolve("main")))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=fetch) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not errors, errors
    return seen


def test_concurrent_fetches_of_one_mirror_do_not_corrupt_it(source: Source, cache: MirrorCache) -> None:
    source.commit({"f": "0"})
    source.push()
    for round_ in range(3):
        head = source.commit({"f": str(round_ + 1), f"dir{round_}/x": "x"}, f"round {round_}")
        source.git("tag", f"t{round_}")
        source.push("main", "--tags")
        seen = _fetch_together(cache, source.url, 4)
        assert len(seen) == 4
        assert len({id(mirror) for mirror, _ in seen}) == 1, "one shared instance"
        assert {main for _, main in seen} == {head}
    mirror = cache.get(source.url)
    git(source.env, "--git-dir", str(mirror.path), "fsck", "--strict", "--no-progress")
    assert mirror.resolve("t2") == mirror.resolve("main")


def test_fetch_waits_for_the_file_lock(source: Source, git_env: dict[str, str], tmp_path: Path) -> None:
    head = source.commit({"f": "1"})
    source.push()
    mirror = GitMirror(source.url, tmp_path / "cache", env=git_env, timeout=60)
    mirror.fetch()
    source.commit({"f": "2"})
    source.push()
    lock = mirror.root / f"{mirror.path.name}.lock"
    done = threading.Event()
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as another process would hold it

        def fetch() -> None:
            mirror.fetch()
            done.set()

        thread = threading.Thread(target=fetch)
        thread.start()
        time.sleep(0.5)
        assert not done.is_set(), "the fetch waits while another process holds the lock"
        assert mirror.resolve("main") == head
    thread.join(timeout=60)
    assert done.is_set()
    assert mirror.resolve("main") != head


_FETCH_SCRIPT = """
import sys
from gitloop.git import GitMirror
m = GitMirror(sys.argv[1], sys.argv[2], timeout=60)
for _ in range(3):
    m.fetch()
print(m.resolve("main"))
"""


def test_processes_share_a_cache_root(source: Source, git_env: dict[str, str], tmp_path: Path) -> None:
    for i in range(5):
        source.commit({f"f{i}": str(i)})
    head = source.commit({"last": "x"})
    source.push()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _FETCH_SCRIPT, source.url, str(tmp_path / "cache")],
            env=git_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out.strip() == head
    (mirror_dir,) = [p for p in (tmp_path / "cache").iterdir() if p.is_dir()]
    git(source.env, "--git-dir", str(mirror_dir), "fsck", "--strict", "--no-progress")


# -- credentials ---------------------------------------------------------------------------------------

PASSWORD = "correct horse battery staple"
WRONG = "Tr0ub4dor&3-wrong"


@pytest.fixture
def private(git_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[GitServer, Source]]:
    with GitServer(tmp_path / "private-repos", auth=BasicAuth("alice", PASSWORD), env=git_env) as server:
        url = server.create_repo("team/private")
        authed = url.replace("http://", "http://alice:correct%20horse%20battery%20staple@")
        src = Source(git_env, authed, tmp_path / "private-work")
        src.commit({"secret-app/app.yaml": "kind: ConfigMap\n"})
        src.push()
        yield server, src


def _files_containing(root: Path, *needles: str) -> list[Path]:
    return [
        p
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink() and any(n.encode() in p.read_bytes() for n in needles)
    ]


def test_credentials_matched_by_prefix_fetch_a_private_repository(
    private: tuple[GitServer, Source], git_env: dict[str, str], tmp_path: Path
) -> None:
    server, src = private
    url = server.clone_url("team/private")
    creds = RepoCredentials([RepoCreds(f"{server.url}/team", HttpsCredentials("alice", PASSWORD))])
    cache = MirrorCache(tmp_path / "cache", credentials=creds, env=git_env, timeout=60)
    mirror = cache.get(url)
    mirror.fetch()
    assert mirror.resolve("main") == src.git("rev-parse", "HEAD")
    assert ls_remote(url, credentials=HttpsCredentials("alice", PASSWORD), env=git_env)["HEAD"]
    assert not _files_containing(tmp_path / "cache", PASSWORD, "correct%20horse")

    # Rotated credentials take effect on the next fetch.
    creds.replace([RepoCreds(f"{server.url}/team", HttpsCredentials("alice", WRONG))])
    with pytest.raises(GitAuthError):
        mirror.fetch()


def test_credentials_inside_the_url_are_taken_out_of_it(
    private: tuple[GitServer, Source], git_env: dict[str, str], tmp_path: Path
) -> None:
    server, src = private
    mirror = GitMirror(src.url, tmp_path / "cache", env=git_env, timeout=60)
    assert mirror.url == server.clone_url("team/private")
    assert "horse" not in repr(mirror)
    mirror.fetch()
    assert mirror.resolve("HEAD") == src.git("rev-parse", "HEAD")
    assert not _files_containing(tmp_path / "cache", "horse")


def test_a_wrong_password_fails_without_showing_it(
    private: tuple[GitServer, Source],
    git_env: dict[str, str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    argvs: list[list[str]] = []
    real_popen = git_command.popen

    def recording_popen(args: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        argvs.append(list(args))
        return real_popen(args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(git_command, "popen", recording_popen)
    server, _ = private
    url = server.clone_url("team/private")
    wrong = GitMirror(url, tmp_path / "cache", credentials=HttpsCredentials("alice", WRONG), env=git_env)
    with pytest.raises(GitError) as caught:
        wrong.fetch()
    error = caught.value
    assert isinstance(error, GitAuthError) and isinstance(error, AuthError)
    assert "Authentication failed" in str(error) and url in str(error)
    with pytest.raises(GitAuthError):
        ls_remote(url, credentials=HttpsCredentials("alice", WRONG), env=git_env)
    anonymous = GitMirror(url, tmp_path / "anon", env=git_env)
    with pytest.raises(GitAuthError, match="could not read Username"):
        anonymous.fetch()

    assert argvs, "git ran"
    texts = [str(error), repr(error), *(" ".join(a) for a in argvs)]
    texts += [r.getMessage() for r in caplog.records] + [str(r.args) for r in caplog.records]
    for text in texts:
        assert WRONG not in text and "Tr0ub4dor" not in text
    assert not _files_containing(tmp_path, WRONG, "Tr0ub4dor")
