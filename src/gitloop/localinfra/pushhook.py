"""The ``post-receive`` hook of the local git server's repositories: POST one push event per ref.

Each repository's ``hooks/post-receive`` execs ``python -m gitloop.localinfra.pushhook`` with the
interpreter that created it. The hook reads its configuration from the JSON file named by
``$GITLOOP_PUSHHOOK_CONFIG``, which the running server writes (mode 0600, in a private directory) and
passes down through ``git http-backend``; without it the hook does nothing. The configuration holds the
webhook URL, the optional HMAC secret, the server root and its base URL. A repository's own
``gitloop.webhookUrl`` (git config) replaces the URL for its pushes.

Delivery failures never fail the push: they become a warning on the pusher's terminal.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from gitloop import __version__
from gitloop.localinfra.pushevent import (
    MAX_COMMITS,
    Commit,
    Person,
    PushEvent,
    RefUpdate,
    RepoRef,
    parse_name_status,
    parse_updates,
    signature,
)

CONFIG_ENV = "GITLOOP_PUSHHOOK_CONFIG"
DEFAULT_PUSHER = "gitloop"
_TIMEOUT = 10.0


@dataclass(frozen=True)
class HookConfig:
    """Where to deliver push events, and how to name the repositories in them."""

    url: str
    root: str
    base_url: str
    secret: str | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, str | None]:
        return {"url": self.url, "secret": self.secret, "root": self.root, "base_url": self.base_url}

    @classmethod
    def load(cls, path: Path) -> HookConfig:
        data = json.loads(path.read_text())
        secret = data.get("secret")
        return cls(str(data["url"]), str(data["root"]), str(data["base_url"]), secret and str(secret))

    def write(self, path: Path) -> None:
        """Write the configuration readable by its owner only (it may hold the secret)."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            os.fchmod(f.fileno(), 0o600)
            json.dump(self.to_json(), f)


class DeliveryError(Exception):
    """The webhook receiver could not be reached or did not answer 2xx (the hook only warns)."""


def _git(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=check)


def _peel(sha: str) -> str | None:
    """The commit a ref value points at (annotated tags peeled), or ``None``."""
    out = _git("rev-parse", "--verify", "--quiet", f"{sha}^{{commit}}", check=False)
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def _commit_ids(update: RefUpdate, after: str) -> list[str]:
    """The commits new to this ref, oldest first, at most ``MAX_COMMITS`` of the newest."""
    args = ["rev-list", "--reverse", f"--max-count={MAX_COMMITS}"]
    if update.created:
        # Everything not already reachable from another ref (HEAD included: it may point here).
        args += [after, "--not", f"--exclude={update.ref}", "--exclude=HEAD", "--all"]
    else:
        args += [f"{update.before}..{after}"]
    return _git(*args).stdout.split()


def read_commit(sha: str) -> Commit:
    """One commit's id, message, committer date (ISO 8601), people and changed paths."""
    fmt = "%H%x00%T%x00%cI%x00%an%x00%ae%x00%cn%x00%ce%x00%B"
    cid, tree, when, an, ae, cn, ce, message = _git("show", "-s", f"--format={fmt}", sha).stdout.split(
        "\0", 7
    )
    changes = _git("diff-tree", "-r", "-z", "--root", "--no-commit-id", "--name-status", sha).stdout
    added, removed, modified = parse_name_status(changes)
    return Commit(
        cid, message.rstrip("\n"), when, Person(an, ae), Person(cn, ce), tree, added, removed, modified
    )


def read_event(update: RefUpdate, repo: RepoRef, pusher: str) -> PushEvent:
    """Build the push event for ``update`` from the repository in the current directory."""
    head_id = None if update.deleted else _peel(update.after)
    if head_id is None:
        return PushEvent(update, repo, pusher)
    commits = [read_commit(c) for c in _commit_ids(update, head_id)]
    head = commits[-1] if commits and commits[-1].id == head_id else read_commit(head_id)
    forced = False
    if not update.created:
        ancestor = _git("merge-base", "--is-ancestor", update.before, head_id, check=False)
        forced = ancestor.returncode != 0
    return PushEvent(update, repo, pusher, commits, head, forced)


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def deliver(url: str, body: bytes, secret: str | None, *, timeout: float = _TIMEOUT) -> int:
    """POST ``body`` as a GitHub ``push`` webhook; returns the HTTP status or raises DeliveryError."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise DeliveryError(f"webhook URL must be http or https: {url}")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"gitloop-pushhook/{__version__}",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": str(uuid.uuid4()),
    }
    if secret:
        headers["X-Hub-Signature-256"] = signature(body, secret)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    # Loopback receivers are reached directly, whatever proxy the environment names.
    handlers = [urllib.request.ProxyHandler({})] if _is_loopback(url) else []
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise DeliveryError(f"HTTP {exc.code} {exc.reason}") from exc
    except (OSError, ValueError) as exc:
        raise DeliveryError(str(exc)) from exc


def _default_branch() -> str:
    out = _git("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    return out.stdout.strip() or "main"


def repo_ref(config: HookConfig, git_dir: Path) -> RepoRef:
    """Name the repository at ``git_dir`` by its path under the server root."""
    try:
        relative = git_dir.resolve().relative_to(Path(config.root).resolve()).as_posix()
    except ValueError:
        relative = git_dir.resolve().name
    return RepoRef.from_path(relative, config.base_url, _default_branch())


def _warn(message: str) -> None:
    print(f"gitloop: warning: {message}", file=sys.stderr, flush=True)


def run(stdin: str, env: Mapping[str, str]) -> int:
    """The hook's body; always returns 0 so that a webhook problem never fails the push."""
    config_path = env.get(CONFIG_ENV)
    if not config_path:
        return 0
    try:
        config = HookConfig.load(Path(config_path))
        updates = parse_updates(stdin)
        repo = repo_ref(config, Path(env.get("GIT_DIR", ".")))
    except (OSError, ValueError, KeyError, subprocess.CalledProcessError) as exc:
        _warn(f"push webhook not configured properly: {exc}")
        return 0
    pusher = env.get("REMOTE_USER") or DEFAULT_PUSHER
    url = repo_webhook_url() or config.url
    for update in updates:
        try:
            deliver(url, read_event(update, repo, pusher).body(), config.secret)
        except (DeliveryError, OSError, ValueError, subprocess.CalledProcessError) as exc:
            _warn(f"push webhook for {update.ref} to {url} not delivered: {exc}")
    return 0


def repo_webhook_url() -> str:
    """The repository's own webhook URL (``gitloop.webhookUrl`` of its git config), or ``""``."""
    return _git("config", "--get", "gitloop.webhookUrl", check=False).stdout.strip()


def main() -> int:
    return run(sys.stdin.read(), os.environ)


if __name__ == "__main__":
    sys.exit(main())
