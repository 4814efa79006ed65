"""``Engine.terminate`` on the fakes of gitloop's ports: a sync waiting on a hook that never completes
is stopped at its next step (the hook deleted, the operation Failed), and terminating when nothing
runs is refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from test_cd_reconciler import World, app_yaml, configmap, job, run

from gitloop.errors import SyncError
from gitloop.gitops.operation import SyncRequest


def test_terminate_stops_a_sync_waiting_on_its_hook(tmp_path: Path) -> None:
    files = {
        "app/cm.yaml": configmap("cfg"),
        "app/wait.yaml": job("wait", {"argocd.argoproj.io/hook": "Sync"}),
    }
    world = World(tmp_path, app_yaml(), files)  # no controller: the Job never completes

    async def scenario() -> None:
        engine = world.engine
        with pytest.raises(SyncError, match="no operation is in progress"):
            engine.terminate("guestbook")
        task = await engine.start_sync("guestbook", SyncRequest())
        while world.live("Job", "wait") is None:
            await asyncio.sleep(0.01)
        engine.terminate("guestbook")
        operation = await task
        assert operation.phase.value == "Failed"
        assert "terminated" in operation.summary().message.lower()
        assert world.live("Job", "wait") is None, "the running hook is deleted"
        assert not engine.operating("guestbook")
        assert not engine.reconciler.driver.terminating, "the request does not outlive its operation"

    run(scenario)
