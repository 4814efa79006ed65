"""In-memory fakes of the ApplicationSet engine's own ports (``gitloop.appset.ports``): a git tree, and a
sink that records what the controller did. Never a fake of git or Kubernetes themselves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gitloop.errors import GitError, SyncError
from gitloop.spec.argocd import Application


class FakeTree:
    """``GitTree`` over ``{repo_url: {revision: {"sha": ..., "files": {path: text}}}}``."""

    def __init__(self, repos: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> None:
        self.repos = {url: dict(revisions) for url, revisions in repos.items()}

    def files(self, repo_url: str, revision: str) -> tuple[str, list[str]]:
        found = self.repos.get(repo_url, {}).get(revision)
        if found is None:
            raise GitError(f"cannot resolve {revision!r} in {repo_url}")
        return str(found["sha"]), sorted(found["files"])

    def read(self, repo_url: str, sha: str, path: str) -> bytes:
        for revision in self.repos[repo_url].values():
            if revision["sha"] == sha:
                return str(revision["files"][path]).encode()
        raise GitError(f"no commit {sha} in {repo_url}")


@dataclass
class FakeSink:
    """``AppSink`` in memory: Applications with their owners, and every deletion with its cascade."""

    apps: dict[str, Application] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    deletions: list[tuple[str, bool | None]] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)

    def owned(self, owner: str) -> list[str]:
        return sorted(n for n, o in self.owners.items() if o == owner)

    def owner_of(self, name: str) -> str | None:
        return self.owners.get(name)

    def upsert(self, app: Application, owner: str) -> bool:
        before = self.apps.get(app.name)
        self.apps[app.name], self.owners[app.name] = app, owner
        return before is None or dict(before.spec) != dict(app.spec) or before.finalizers != app.finalizers

    async def delete(self, name: str, cascade: bool | None) -> None:
        if name in self.failing:
            raise SyncError(f"PreDelete hook of {name} failed")
        self.deletions.append((name, cascade))
        self.apps.pop(name)
        self.owners.pop(name)
