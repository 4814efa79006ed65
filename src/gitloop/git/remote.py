"""Asking a remote what it has: ``git ls-remote --symref``, parsed into refs and the default branch."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gitloop.errors import GitError
from gitloop.git import command
from gitloop.git.credentials import Credentials, HttpsCredentials, Scrubber, git_auth
from gitloop.git.urls import split_userinfo

DEFAULT_TIMEOUT = 300.0


@dataclass(frozen=True)
class RemoteRefs:
    """Every ref a remote advertises (``HEAD`` and peeled ``refs/tags/x^{}`` included), and the
    branch its ``HEAD`` points to (``refs/heads/main``), when the remote says."""

    refs: dict[str, str]
    head: str | None

    def branches_and_tags(self) -> dict[str, str]:
        """``refs/heads/*`` and ``refs/tags/*`` as stored (tags not peeled): what a mirror holds."""
        return {
            ref: sha
            for ref, sha in self.refs.items()
            if ref.startswith(("refs/heads/", "refs/tags/")) and not ref.endswith("^{}")
        }


def parse_ls_remote(text: str) -> RemoteRefs:
    """Parse the output of ``git ls-remote --symref``."""
    refs: dict[str, str] = {}
    head: str | None = None
    for line in text.splitlines():
        left, tab, name = line.partition("\t")
        if not tab:
            continue
        if left.startswith("ref: "):
            if name == "HEAD":
                head = left.removeprefix("ref: ").strip()
        else:
            refs[name] = left.strip()
    return RemoteRefs(refs, head)


def check_url(url: str) -> str:
    """``url`` if git may be given it as an argument (no option, no line break)."""
    if not url or url.startswith("-") or any(c in url for c in "\n\r\0"):
        raise GitError(f"not a usable repository URL: {url!r}")
    return url


def list_remote(
    url: str,
    *,
    env: Mapping[str, str],
    scrub: Scrubber,
    timeout: float | None,
    git_dir: Path | None = None,
) -> RemoteRefs:
    """``git ls-remote --symref url`` with a ready environment (base plus credentials)."""
    args = ["ls-remote", "--symref", "--", check_url(url)]
    what = f"git ls-remote {url}"
    if git_dir is not None:
        out = command.run(args, env=env, what=what, git_dir=git_dir, scrub=scrub, timeout=timeout)[1]
        return parse_ls_remote(out.decode("utf-8", "replace"))
    # Outside any repository: run in an empty directory that git may not search above, so no
    # repository around the caller's working directory lends its configuration.
    with tempfile.TemporaryDirectory(prefix="gitloop-ls-remote-") as cwd:
        env = {**env, "GIT_CEILING_DIRECTORIES": str(Path(cwd).parent)}
        out = command.run(args, env=env, what=what, cwd=Path(cwd), scrub=scrub, timeout=timeout)[1]
    return parse_ls_remote(out.decode("utf-8", "replace"))


def ls_remote(
    url: str,
    *,
    credentials: Credentials | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    known_hosts: Path | None = None,
) -> dict[str, str]:
    """Every ref of the remote ``url`` and its commit (tags as advertised; ``refs/tags/x^{}`` peeled),
    plus ``HEAD``. ``env`` is the base environment (default: this process's). Credentials inside
    an HTTP(S) URL are taken out of it and used when ``credentials`` is ``None``."""
    clean, user, password = split_userinfo(url)
    if credentials is None and (user or password):
        credentials = HttpsCredentials(user or "", password or "")
    with git_auth(clean, credentials, known_hosts=known_hosts) as auth:
        run_env = {**command.base_environment(env), **auth.env}
        return list_remote(clean, env=run_env, scrub=auth.scrub, timeout=timeout).refs
