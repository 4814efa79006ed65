"""Desired manifests from git: resolve an Application's revisions, render them, and remember the result.

One ``GitRepo`` mirror per repository (``repo_for``) serves every Application. ``resolve`` fetches a
mirror at most once per refresh round — a fetch that started after ``fetched_after`` serves every
Application that asks later — and resolves each source's ``targetRevision`` to a commit SHA, once per
fetch. ``render`` renders only when the inputs changed: the cache key holds, per source, the id of
the git tree that can influence the output — the app directory's tree for a plain directory of
manifests, the repository's root tree when the source is a Kustomization or a Helm chart (which may
read ``../base`` or ``$ref`` files) — plus the source as written, the Application's name and
destination namespace. Commits that do not touch an app's directory cost no render.

Checkouts (``GitRepo.export``) are shared by every Application rendering the same commit and kept
for the last few commits. Everything here blocks (git and the render tools are subprocesses): the
reconciler calls it from worker threads.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from gitloop.errors import GitError
from gitloop.model.resources import Manifest
from gitloop.ports import CommitInfo, GitRepo, Renderer
from gitloop.spec.argocd import Application, ApplicationSource

_RENDER_CACHE = 4096
_CHECKOUTS = 6
_TOOL_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization", "Chart.yaml")


@dataclass(frozen=True)
class Rendered:
    """The manifests of an Application at some revisions, and the key they were cached under."""

    revisions: tuple[str, ...]
    manifests: tuple[Manifest, ...]
    key: str


@dataclass
class _Fetch:
    lock: threading.Lock
    started: float = 0.0
    generation: int = 0


class ManifestSource:
    """Resolves and renders Applications' sources from shared git mirrors, with a render cache."""

    def __init__(
        self,
        repo_for: Callable[[str], GitRepo],
        renderer: Renderer,
        workdir: Path,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._repo_for = repo_for
        self._renderer = renderer
        self._workdir = Path(workdir)
        self._clock = clock
        self._lock = threading.Lock()
        self._fetches: dict[str, _Fetch] = {}
        self._resolved: dict[tuple[str, str], tuple[int, str]] = {}
        self._rendered: OrderedDict[str, Rendered] = OrderedDict()
        self._contained: dict[tuple[str, str, str], bool] = {}
        self._checkouts: OrderedDict[tuple[str, str], Path] = OrderedDict()
        self._in_use: dict[tuple[str, str], int] = {}
        self._exporting: dict[tuple[str, str], threading.Lock] = {}
        self.renders = 0
        """How many times a renderer actually ran (for tests and benchmarks)."""

    # -- git ---------------------------------------------------------------------------------------

    def repo(self, url: str) -> GitRepo:
        return self._repo_for(url)

    def fetch(self, url: str, *, fetched_after: float) -> int:
        """Fetch ``url`` unless a fetch started at or after ``fetched_after``; the fetch generation."""
        with self._lock:
            entry = self._fetches.setdefault(url, _Fetch(threading.Lock()))
        with entry.lock:
            if entry.generation and entry.started >= fetched_after:
                return entry.generation
            started = self._clock()
            self.repo(url).fetch()
            entry.started, entry.generation = started, entry.generation + 1
            return entry.generation

    def resolve(self, app: Application, *, fetched_after: float) -> tuple[str, ...]:
        """The commit SHA of every source of ``app`` (ref sources included), fetching as needed."""
        shas = []
        for source in app.sources:
            generation = self.fetch(source.repo_url, fetched_after=fetched_after)
            key = (source.repo_url, source.target_revision)
            known = self._resolved.get(key)
            if known is not None and known[0] == generation:
                shas.append(known[1])
                continue
            sha = self.repo(source.repo_url).resolve(source.target_revision)
            self._resolved[key] = (generation, sha)
            shas.append(sha)
        return tuple(shas)

    def commit_info(self, url: str, sha: str) -> CommitInfo:
        """Author, time and message of ``sha`` in ``url``. A commit the mirror does not have (a
        repository no Application follows, like a source repository whose author a promotion checks,
        or one pushed since the last fetch) is fetched once before ``GitError`` says it is not there."""
        try:
            return self.repo(url).commit_info(sha)
        except GitError:
            self.fetch(url, fetched_after=self._clock())
        return self.repo(url).commit_info(sha)

    # -- rendering ---------------------------------------------------------------------------------

    def render(
        self,
        app: Application,
        revisions: tuple[str, ...],
        *,
        sources: tuple[ApplicationSource, ...] | None = None,
    ) -> Rendered:
        """``app``'s manifests at ``revisions`` (one per source); ``sources`` replaces the Application's
        own (a rollback renders the sources of a history entry)."""
        chosen = sources if sources is not None else app.sources
        key = self._key(app, chosen, revisions)
        with self._lock:
            cached = self._rendered.get(key)
            if cached is not None:
                self._rendered.move_to_end(key)
                # The same trees at other commits (a revert back to them): the manifests, at these revisions.
                return cached if cached.revisions == revisions else replace(cached, revisions=revisions)
        manifests = self._render(app, chosen, revisions)
        rendered = Rendered(revisions, tuple(manifests), key)
        settled = self._key(
            app, chosen, revisions
        )  # once rendering told whether the source is self-contained
        with self._lock:
            self._rendered[key] = rendered
            self._rendered[settled] = rendered
            while len(self._rendered) > _RENDER_CACHE:
                self._rendered.popitem(last=False)
        return rendered

    def _key(
        self, app: Application, sources: tuple[ApplicationSource, ...], revisions: tuple[str, ...]
    ) -> str:
        parts: list[object] = [app.name, app.destination.namespace, app.project]
        for source, sha in zip(sources, revisions, strict=True):
            repo = self.repo(source.repo_url)
            raw = json.dumps(source.raw, sort_keys=True)
            if source.is_ref_only:
                parts.append((source.repo_url, repo.tree_id(sha, ""), raw))
                continue
            path_tree = repo.tree_id(sha, source.path)
            contained = self._contained.get((source.repo_url, path_tree, raw), False)
            tree = path_tree if contained else repo.tree_id(sha, "")
            parts.append((source.repo_url, tree, raw, contained))
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()

    def _render(
        self, app: Application, sources: tuple[ApplicationSource, ...], revisions: tuple[str, ...]
    ) -> list[Manifest]:
        checkouts = [self._checkout(s.repo_url, sha) for s, sha in zip(sources, revisions, strict=True)]
        try:
            refs = {f"${s.ref}": root for s, root in zip(sources, checkouts, strict=True) if s.ref}
            objects: list[Manifest] = []
            for source, root, sha in zip(sources, checkouts, revisions, strict=True):
                if source.is_ref_only:
                    continue
                self.renders += 1
                objects.extend(
                    self._renderer.render(
                        root,
                        dict(source.raw),
                        app_name=app.name,
                        namespace=app.destination.namespace,
                        revision=sha,
                        project=app.project,
                        refs=refs,
                    )
                )
                repo = self.repo(source.repo_url)
                raw = json.dumps(source.raw, sort_keys=True)
                contained = _self_contained(root / source.path.lstrip("/"), source)
                self._contained[(source.repo_url, repo.tree_id(sha, source.path), raw)] = contained
            return objects
        finally:
            for source, sha in zip(sources, revisions, strict=True):
                self._release(source.repo_url, sha)

    def _checkout(self, url: str, sha: str) -> Path:
        """The files of ``sha`` of ``url``, exported once and shared; release with ``_release``."""
        key = (url, sha)
        with self._lock:
            self._in_use[key] = self._in_use.get(key, 0) + 1
            found = self._checkouts.get(key)
            if found is not None:
                self._checkouts.move_to_end(key)
                return found
        name = hashlib.sha1(url.encode(), usedforsecurity=False).hexdigest()[:12]
        dest = self._workdir / f"{name}-{sha}"
        with self._lock:
            export_lock = self._exporting.setdefault(key, threading.Lock())
        with export_lock:
            try:
                if not dest.exists():
                    self.repo(url).export(sha, dest)
            except BaseException:
                self._release(url, sha)
                raise
            with self._lock:
                self._checkouts[key] = dest
                self._exporting.pop(key, None)
                self._evict()
        return dest

    def _release(self, url: str, sha: str) -> None:
        with self._lock:
            key = (url, sha)
            self._in_use[key] = self._in_use.get(key, 1) - 1
            if self._in_use[key] <= 0:
                del self._in_use[key]
            self._evict()

    def _evict(self) -> None:
        for key in list(self._checkouts):
            if len(self._checkouts) <= _CHECKOUTS:
                return
            if key not in self._in_use:
                shutil.rmtree(self._checkouts.pop(key), ignore_errors=True)

    def close(self) -> None:
        """Remove every checkout."""
        with self._lock:
            for path in self._checkouts.values():
                shutil.rmtree(path, ignore_errors=True)
            self._checkouts.clear()


def _self_contained(app_dir: Path, source: ApplicationSource) -> bool:
    """Whether only files inside ``app_dir`` can change what ``source`` renders to."""
    if source.helm is not None or source.kustomize is not None or source.chart or "plugin" in source.raw:
        return False
    if "jsonnet" in (source.raw.get("directory") or {}):
        return False
    return not any((app_dir / name).exists() for name in _TOOL_FILES)
