"""Sync windows on the real local cluster and git server (issue 9 acceptance): a deny window computed
from the current time blocks an automated Application — its status says which window — and the sync
happens once the window ends; a manual sync during the window is refused naming it, in process and
through a real ``gitloop serve`` (``POST .../sync`` answers 400, ``GET .../syncwindows`` shows it)."""

from __future__ import annotations

import asyncio
import math
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from cd_support import CdWorld, configmap, eventually

from gitloop.errors import UsageError
from gitloop.gitops.engine import Engine
from gitloop.gitops.operation import SyncRequest
from gitloop.gitops.status import ConditionType
from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitserver import GitServer
from gitloop.model.sync import SyncStatus
from gitloop.service.apps import open_apps
from gitloop.spec.argocd import parse_apps_text

sys.path.insert(0, str(Path(__file__).parents[1] / "serve"))  # the serve tests' process helpers
from serve_process import ServeProcess, free_port, serve_env

pytestmark = pytest.mark.integration

POLICY = "syncPolicy:\n  automated: {prune: true}\n  syncOptions: [CreateNamespace=true]\n"
TOKEN = "sync-windows-token"


def _window_ending_in(seconds: float) -> tuple[str, str, float]:
    """A deny window (schedule, Go duration) open since the current UTC minute, ending ``seconds``
    from now (rounded up to a whole second); and its end (epoch seconds)."""
    now = time.time()
    start = math.floor(now / 60) * 60
    duration = math.ceil(now + seconds - start)
    moment = time.gmtime(start)
    return f"{moment.tm_min} {moment.tm_hour} * * *", f"{duration}s", start + duration


def _project(name: str, schedule: str, duration: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: argoproj.io/v1alpha1
        kind: AppProject
        metadata: {{name: {name}}}
        spec:
          sourceRepos: ['*']
          destinations: [{{server: '*', namespace: '*'}}]
          syncWindows:
            - {{kind: deny, schedule: '{schedule}', duration: {duration}, applications: ['win-*']}}
        """)


@pytest.fixture
def world(local_cluster: LocalCluster, git_server: GitServer, tmp_path: Path) -> Iterator[CdWorld]:
    found = CdWorld.create(
        local_cluster, git_server, tmp_path, {"k8s/cm.yaml": configmap("windowed")}, policy=POLICY, name="win"
    )
    text = found.apps_file.read_text().replace("project: default", "project: windows")
    found.apps_file.write_text(text)
    yield found
    asyncio.run(found.cleanup())


def test_deny_window_holds_the_auto_sync_until_it_ends_and_refuses_manual_syncs(world: CdWorld) -> None:
    # Until the engine is warm (git mirrored, cluster discovered) a long window holds everything.
    schedule, _, _ = _window_ending_in(0)
    (world.apps_file.parent / "project.yaml").write_text(_project("windows", schedule, "2h"))
    config = replace(world.config(), paths=(str(world.apps_file.parent),))

    async def scenario() -> None:
        async with open_apps(config) as engine:
            await engine.refresh(world.app, hard=True, auto_sync=False)
            with pytest.raises(UsageError) as refused:
                await engine.sync(world.app, SyncRequest())
            assert str(refused.value) == (
                f"cannot sync {world.app}: blocked by sync window: active deny window "
                f"(schedule '{schedule}', duration 2h0m0s, timeZone UTC)"
            )
            # Now a window that ends about 3 s from now (the project replaced, as an App of Apps would).
            schedule_3s, duration, end = _window_ending_in(3)
            text = _project("windows", schedule_3s, duration)
            engine.apps.put_project(parse_apps_text(text).projects["windows"], owner="test")
            stop = asyncio.Event()
            loop = asyncio.create_task(engine.run(stop))
            try:
                message = await eventually(
                    _blocked(engine, world.app), 2.5, "the blocked auto-sync's condition"
                )
                assert message == (
                    f"auto-sync to {engine.status(world.app).revision[:12]} waits: blocked by sync window: "
                    f"active deny window (schedule '{schedule_3s}', duration {_go(duration)}, timeZone UTC)"
                )
                assert await world.live("v1", "ConfigMap", "windowed") is None
                await eventually(_synced(engine, world.app), 30, "the auto-sync after the window")
            finally:
                stop.set()
                await loop
            final = engine.status(world.app)
            assert final.operation is not None and final.operation.automated
            assert final.operation.started_at >= end, "the sync started only once the window ended"
            assert final.condition(ConditionType.SYNC_WINDOW_BLOCKED) is None
            assert await world.live("v1", "ConfigMap", "windowed") is not None

    asyncio.run(scenario())


def _go(duration: str) -> str:
    """``NNs`` as Go prints it (``1m5s``, ``45s``)."""
    minutes, seconds = divmod(int(duration.removesuffix("s")), 60)
    return f"{minutes}m{seconds}s" if minutes else f"{seconds}s"


def _blocked(engine: Engine, name: str) -> Callable[[], Awaitable[str | None]]:
    async def check() -> str | None:
        found = engine.status(name).condition(ConditionType.SYNC_WINDOW_BLOCKED)
        return found.message if found is not None else None

    return check


def _synced(engine: Engine, name: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        status = engine.status(name)
        return status.sync_status is SyncStatus.SYNCED and not engine.operating(name)

    return check


def test_a_served_application_shows_its_window_and_refuses_a_manual_sync(
    world: CdWorld, tmp_path: Path
) -> None:
    schedule, _, _ = _window_ending_in(0)
    (world.apps_file.parent / "project.yaml").write_text(_project("windows", schedule, "2h"))
    (tmp_path / "api-token").write_text(TOKEN + "\n")
    config = tmp_path / "serve.yaml"
    config.write_text(
        textwrap.dedent(f"""\
            listen: 127.0.0.1:{free_port()}
            pollInterval: 10m
            apiTokenFile: api-token
            applications:
              - files: [{world.apps_file.parent}]
            clusters:
              - {{name: local, kubeconfig: {world.cluster.kubeconfig}}}
            """)
    )
    env = serve_env(tmp_path / "state")
    env["GITLOOP_CACHE_DIR"] = str(tmp_path / "cache")
    label = f"deny window (schedule '{schedule}', duration 2h0m0s, timeZone UTC)"
    with ServeProcess(config, env) as serve:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=serve.url, headers=headers, timeout=30) as client:
            app = f"/api/v1/applications/{world.app}"
            deadline = time.monotonic() + 60
            while True:
                shown = client.get(app)
                conditions = shown.json().get("status", {}).get("conditions", []) if shown.is_success else []
                blocked = [c for c in conditions if c["type"] == "SyncWindowBlocked"]
                if blocked:
                    break
                assert time.monotonic() < deadline, (shown.text, serve.output())
                time.sleep(0.2)
            assert label in blocked[0]["message"]
            in_force = client.get(app).json()["status"]["gitloop"]["syncWindows"]
            windows = client.get(f"{app}/syncwindows")
            assert windows.status_code == 200, windows.text
            expected = {
                "kind": "deny",
                "schedule": schedule,
                "duration": "2h0m0s",
                "timeZone": "UTC",
                "manualSync": False,
                "applications": ["win-*"],
            }
            assert windows.json() == {
                "activeWindows": [expected],
                "assignedWindows": [expected],
                "canSync": False,
            }
            assert in_force == windows.json()
            refused = client.post(f"{app}/sync", json={"prune": True})
            assert refused.status_code == 400, refused.text
            assert refused.json()["code"] == 3
            assert (
                refused.json()["message"]
                == f"cannot sync {world.app}: blocked by sync window: active {label}"
            )
            assert client.get("/api/v1/applications/nope/syncwindows").status_code == 404
        assert serve.stop() == 0, serve.output()
    assert asyncio.run(world.live("v1", "ConfigMap", "windowed")) is None
