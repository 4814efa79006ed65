"""Sync windows and project rules in the CD engine, on fakes of gitloop's ports (fake cluster, fake git,
memory store) with an injected clock: a blocked auto-sync waits, says why, and runs when the window
closes; a manual sync is refused naming the window (or the project rule) unless ``manualSync``."""

from __future__ import annotations

import asyncio
import textwrap
import time
from datetime import datetime
from pathlib import Path

import pytest
from cd_fakes import FakeCluster, FakeRenderer, FakeRepo

from gitloop.errors import UsageError
from gitloop.gitops.engine import Engine
from gitloop.gitops.observe import ClusterView
from gitloop.gitops.operation import SyncRequest
from gitloop.gitops.reconciler import Settings
from gitloop.gitops.source import ManifestSource
from gitloop.gitops.status import ConditionType
from gitloop.model.sync import SyncStatus
from gitloop.spec.argocd import parse_apps_text
from gitloop.store.memory import MemoryStore

URL = "https://git.example/config.git"
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {k: v}\n"
START = datetime.fromisoformat("2026-12-07T10:59:59.400Z").timestamp()
"""Fake time at the start of each scenario: 0.6 s before the 10:00-11:00 UTC window closes."""
DENY = "{kind: deny, schedule: '0 10 * * *', duration: 1h, applications: ['shop-*']}"
DENY_DICT = {
    "kind": "deny",
    "schedule": "0 10 * * *",
    "duration": "1h0m0s",
    "timeZone": "UTC",
    "manualSync": False,
    "applications": ["shop-*"],
}
DENY_LABEL = "deny window (schedule '0 10 * * *', duration 1h0m0s, timeZone UTC)"


def documents(windows: str, *, repos: str = "['*']", policy: str = "automated: {prune: true}") -> str:
    return textwrap.dedent(f"""\
        apiVersion: argoproj.io/v1alpha1
        kind: AppProject
        metadata: {{name: shop}}
        spec:
          sourceRepos: {repos}
          destinations: [{{server: '*', namespace: '*'}}]
          syncWindows: [{windows}]
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {{name: shop-web}}
        spec:
          project: shop
          source: {{repoURL: {URL}, path: app, targetRevision: main}}
          destination: {{server: https://kubernetes.default.svc, namespace: shop}}
          syncPolicy: {{{policy}}}
        """)


class World:
    """The CD engine over a fake repository and cluster, its clock running from ``START``."""

    def __init__(self, tmp: Path, text: str) -> None:
        self.repo = FakeRepo(URL)
        self.repo.commit({"app/cm.yaml": CONFIGMAP})
        self.cluster = FakeCluster()
        self.cluster.add_namespace("shop")
        view = ClusterView(self.cluster)
        origin = time.monotonic()
        sources = ManifestSource(lambda url: self.repo, FakeRenderer(), tmp / "checkouts")
        self.engine = Engine(
            parse_apps_text(text),
            sources,
            lambda app: view,
            MemoryStore(),
            settings=Settings(driver_poll=0.02, workers=2, poll_interval=3600),
            clock=lambda: START + time.monotonic() - origin,
        )

    def synced(self) -> bool:
        return self.cluster.find("ConfigMap", "settings", "shop") is not None


def run(scenario: object) -> None:
    asyncio.run(asyncio.wait_for(scenario, 20))  # type: ignore[arg-type]


def test_blocked_auto_sync_waits_says_why_and_runs_when_the_window_closes(tmp_path: Path) -> None:
    world = World(tmp_path, documents(DENY))

    async def scenario() -> None:
        engine = world.engine
        status = await engine.refresh("shop-web", auto_sync=True)
        blocked = status.condition(ConditionType.SYNC_WINDOW_BLOCKED)
        assert blocked is not None and DENY_LABEL in blocked.message
        assert not engine.operating("shop-web") and not world.synced()
        assert not engine.windows("shop-web").allowed
        stop = asyncio.Event()
        loop = asyncio.create_task(engine.run(stop))
        for _ in range(150):
            await asyncio.sleep(0.02)
            if engine.status("shop-web").sync_status is SyncStatus.SYNCED:
                break
        assert world.synced(), "the refresh scheduled at the window's end started the auto-sync"
        stop.set()
        await loop
        status = engine.status("shop-web")
        assert status.operation is not None and status.operation.automated
        assert status.condition(ConditionType.SYNC_WINDOW_BLOCKED) is None
        assert status.sync_status is SyncStatus.SYNCED

    run(scenario())


def test_manual_sync_is_refused_naming_the_window(tmp_path: Path) -> None:
    world = World(tmp_path, documents(DENY, policy=""))

    async def scenario() -> None:
        with pytest.raises(UsageError) as raised:
            await world.engine.sync("shop-web", SyncRequest())
        assert str(raised.value) == f"cannot sync shop-web: blocked by sync window: active {DENY_LABEL}"
        with pytest.raises(UsageError, match="cannot sync shop-web: blocked by sync window"):
            await world.engine.rollback("shop-web", None)
        assert world.engine.windows("shop-web").response() == {
            "activeWindows": [DENY_DICT],
            "assignedWindows": [DENY_DICT],
            "canSync": False,
        }
        assert not world.synced()

    run(scenario())


def test_manual_sync_goes_through_with_manual_sync(tmp_path: Path) -> None:
    window = DENY.replace("}", ", manualSync: true}")
    world = World(tmp_path, documents(window))

    async def scenario() -> None:
        status = await world.engine.refresh("shop-web", auto_sync=True)
        assert status.condition(ConditionType.SYNC_WINDOW_BLOCKED) is not None, "auto-sync still waits"
        state = world.engine.windows("shop-web")
        assert not state.allowed and state.manual_allowed
        operation = await world.engine.sync("shop-web", SyncRequest())
        assert operation.phase.value == "Succeeded" and world.synced()

    run(scenario())


def test_closed_allow_window_blocks_until_it_opens(tmp_path: Path) -> None:
    allow = "{kind: allow, schedule: '0 11 * * *', duration: 1h, namespaces: [shop]}"
    world = World(tmp_path, documents(allow))

    async def scenario() -> None:
        status = await world.engine.refresh("shop-web", auto_sync=True)
        blocked = status.condition(ConditionType.SYNC_WINDOW_BLOCKED)
        assert (
            blocked is not None
            and "no active allow window: allow window (schedule '0 11 * * *'" in blocked.message
        )
        await asyncio.sleep(0.7)
        status = await world.engine.refresh("shop-web", hard=False, auto_sync=True)
        assert status.condition(ConditionType.SYNC_WINDOW_BLOCKED) is None
        assert world.engine.operating("shop-web"), "the allow window opened at 11:00: auto-sync started"
        await asyncio.gather(*world.engine.reconciler.running.values())
        assert world.synced()

    run(scenario())


def test_application_its_project_refuses_is_never_synced(tmp_path: Path) -> None:
    world = World(tmp_path, documents("", repos="['https://git.example/other']"))

    async def scenario() -> None:
        status = await world.engine.refresh("shop-web", auto_sync=True)
        refused = status.condition(ConditionType.INVALID_SPEC_ERROR)
        assert refused is not None and "is not permitted in project 'shop'" in refused.message
        assert not world.engine.operating("shop-web")
        with pytest.raises(
            UsageError, match=f"cannot sync shop-web: application repo {URL} is not permitted"
        ):
            await world.engine.sync("shop-web", SyncRequest())
        assert not world.synced()

    run(scenario())
