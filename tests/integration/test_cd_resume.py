"""A sync operation survives ``kill -9`` of ``gitloop app watch``: the next process resumes it from the
store, with the same operation id, and it finishes as if nothing happened."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cd_support import CdWorld, configmap, deployment

from gitloop.gitops.history import history_owner
from gitloop.gitops.operation import STORE_KIND, SyncOperation
from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitserver import GitServer
from gitloop.store import open_store

pytestmark = pytest.mark.integration

POLICY = "syncPolicy:\n  automated: {prune: true}\n  syncOptions: [CreateNamespace=true]\n"


def _slow_deployment() -> str:
    # minReadySeconds keeps wave 0 unhealthy for a few seconds after its pod is Ready.
    text = deployment("slow", 1, {"argocd.argoproj.io/sync-wave": "0"})
    return text.replace("spec:\n  replicas: 1", "spec:\n  minReadySeconds: 6\n  replicas: 1")


def _stored(world: CdWorld) -> SyncOperation | None:
    store = open_store(str(world.database))
    try:
        found = store.get(STORE_KIND, world.app)
        return None if found is None else SyncOperation.from_dict(found.doc)
    finally:
        store.close()


def _watch(world: CdWorld, log: Path) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "gitloop", "app", "watch", *world.cli_args()]
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env={**os.environ})


def test_operation_resumes_after_kill_9(
    local_cluster: LocalCluster, git_server: GitServer, tmp_path: Path
) -> None:
    files = {
        "k8s/a-slow.yaml": _slow_deployment(),
        "k8s/b-after.yaml": configmap("after", {"argocd.argoproj.io/sync-wave": "1"}),
    }
    world = CdWorld.create(local_cluster, git_server, tmp_path, files, policy=POLICY)
    world.config()  # the mirrors directory and database path are the test's own
    log = tmp_path / "watch.log"
    first = _watch(world, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            stored = _stored(world) if world.database.exists() else None
            if stored is not None and stored.state is not None and stored.times:
                break
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        interrupted = _stored(world)
        assert interrupted is not None and interrupted.phase.value == "Running"
        assert asyncio.run(world.live("v1", "ConfigMap", "after")) is None, "wave 1 waited for wave 0"

        second = _watch(world, log)
        try:
            deadline = time.monotonic() + 90
            while True:
                done = _stored(world)
                if done is not None and done.completed:
                    break
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            assert done.id == interrupted.id, "the same operation was resumed, not a new one started"
            assert done.phase.value == "Succeeded", done.summary().message
            assert asyncio.run(world.live("v1", "ConfigMap", "after")) is not None
            store = open_store(str(world.database))
            try:
                entries = store.history(history_owner(world.app))
            finally:
                store.close()
            assert [e.doc["operation"] for e in entries] == [interrupted.id]
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
        asyncio.run(world.cleanup())
