"""The two modes of ``gitloop app``: the CD engine in this process (``-f FILE``) or a server (``--server``).

Both answer in Argo CD's JSON — Applications as ``gitloop.gitops.shapes`` builds them, ``managed-resources``
items — so ``gitloop.cli.app_output`` prints the same either way. ``LocalApps`` opens the engine
(``gitloop.service.apps.open_apps``) for each command and shapes what it knows; ``ServerApps`` asks
``/api/v1`` through ``gitloop.service.client.ApiClient``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from gitloop.errors import SyncError

if TYPE_CHECKING:
    from gitloop.gitops.engine import Engine
    from gitloop.service.apps import AppsConfig
    from gitloop.service.client import ApiClient

T = TypeVar("T")
Json = dict[str, Any]


class Apps(Protocol):
    """What the ``gitloop app`` verbs ask, answered in Argo CD's JSON."""

    def applications(self) -> list[Json]:
        """Every Application, sorted by name, with a current status."""

    def get(self, name: str) -> Json:
        """The Application ``name`` after a refresh that fetches git."""

    def refresh(self, names: Sequence[str]) -> list[Json]:
        """``names`` (all when empty) refreshed, fetching git."""

    def managed_resources(self, name: str) -> list[Json]:
        """A fresh comparison's ``managed-resources`` items; ``GitloopError`` when it failed."""

    def manifests(self, name: str) -> list[str]:
        """Argo CD's ``ManifestResponse.manifests``: the desired manifests, JSON strings, Secrets masked."""

    def sync(
        self,
        name: str,
        *,
        revision: str | None,
        prune: bool,
        dry_run: bool,
        force: bool,
        resources: Sequence[str],
    ) -> Json:
        """Sync now; the Application once the operation has ended."""

    def rollback(self, name: str, history_id: int | None, *, disable_auto_sync: bool, prune: bool) -> Json:
        """Sync back to a history entry; the Application once the operation has ended."""

    def revert(self, name: str) -> Json:
        """Revert the config commit that brought the current state; the Application with ``revert``."""

    def wait(self, name: str, *, health: bool, sync: bool, timeout: float) -> Json:
        """The Application once Healthy and/or Synced; ``SyncError`` after ``timeout`` seconds."""

    def application(self, name: str) -> Json:
        """The Application as last known, with its history."""


class LocalApps:
    """The CD engine in this process, over the Application files of ``config``."""

    def __init__(self, config: AppsConfig) -> None:
        self.config = config

    def _run(self, work: Callable[[Engine], Awaitable[T]]) -> T:
        from gitloop.service.apps import open_apps

        async def main() -> T:
            async with open_apps(self.config) as engine:
                return await work(engine)

        return asyncio.run(main())

    @staticmethod
    def _shape(engine: Engine, name: str) -> Json:
        from gitloop.gitops.shapes import application

        return application(engine.app(name), engine.status(name), engine.history(name))

    def applications(self) -> list[Json]:
        from gitloop.gitops.shapes import application

        async def work(engine: Engine) -> list[Json]:
            # As a server's list: no history (``get`` has it).
            return [application(engine.app(n), await engine.refresh(n)) for n in engine.names()]

        return self._run(work)

    def get(self, name: str) -> Json:
        return self.refresh((name,))[0]

    def refresh(self, names: Sequence[str]) -> list[Json]:
        async def work(engine: Engine) -> list[Json]:
            found = []
            for name in engine.names(names):
                await engine.refresh(name)
                found.append(self._shape(engine, name))
            return found

        return self._run(work)

    def application(self, name: str) -> Json:
        async def work(engine: Engine) -> Json:
            return self._shape(engine, engine.names([name])[0])

        return self._run(work)

    def managed_resources(self, name: str) -> list[Json]:
        async def work(engine: Engine) -> list[Json]:
            return await engine.managed_resources(name)

        return self._run(work)

    def manifests(self, name: str) -> list[str]:
        async def work(engine: Engine) -> list[str]:
            found = await engine.manifest_response(name)
            return [str(m) for m in found["manifests"]]

        return self._run(work)

    def sync(
        self,
        name: str,
        *,
        revision: str | None,
        prune: bool,
        dry_run: bool,
        force: bool,
        resources: Sequence[str],
    ) -> Json:
        from gitloop.gitops.operation import SyncRequest
        from gitloop.service.apps import local_user

        request = SyncRequest.manual(
            revision=revision,
            prune=prune,
            dry_run=dry_run,
            force=force,
            resources=resources,
            username=local_user(),
        )

        async def work(engine: Engine) -> Json:
            await engine.sync(name, request)
            return self._shape(engine, name)

        return self._run(work)

    def rollback(self, name: str, history_id: int | None, *, disable_auto_sync: bool, prune: bool) -> Json:
        from gitloop.service.apps import local_user

        async def work(engine: Engine) -> Json:
            await engine.rollback(
                name, history_id, disable_auto_sync=disable_auto_sync, prune=prune, username=local_user()
            )
            return self._shape(engine, name)

        return self._run(work)

    def revert(self, name: str) -> Json:
        from gitloop.service.apps import local_user
        from gitloop.service.revert import revert_rollback

        async def work(engine: Engine) -> Json:
            result = await revert_rollback(engine, name, username=local_user(), wait=True)
            return {**self._shape(engine, name), "revert": result.as_dict()}

        return self._run(work)

    def wait(self, name: str, *, health: bool, sync: bool, timeout: float) -> Json:
        async def work(engine: Engine) -> Json:
            await engine.wait(name, health=health, sync=sync, timeout=timeout)
            return self._shape(engine, name)

        return self._run(work)


class ServerApps:
    """A ``gitloop serve``'s ``/api/v1``."""

    def __init__(self, client: ApiClient, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self._clock = clock

    def applications(self) -> list[Json]:
        return self.client.applications()

    def get(self, name: str) -> Json:
        return self.client.application(name, refresh="hard")

    def refresh(self, names: Sequence[str]) -> list[Json]:
        chosen = list(names) or [str(a["metadata"]["name"]) for a in self.client.applications()]
        return [self.client.application(n, refresh="hard") for n in chosen]

    def application(self, name: str) -> Json:
        return self.client.application(name)

    def managed_resources(self, name: str) -> list[Json]:
        return self.client.managed_resources(name)

    def manifests(self, name: str) -> list[str]:
        return self.client.manifests(name)

    def sync(
        self,
        name: str,
        *,
        revision: str | None,
        prune: bool,
        dry_run: bool,
        force: bool,
        resources: Sequence[str],
    ) -> Json:
        from gitloop.gitops.sync.selection import ResourceSelector

        chosen = [ResourceSelector.parse(r) for r in resources]
        before = self.client.operation_id(self.client.application(name))
        started = self.client.sync(
            name,
            revision=revision,
            prune=prune,
            dry_run=dry_run,
            force=force,
            resources=[
                {"group": r.group, "kind": r.kind, "namespace": r.namespace, "name": r.name} for r in chosen
            ],
        )
        return self.client.wait_operation(name, started, before=before)

    def rollback(self, name: str, history_id: int | None, *, disable_auto_sync: bool, prune: bool) -> Json:
        from gitloop.errors import UsageError

        if disable_auto_sync:
            raise UsageError(
                "--disable-auto-sync is not available with --server: the API's rollback has no such field"
            )
        current = self.client.application(name)
        if history_id is None:
            history_id = _previous(name, current)
        started = self.client.rollback(name, history_id, prune=prune)
        return self.client.wait_operation(name, started, before=self.client.operation_id(current))

    def revert(self, name: str) -> Json:
        return self.client.revert(name)

    def wait(self, name: str, *, health: bool, sync: bool, timeout: float) -> Json:
        deadline = self._clock() + timeout
        refresh = "hard"
        while True:
            app = self.client.application(name, refresh=refresh)
            refresh = "normal"
            status = app.get("status") or {}
            healthy = (status.get("health") or {}).get("status") == "Healthy"
            synced = (status.get("sync") or {}).get("status") == "Synced"
            if (healthy or not health) and (synced or not sync):
                return app
            left = deadline - self._clock()
            if left <= 0:
                raise SyncError(
                    f"timed out after {timeout:.0f}s waiting for {name}: sync "
                    f"{(status.get('sync') or {}).get('status')}, health {(status.get('health') or {}).get('status')}"
                )
            time.sleep(min(left, 1.0))


def _previous(name: str, app: Json) -> int:
    """The history id a rollback without one returns to (the engine's rule, on ``status.history``)."""
    from gitloop.gitops.history import rollback_target
    from gitloop.ports import HistoryEntry

    entries = [
        HistoryEntry(int(e["id"]), name, 0.0, {"phase": (e.get("gitloop") or {}).get("phase", "")})
        for e in (app.get("status") or {}).get("history") or []
    ]
    return rollback_target(name, entries, None, 0).id
