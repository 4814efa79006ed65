"""The serve config's ``applications:`` as live state: ``ConfigApps`` reads every source again when it
changes and makes the CD engine's ``config`` Applications and AppProjects exactly what they define.

Sources are local files and directories (read where they are) and directories of git repositories
(fetched into a mirror, ``revision`` resolved, ``path`` exported at that commit; not exported again
while the commit stays the same). When: the local paths are checked every
``applicationsPollInterval`` (a signature of every YAML/JSON file under them: path, mtime, size);
a git source on a push webhook naming its repository and branch (the CD side's rule,
``pushhooks.matching_apps``) and every ``pollInterval``. A read parses every source at once with the
one loader (``spec.argocd.load_apps``: a name defined twice is a ``SpecError``), checks the post-sync
annotations, and hands the ``AppSet`` to ``apply_config``, the one step that applies it
(``Engine.replace_owned``: removed Applications deleted with Argo CD's deletion rules).

Bad input deletes nothing: when a source cannot be read or a file does not validate, the read changes
nothing at all; the error is logged once (never a URL password) and kept for ``GET /api/status``
(``status()``) until a good read applies. At start (``first``) the same error stops the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import stat
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitloop.errors import GitloopError, SpecError, UsageError
from gitloop.git import MirrorCache, RepoCredentials, RepoCreds, redact_url
from gitloop.gitops.applications import CONFIG_OWNER
from gitloop.gitops.engine import Engine, Owned
from gitloop.gitops.shapes import timestamp
from gitloop.service.server.engines import Push
from gitloop.service.server.observations import OBSERVED
from gitloop.service.server.pushhooks import matching_apps
from gitloop.spec.argocd import AppSet, load_apps
from gitloop.spec.gitloop_promotion import PromotionChain, load_chains
from gitloop.spec.serveconfig import AppSourceConfig
from gitloop.spec.yaml.documents import YAML_SUFFIXES

if TYPE_CHECKING:
    from gitloop.service.server.appsets import AppSets

__all__ = ["ConfigApps", "apply_config", "describe_source"]

log = logging.getLogger("gitloop.serve")

Signature = tuple[tuple[str, int, int], ...]
"""Every YAML/JSON file under a local source: ``(path, mtime ns, size)``; ``-1`` for a missing path."""


async def apply_config(engine: Engine, found: AppSet, appsets: AppSets | None = None) -> Owned:
    """Make the engine's ``config`` Applications and AppProjects, and the ``config`` ApplicationSets of
    ``appsets``, exactly those ``found`` defines. An ApplicationSet another owner holds is ``refused``."""
    done = await engine.replace_owned(CONFIG_OWNER, found.apps.values(), found.projects.values())
    if appsets is not None:
        refused = await appsets.replace_owned(CONFIG_OWNER, found.appsets.values())
        done.refused.extend(f"ApplicationSet/{name}" for name in refused)
    return done


def describe_source(source: AppSourceConfig) -> str:
    """A source as the status and the log name it (no URL password)."""
    if source.files:
        return ", ".join(str(p) for p in source.files)
    return f"{redact_url(source.repo_url)}@{source.revision}:{source.path or '/'}"


def signature(paths: Sequence[Path]) -> Signature:
    """What changes when a YAML/JSON file under ``paths`` is added, removed or written."""
    found: list[tuple[str, int, int]] = []
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.suffix in YAML_SUFFIXES) if path.is_dir() else [path]
        for file in files:
            try:
                info = file.stat()
            except OSError:
                found.append((str(file), -1, -1))
                continue
            if stat.S_ISREG(info.st_mode) or file == path:
                found.append((str(file), info.st_mtime_ns, info.st_size))
    return tuple(found)


@dataclass
class _Source:
    """One configured source and what its last read found."""

    config: AppSourceConfig
    name: str
    seen: Signature | str | None = None
    """The local signature, or the git commit, of the last read (applied or not)."""
    root: Path | None = None
    """Where a git source's commit is exported."""
    error: str = ""
    unread: bool = False
    """The last attempt could not read the source itself (git): read again when it can."""
    last_read: float = 0.0

    def status(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"source": self.name}
        if isinstance(self.seen, str):
            entry["revision"] = self.seen
        if self.error:
            entry["error"] = self.error
        entry["lastRead"] = timestamp(self.last_read)
        return entry

    def owns(self, where: str) -> bool:
        """Whether a file named in ``where`` (an error's file, an origin) is one of this source's."""
        roots = [self.root] if self.root is not None else self.config.files
        return any(where == str(r) or f"{r}/" in where or f"{r}:" in where for r in roots)


class ConfigApps:
    """The live reader of the serve config's ``applications:``; ``first`` before serving, then
    ``start``/``stop`` the background re-reads. ``pushed`` is thread-safe."""

    def __init__(
        self,
        sources: Sequence[AppSourceConfig],
        *,
        credentials: Sequence[RepoCreds],
        workdir: Path,
        mirrors: Path,
        check: Callable[[AppSet], None] = lambda found: None,
        files_interval: float = 3.0,
        git_interval: float = 180.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sources = [_Source(s, describe_source(s)) for s in sources]
        self._mirrors = MirrorCache(mirrors, credentials=RepoCredentials(credentials), observe=OBSERVED)
        self._workdir = workdir
        self._check = check
        self._files_interval, self._git_interval = files_interval, git_interval
        self._clock = clock
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._engine: Engine | None = None
        self.appsets: AppSets | None = None
        """Where the config's ApplicationSets go (set before ``first``; ``None``: they are ignored)."""
        self.chains: Mapping[str, PromotionChain] = {}
        """The PromotionChains kept beside the Applications, as of the last good read."""
        self._logged = ""
        self._retry = False

    # -- reading ----------------------------------------------------------------------------------

    def _git_root(self, number: int, source: _Source, fetch: bool) -> Path:
        config = source.config
        mirror = self._mirrors.get(config.repo_url)
        if fetch or source.root is None:
            mirror.fetch()
        sha = mirror.resolve(config.revision)
        if source.seen != sha or source.root is None:
            old, source.root = source.root, None
            source.root = mirror.export(sha, self._workdir / f"{number}-{sha[:12]}")
            if old is not None and old != source.root:
                shutil.rmtree(old, ignore_errors=True)
        source.seen = sha
        target = source.root / config.path if config.path else source.root
        if not target.is_dir():
            where = f"{redact_url(config.repo_url)} at {config.revision} ({sha[:12]})"
            raise UsageError(f"applications: {config.path} is not a directory in {where}")
        return target

    def _read(self, fetch: bool) -> tuple[AppSet | None, bool]:
        """Every source read (in a thread): the ``AppSet`` they define, ``None`` when one failed (the
        error kept on its source); and whether anything changed since the last read."""
        changed = False
        paths: list[Path] = []
        now = self._clock()
        for number, source in enumerate(self._sources):
            before = source.seen
            try:
                if source.config.files:
                    source.seen = signature(source.config.files)
                    paths.extend(source.config.files)
                elif source.unread and not fetch:
                    return None, False  # its fetch failed: nothing to learn before the next one
                else:
                    paths.append(self._git_root(number, source, fetch))
            except GitloopError as exc:
                source.error, source.unread, source.last_read = self._message(exc, source), True, now
                return None, True
            changed = changed or source.seen != before or source.unread
        if not changed and not self._retry:
            return None, False
        for source in self._sources:
            source.error, source.unread, source.last_read = "", False, now
        try:
            found = load_apps(paths)
            self._check(found)
            chains = load_chains(paths)
        except SpecError as exc:
            where = exc.file or str(exc)
            culprit = next((s for s in self._sources if s.owns(where)), self._sources[0])
            culprit.error = self._message(exc, culprit)
            return None, True
        self.chains = chains
        return found, True

    def _message(self, exc: GitloopError, source: _Source) -> str:
        """The error as the status shows it: the export directory named as the repository's commit."""
        text = str(exc)
        if source.root is not None and isinstance(source.seen, str):
            text = text.replace(str(source.root), f"{redact_url(source.config.repo_url)}@{source.seen[:12]}")
        if source.config.repo_url:
            text = text.replace(source.config.repo_url, redact_url(source.config.repo_url))
        return text

    def status(self) -> list[dict[str, Any]]:
        """``[{source, revision?, error?, lastRead}]``: each source's last read and why it was not applied."""
        return [source.status() for source in self._sources]

    # -- applying ---------------------------------------------------------------------------------

    async def first(self, engine: Engine) -> None:
        """The initial read, applied; any error stops the start (``SpecError``/``UsageError``/``GitError``)."""
        self._engine = engine
        found, _ = await asyncio.to_thread(self._read, True)
        failed = next((s for s in self._sources if s.error), None)
        if found is None:
            assert failed is not None
            kind = UsageError if failed.unread else SpecError
            raise kind(f"applications: {failed.name}: {failed.error}")
        await self._apply(found)

    async def reread(self, *, fetch: bool) -> None:
        """Read every source again (``fetch``: git sources fetched too) and apply what changed."""
        found, changed = await asyncio.to_thread(self._read, fetch)
        if found is not None:
            await self._apply(found)
        elif changed:
            self._say(logging.ERROR, "applications not re-read, nothing changed")

    def _say(self, level: int, what: str) -> None:
        """Log the sources' errors once: again only when they differ from the last ones logged."""
        text = "; ".join(f"{s.name}: {s.error}" for s in self._sources if s.error)
        if text and text != self._logged:
            log.log(level, "%s: %s", what, text)
        self._logged = text

    async def _apply(self, found: AppSet) -> None:
        assert self._engine is not None
        done = await apply_config(self._engine, found, self.appsets)
        self._retry = bool(done.failed or done.refused)  # tried again on every check until done
        for name in done.refused:
            app = found.apps.get(name) or found.appsets.get(name.removeprefix("ApplicationSet/"))
            where = str(app.origin) if app is not None and app.origin else name
            source = next((s for s in self._sources if s.owns(where)), self._sources[0])
            refused = f"{name}: registered through the API under the same name, not taken over"
            source.error = f"{source.error}; {refused}" if source.error else refused
        for name, reason in done.failed.items():
            self._sources[0].error += f"{'; ' if self._sources[0].error else ''}{name} not deleted: {reason}"
        self._say(logging.WARNING, "applications applied with errors")
        said = [
            f"{what} {', '.join(names)}"
            for what, names in (
                ("created", done.created),
                ("updated", done.updated),
                ("deleted", done.deleted),
            )
            if names
        ]
        if said:
            log.info("applications from the config: %s", "; ".join(said))

    # -- when -------------------------------------------------------------------------------------

    def pushed(self, push: Push) -> bool:
        """Whether ``push`` moves a git source; if so, the sources are read again at once. Thread-safe."""
        tracked = {
            s.name: [(s.config.repo_url, s.config.revision)] for s in self._sources if s.config.repo_url
        }
        if not matching_apps(push, tracked):
            return False
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)
        return True

    async def start(self) -> None:
        """Re-read in the background until ``stop``."""
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name="applications re-read")

    async def stop(self, grace: float = 10.0) -> None:
        """Stop the re-reads: a read being applied gets ``grace`` seconds to end, then is cancelled."""
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, timeout=grace)

    async def _run(self) -> None:
        has_files = any(s.config.files for s in self._sources)
        has_git = any(s.config.repo_url for s in self._sources)
        next_fetch = time.monotonic() + self._git_interval
        while not self._stop.is_set():
            wait = self._files_interval if has_files else self._git_interval
            if has_git:
                wait = max(0.0, min(wait, next_fetch - time.monotonic()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
            if self._stop.is_set():
                return
            fetch = has_git and (self._wake.is_set() or time.monotonic() >= next_fetch)
            self._wake.clear()
            if fetch:
                next_fetch = time.monotonic() + self._git_interval
            try:
                await self.reread(fetch=fetch)
            except Exception as exc:  # the re-reads must go on; the engine says what failed
                log.error("applications: re-read failed: %s", exc, exc_info=exc)
