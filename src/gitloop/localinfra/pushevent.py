"""GitHub-style push events, built purely from data the ``post-receive`` hook reads out of git.

One event per updated ref, shaped like GitHub's ``push`` webhook (``ref``, ``before``, ``after``,
``created``, ``deleted``, ``forced``, ``repository``, ``head_commit``, ``commits``, ``pusher``,
``sender``), signed the way GitHub signs: ``X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: GitHub lists at most this many commits in a push event.
MAX_COMMITS = 20

DEFAULT_OWNER = "gitloop"


def is_zero(sha: str) -> bool:
    """True for git's all-zero object name: the ref did not exist before, or no longer exists."""
    return bool(sha) and set(sha) == {"0"}


@dataclass(frozen=True)
class RefUpdate:
    """One line of ``post-receive`` input: ``<old> <new> <ref>``."""

    before: str
    after: str
    ref: str

    @property
    def created(self) -> bool:
        return is_zero(self.before)

    @property
    def deleted(self) -> bool:
        return is_zero(self.after)


def parse_updates(text: str) -> list[RefUpdate]:
    """The ref updates ``post-receive`` reads on stdin; malformed lines raise ``ValueError``."""
    updates = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 3:
            raise ValueError(f"not a post-receive line: {line!r}")
        updates.append(RefUpdate(*parts))
    return updates


@dataclass(frozen=True)
class Person:
    name: str
    email: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "email": self.email, "username": self.name}


@dataclass(frozen=True)
class Commit:
    """What a push event says about one commit."""

    id: str
    message: str
    timestamp: str
    author: Person
    committer: Person
    tree_id: str | None = None
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()

    def to_json(self, repo: RepoRef) -> dict[str, Any]:
        return {
            "id": self.id,
            "tree_id": self.tree_id,
            "distinct": True,
            "message": self.message,
            "timestamp": self.timestamp,
            "url": f"{repo.html_url}/commit/{self.id}",
            "author": self.author.to_json(),
            "committer": self.committer.to_json(),
            "added": list(self.added),
            "removed": list(self.removed),
            "modified": list(self.modified),
        }


@dataclass(frozen=True)
class RepoRef:
    """The pushed repository: ``name`` is the last path segment, ``full_name`` is ``owner/name``."""

    name: str
    full_name: str
    clone_url: str
    default_branch: str = "main"

    @property
    def owner(self) -> str:
        return self.full_name.rsplit("/", 1)[0]

    @property
    def html_url(self) -> str:
        return self.clone_url.removesuffix(".git")

    @classmethod
    def from_path(cls, relative: str, base_url: str, default_branch: str = "main") -> RepoRef:
        """From the repository's path under the server root, e.g. ``team/app.git`` or ``app.git``."""
        path = relative.strip("/")
        full = path.removesuffix(".git")
        name = full.rsplit("/", 1)[-1]
        if "/" not in full:
            full = f"{DEFAULT_OWNER}/{full}"
        return cls(name, full, f"{base_url.rstrip('/')}/{path}", default_branch)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "full_name": self.full_name,
            "owner": {"name": self.owner, "login": self.owner},
            "private": False,
            "html_url": self.html_url,
            "url": self.html_url,
            "clone_url": self.clone_url,
            "git_url": self.clone_url,
            "default_branch": self.default_branch,
            "master_branch": self.default_branch,
        }


@dataclass(frozen=True)
class PushEvent:
    """Everything a push event carries; ``commits`` oldest first, the last one being the head."""

    update: RefUpdate
    repo: RepoRef
    pusher: str
    commits: Sequence[Commit] = ()
    head: Commit | None = None
    forced: bool = False

    def to_json(self) -> dict[str, Any]:
        u = self.update
        return {
            "ref": u.ref,
            "before": u.before,
            "after": u.after,
            "created": u.created,
            "deleted": u.deleted,
            "forced": self.forced,
            "base_ref": None,
            "compare": f"{self.repo.html_url}/compare/{u.before[:12]}...{u.after[:12]}",
            "commits": [c.to_json(self.repo) for c in self.commits[-MAX_COMMITS:]],
            "head_commit": self.head.to_json(self.repo) if self.head else None,
            "repository": self.repo.to_json(),
            "pusher": {"name": self.pusher, "email": None},
            "sender": {"login": self.pusher},
        }

    def body(self) -> bytes:
        """The exact bytes that are sent and signed."""
        return json.dumps(self.to_json(), separators=(",", ":"), ensure_ascii=False).encode()


def signature(body: bytes, secret: str) -> str:
    """GitHub's ``X-Hub-Signature-256`` value: ``sha256=`` and the hex HMAC-SHA256 of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def parse_name_status(raw: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """``(added, removed, modified)`` from ``git diff-tree -r -z --name-status`` output."""
    added: list[str] = []
    removed: list[str] = []
    modified: list[str] = []
    fields = raw.split("\0")
    i = 0
    while i < len(fields):
        status = fields[i]
        if not status:
            i += 1
            continue
        kind = status[0]
        if kind in "RC":
            if i + 2 >= len(fields) or not fields[i + 2]:
                break
            old, new = fields[i + 1], fields[i + 2]
            if kind == "R":
                removed.append(old)
            added.append(new)
            i += 3
            continue
        if i + 1 >= len(fields) or not fields[i + 1]:
            break
        path = fields[i + 1]
        if kind == "A":
            added.append(path)
        elif kind == "D":
            removed.append(path)
        else:
            modified.append(path)
        i += 2
    return tuple(added), tuple(removed), tuple(modified)
