"""Bare repositories of the local git server: names, creation, and the push hook they carry.

A repository named ``app`` or ``team/app`` lives at ``<root>/app.git`` or ``<root>/team/app.git``,
is bare, has ``HEAD -> refs/heads/main``, accepts pushes over HTTP (``http.receivepack``), and has a
``post-receive`` hook that runs :mod:`gitloop.localinfra.pushhook` with this interpreter.

A repository may have a webhook URL of its own (``gitloop.webhookUrl`` in its git config, as a GitHub
repository has its own webhooks): its pushes are announced there instead of the server's URL, signed
with the server's secret. The hook reads it at every push, so it can be set while the server runs.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from gitloop.errors import GitError, InfraError, UsageError

_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
HOOK_MARKER = "# gitloop push hook"
WEBHOOK_KEY = "gitloop.webhookUrl"


def repo_name(name: str) -> str:
    """The canonical name (``owner/name`` or ``name``, no ``.git``); UsageError when it is not one."""
    bare = name.strip().strip("/").removesuffix(".git")
    segments = bare.split("/")
    if not bare or len(segments) > 2 or not all(_SEGMENT.fullmatch(s) for s in segments):
        raise UsageError(
            f"bad repository name {name!r}: use 'name' or 'owner/name' of letters, digits, '.', '_', '-'"
        )
    if any(s.endswith((".git", ".lock")) or ".." in s for s in segments):
        raise UsageError(f"bad repository name {name!r}")
    return bare


def repo_path(root: Path, name: str) -> Path:
    """Where the bare repository ``name`` lives under ``root``."""
    return root / f"{repo_name(name)}.git"


def git_executable() -> str:
    found = shutil.which("git")
    if found is None:
        raise InfraError("git is not installed (needed for the local git server): install git")
    return found


def _git(args: list[str], env: Mapping[str, str] | None) -> None:
    proc = subprocess.run(
        [git_executable(), *args],
        capture_output=True,
        text=True,
        env=dict(env) if env is not None else None,
        check=False,
    )
    if proc.returncode != 0:
        raise GitError(f"git {' '.join(args[:3])} failed: {proc.stderr.strip()}")


def hook_script(python: str | None = None) -> str:
    """The ``post-receive`` script: exec the push hook module with ``python`` (default: this one)."""
    exe = shlex.quote(python or sys.executable)
    return f"#!/bin/sh\n{HOOK_MARKER}: POSTs a push event per updated ref.\nexec {exe} -m gitloop.localinfra.pushhook\n"


def install_push_hook(repo: Path) -> Path:
    """(Re)write the repository's ``hooks/post-receive``; returns its path."""
    hooks = repo / "hooks"
    hooks.mkdir(exist_ok=True)
    hook = hooks / "post-receive"
    tmp = hooks / ".post-receive.tmp"
    tmp.write_text(hook_script())
    tmp.chmod(0o755)
    tmp.replace(hook)
    return hook


def init_bare_repo(
    root: Path, name: str, *, exist_ok: bool = False, env: Mapping[str, str] | None = None
) -> Path:
    """Create the bare repository ``name`` under ``root`` and return its path.

    An existing repository raises GitError unless ``exist_ok``; its hook is then refreshed.
    """
    path = repo_path(root, name)
    if path.exists():
        if not exist_ok:
            raise GitError(f"repository {repo_name(name)} already exists at {path}")
        if not (path / "HEAD").is_file():
            raise GitError(f"{path} exists and is not a bare git repository")
        install_push_hook(path)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    _git(["init", "--quiet", "--bare", "--initial-branch=main", str(path)], env)
    _git(["--git-dir", str(path), "symbolic-ref", "HEAD", "refs/heads/main"], env)
    _git(["--git-dir", str(path), "config", "http.receivepack", "true"], env)
    install_push_hook(path)
    return path


def set_repo_webhook(root: Path, name: str, url: str | None, *, env: Mapping[str, str] | None = None) -> None:
    """Announce the pushes of repository ``name`` to ``url`` instead of the server's webhook URL
    (``None``: the server's again)."""
    path = repo_path(root, name)
    if not (path / "HEAD").is_file():
        raise GitError(f"no repository {repo_name(name)} at {path}")
    if url is None:
        proc = subprocess.run(
            [git_executable(), "--git-dir", str(path), "config", "--unset", WEBHOOK_KEY],
            capture_output=True,
            env=dict(env) if env is not None else None,
            check=False,
        )
        if proc.returncode not in (0, 5):  # 5: it was not set
            raise GitError(f"git config --unset {WEBHOOK_KEY} failed in {path}")
        return
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"a webhook URL must be http(s), not {url!r}")
    _git(["--git-dir", str(path), "config", WEBHOOK_KEY, url], env)
