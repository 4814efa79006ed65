"""Running the ``git`` CLI: an isolated environment, timeouts, and errors without secrets.

Every git command runs with:

* no prompt of any kind: ``GIT_TERMINAL_PROMPT=0``, an empty ``GIT_ASKPASS`` (which also disables
  ``core.askPass`` and ``SSH_ASKPASS``), ``SSH_ASKPASS_REQUIRE=never``, stdin from ``/dev/null`` and a
  new session (no controlling terminal for ssh to open);
* no system or global git configuration (``GIT_CONFIG_NOSYSTEM=1``, ``GIT_CONFIG_GLOBAL=/dev/null``),
  so a user's ``url.*.insteadOf``, credential helpers or hooks never change what is fetched, and
  every other ``GIT_*`` variable of the caller dropped except CA bundles and ssh settings;
* ``HOME`` kept, so a user's ``~/.ssh/config`` and ssh-agent still serve SSH URLs that have no
  credentials of their own;
* ``LC_ALL=C``, so messages are in English and failures can be told apart.

On failure the message names the command and the repository (without user information), carries
git's own words scrubbed of every secret, and is a :class:`GitAuthError` when the remote refused
the credentials.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from gitloop.errors import AuthError, GitError
from gitloop.git.urls import redact_urls_in
from gitloop.processes import signal_group

log = logging.getLogger(__name__)

MIN_GIT_VERSION = (2, 32)  # GIT_CONFIG_GLOBAL
#: ``GIT_*`` variables of the caller that survive: trust stores and the user's own ssh settings.
KEPT_GIT_VARIABLES = frozenset(
    {"GIT_EXEC_PATH", "GIT_SSL_CAINFO", "GIT_SSL_CAPATH", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSH_VARIANT"}
)
_AUTH_FAILURE = re.compile(
    r"authentication failed|could not read (username|password)|invalid username or password"
    r"|permission denied \(publickey|host key verification failed|returned error: 40[13]\b",
    re.IGNORECASE,
)
_MAX_MESSAGE = 2000

Scrub = Callable[[str], str]


class GitAuthError(GitError, AuthError):
    """The remote refused the credentials (or had none to accept); both a GitError and an AuthError."""


@functools.cache
def git_executable() -> str:
    """The ``git`` on ``PATH``, checked once to be recent enough."""
    git = shutil.which("git")
    if git is None:
        raise GitError("git is not installed: install git 2.32 or newer")
    out = subprocess.run([git, "version"], capture_output=True, text=True, check=False, timeout=30).stdout
    found = re.search(r"(\d+)\.(\d+)", out)
    if found is None or (int(found[1]), int(found[2])) < MIN_GIT_VERSION:
        raise GitError(f"git 2.32 or newer is needed, found {out.strip() or 'an unknown version'}")
    return git


def base_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment every git command starts from, made from ``env`` (default: this process's)."""
    source = os.environ if env is None else env
    out = {k: v for k, v in source.items() if not k.startswith("GIT_") or k in KEPT_GIT_VARIABLES}
    out.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_ASKPASS="",
        SSH_ASKPASS_REQUIRE="never",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        LC_ALL="C",
    )
    return out


def _message(stderr: bytes, scrub: Scrub) -> str:
    text = redact_urls_in(scrub(stderr.decode("utf-8", "replace"))).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    text = "\n".join(lines)
    return text if len(text) <= _MAX_MESSAGE else "..." + text[-_MAX_MESSAGE:]


def failure(what: str, stderr: bytes, scrub: Scrub) -> GitError:
    """The error for a failed command: ``what`` and git's scrubbed words, typed by cause."""
    detail = _message(stderr, scrub)
    text = f"{what}: {detail}" if detail else f"{what} failed"
    if _AUTH_FAILURE.search(detail):
        return GitAuthError(text)
    return GitError(text)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill a command started with ``start_new_session`` and its children (git-remote-https, ssh)."""
    if not signal_group(proc.pid):
        proc.kill()


def popen(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    git_dir: Path | None,
    cwd: Path | None = None,
    stdin: int | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``git [--git-dir D] args`` with pipes for stdout and stderr, in a session of its own."""
    argv = [git_executable(), *(["--git-dir", str(git_dir)] if git_dir is not None else []), *args]
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL if stdin is None else stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env),
        cwd=cwd,
        start_new_session=True,
    )


def run(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    what: str,
    git_dir: Path | None = None,
    cwd: Path | None = None,
    scrub: Scrub = str,
    timeout: float | None = None,
    input: bytes | None = None,
    check: bool = True,
) -> tuple[int, bytes]:
    """Run one git command; returns (exit code, stdout). ``GitError`` when it fails and ``check``.

    ``what`` names the operation for the error message ("git fetch https://host/repo"); it must not
    hold a secret, and is scrubbed all the same.
    """
    what = redact_urls_in(scrub(what))
    started = time.monotonic()
    stdin = subprocess.PIPE if input is not None else None
    proc = popen(args, env=env, git_dir=git_dir, cwd=cwd, stdin=stdin)
    with proc:
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc)
            proc.communicate()
            log.debug("%s: timed out after %.0fs", what, timeout)
            raise GitError(f"{what}: timed out after {timeout:.0f}s") from None
        except BaseException:
            kill_group(proc)
            proc.communicate()
            raise
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        error = failure(what, err, scrub)
        log.debug("%s: exit %d after %.2fs: %s", what, proc.returncode, elapsed, error)
        if check:
            raise error
    else:
        log.debug("%s: ok in %.2fs", what, elapsed)
    return proc.returncode, out
