"""The image handoff's credentials and commit signing, against the real local git server: HTTPS
credentials that push and never show, SSH- and GPG-signed commits that verify, a failed signature
that pushes nothing."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitloop.errors import GitError
from gitloop.git import GitAuthError, HttpsCredentials
from gitloop.git.worktree import CommitSigning, Identity
from gitloop.localinfra.gitserver import BasicAuth, GitServer
from gitloop.service.handoff import ImageHandoff, set_image
from realparts import require_program

pytestmark = pytest.mark.integration

FILE = "overlays/dev/kustomization.yaml"
KUSTOMIZATION = "images:\n  - name: app\n    newName: registry.local:5000/app\n    newTag: v1\n"
PASSWORD = "s3cret-handoff-token"


def git(env: dict[str, str], *args: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(
        ["git", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, f"git {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}"
    return proc.stdout.strip()


def seed(env: dict[str, str], url: str, work: Path) -> Path:
    git(env, "clone", "-q", url, str(work))
    (work / FILE).parent.mkdir(parents=True)
    (work / FILE).write_text(KUSTOMIZATION)
    git(env, "add", "-A", cwd=work)
    git(env, "commit", "-q", "-m", "seed", cwd=work)
    git(env, "push", "-q", "origin", "HEAD:refs/heads/main", cwd=work)
    return work


@pytest.fixture
def work(git_server: GitServer, git_env: dict[str, str], tmp_path: Path) -> Path:
    """A clone of a freshly seeded config repository of the test git server."""
    return seed(git_env, git_server.create_repo(f"signing-{uuid.uuid4().hex[:8]}"), tmp_path / "seed")


def url_of(work: Path, env: dict[str, str]) -> str:
    return git(env, "remote", "get-url", "origin", cwd=work)


def signed(work: Path, env: dict[str, str], signing: CommitSigning, tag: str) -> str:
    request = ImageHandoff(
        repo=url_of(work, env),
        file=FILE,
        image=f"app=registry.local:5000/app:{tag}",
        author=Identity("CI", "ci@example.com"),
        signing=signing,
    )
    commit = set_image(request, env=env, timeout=60).commit
    assert commit is not None
    git(env, "fetch", "-q", "origin", cwd=work)
    return commit


@pytest.fixture
def private_repo(git_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[GitServer, str]]:
    with GitServer(tmp_path / "private", auth=BasicAuth("ci", PASSWORD), env=git_env) as server:
        url = server.create_repo("team/config")
        seed(git_env, url.replace("http://", f"http://ci:{PASSWORD}@"), tmp_path / "seed")
        yield server, url


def test_https_credentials_push_and_never_show(
    private_repo: tuple[GitServer, str], git_env: dict[str, str]
) -> None:
    _, url = private_repo
    request = ImageHandoff(
        repo=url,
        file=FILE,
        image="app=registry.local:5000/app:6.0.0",
        credentials=HttpsCredentials("ci", PASSWORD),
    )
    assert set_image(request, env=git_env, timeout=60).commit
    wrong = ImageHandoff(
        repo=url,
        file=request.file,
        image=request.image,
        credentials=HttpsCredentials("ci", "wrong-" + PASSWORD),
    )
    with pytest.raises(GitAuthError) as caught:
        set_image(wrong, env=git_env, timeout=60)
    assert PASSWORD not in str(caught.value)


def test_ssh_signed_commit(work: Path, git_env: dict[str, str], tmp_path: Path) -> None:
    require_program("ssh-keygen", "openssh-client")
    key = tmp_path / "signing_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ci", "-f", str(key)], check=True)
    commit = signed(work, git_env, CommitSigning("ssh", str(key)), "7.0.0")
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"ci@example.com {key.with_suffix('.pub').read_text()}")
    verify = ["-c", f"gpg.ssh.allowedSignersFile={allowed}", "log", "-1", "--format=%G? %GS", commit]
    assert git(git_env, *verify, cwd=work) == "G ci@example.com"


@pytest.fixture
def gnupg_home() -> Iterator[Path]:
    """A GnuPG home with one passphrase-less signing key for ``CI <ci@example.com>``."""
    require_program("gpg", "gnupg")
    require_program("gpgconf", "gpgconf")
    home = Path(tempfile.mkdtemp(prefix="gpg-", dir="/tmp"))  # short, for gpg-agent's socket path
    env = {"GNUPGHOME": str(home), "PATH": "/usr/bin:/bin"}
    generate = ["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", ""]
    generate += ["--quick-gen-key", "CI <ci@example.com>", "ed25519", "sign", "0"]
    subprocess.run(generate, env=env, check=True, capture_output=True, timeout=120)
    try:
        yield home
    finally:  # the agent gpg started for this home, and only it
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def test_gpg_signed_commit(work: Path, git_env: dict[str, str], gnupg_home: Path) -> None:
    env = {**git_env, "GNUPGHOME": str(gnupg_home)}
    keys = ["gpg", "--batch", "--with-colons", "--list-secret-keys"]
    listing = subprocess.run(keys, env=env, capture_output=True, text=True, check=True).stdout
    fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
    commit = signed(work, env, CommitSigning("openpgp", fingerprint), "8.0.0")
    status, key = git(env, "log", "-1", "--format=%G? %GF", commit, cwd=work).split()
    assert status in ("G", "U") and key == fingerprint  # good signature (U: key not certified)


def test_a_signing_failure_pushes_nothing(work: Path, git_env: dict[str, str], tmp_path: Path) -> None:
    before = git(git_env, "ls-remote", "origin", "refs/heads/main", cwd=work)
    with pytest.raises(GitError, match="commit-tree"):
        signed(work, git_env, CommitSigning("ssh", str(tmp_path / "no-such-key")), "9.0.0")
    assert git(git_env, "ls-remote", "origin", "refs/heads/main", cwd=work) == before
