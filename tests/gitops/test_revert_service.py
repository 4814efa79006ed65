"""``revert_rollback`` on the CD engine over a real git repository (a bare one in tmp_path, read
through the real git mirrors and renderer) and the in-memory cluster: the revert lands and auto-sync
applies it; while it lands auto-sync is paused at the pre-revert revision; a conflict changes nothing
and leaves the pause as it was."""

from __future__ import annotations

import asyncio
import subprocess
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from cd_fakes import FakeCluster

from gitloop.git import MirrorCache
from gitloop.gitops.engine import Engine
from gitloop.gitops.observe import ClusterView
from gitloop.gitops.reconciler import Settings
from gitloop.gitops.source import ManifestSource
from gitloop.handoff.revert import RevertConflict
from gitloop.model.sync import SyncStatus
from gitloop.render import SourceRenderer
from gitloop.service.revert import revert_rollback
from gitloop.spec.argocd import parse_apps_text
from gitloop.store.memory import MemoryStore

FILE = "app/cm.yaml"


def _cm(data: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: web}}\ndata: {{version: {data}}}\n"


class Repo:
    def __init__(self, tmp: Path) -> None:
        self.bare, self.work = tmp / "config.git", tmp / "work"
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(self.bare)], check=True)
        subprocess.run(
            ["git", "clone", "-q", str(self.bare), str(self.work)], check=True, capture_output=True
        )

    def git(self, *args: str) -> str:
        env = {"GIT_CONFIG_GLOBAL": "/dev/null", "PATH": "/usr/bin:/bin", "HOME": str(self.work)}
        who = ["-c", "user.name=dev", "-c", "user.email=dev@example.com"]
        done = subprocess.run(
            ["git", *who, *args], cwd=self.work, env=env, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    def commit(self, text: str, message: str) -> str:
        (self.work / FILE).parent.mkdir(exist_ok=True)
        (self.work / FILE).write_text(text)
        self.git("add", FILE)
        self.git("commit", "-q", "-m", message)
        self.git("push", "-q", "origin", "HEAD:main")
        return self.git("rev-parse", "HEAD")

    def tip(self) -> str:
        return self.git("ls-remote", str(self.bare), "refs/heads/main").split()[0]


def _world(tmp: Path, repo: Repo) -> tuple[Engine, FakeCluster]:
    apps = parse_apps_text(
        textwrap.dedent(f"""\
            apiVersion: argoproj.io/v1alpha1
            kind: Application
            metadata: {{name: web}}
            spec:
              project: default
              source: {{repoURL: {repo.bare}, path: app, targetRevision: main}}
              destination: {{server: https://kubernetes.default.svc, namespace: shop}}
              syncPolicy: {{automated: {{prune: true}}}}
            """)
    )
    cluster = FakeCluster()
    cluster.add_namespace("shop")
    view = ClusterView(cluster)
    sources = ManifestSource(MirrorCache(tmp / "mirrors").get, SourceRenderer(), tmp / "checkouts")
    engine = Engine(apps, sources, lambda app: view, MemoryStore(), settings=Settings(driver_poll=0.02))
    return engine, cluster


async def _auto_synced(engine: Engine, revision: str) -> None:
    await engine.refresh("web", hard=True, auto_sync=True)
    task = engine.reconciler.running.get("web")
    if task is not None:
        await task
    status = await engine.refresh("web", hard=False, auto_sync=False)
    assert (status.revision, status.sync_status) == (revision, SyncStatus.SYNCED)


def _live(cluster: FakeCluster) -> str:
    found = cluster.find("ConfigMap", "web", "shop")
    return "" if found is None else str(found["data"]["version"])


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_the_revert_lands_and_auto_sync_applies_it(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    repo.commit(_cm("v1"), "web v1")
    engine, cluster = _world(tmp_path, repo)

    async def scenario() -> None:
        await _auto_synced(engine, repo.tip())
        v2 = repo.commit(_cm("v2"), "web v2")
        await _auto_synced(engine, v2)
        assert _live(cluster) == "v2"
        result = await revert_rollback(
            engine, "web", username="alice", wait=True, lock_dir=tmp_path / "locks"
        )
        assert result.commit == repo.tip() and result.reverted == v2 and result.pushed
        repo.git("fetch", "-q", "origin")
        assert repo.git("log", "-1", "--format=%an", result.commit) == "alice"
        status = await engine.refresh("web", hard=False, auto_sync=False)
        assert (status.revision, status.sync_status, status.auto_sync_paused_at) == (
            result.commit,
            SyncStatus.SYNCED,
            "",
        )
        assert _live(cluster) == "v1"
        last = engine.history("web")[-1].doc
        assert last["revision"] == result.commit and last["initiatedBy"]["automated"] is True

    run(scenario)


def test_while_a_revert_lands_auto_sync_is_paused_at_the_pre_revert_revision(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    repo.commit(_cm("v1"), "web v1")
    engine, cluster = _world(tmp_path, repo)

    async def scenario() -> None:
        await _auto_synced(engine, repo.tip())
        v2 = repo.commit(_cm("v2"), "web v2")  # not synced yet: auto-sync would sync it now
        with pytest.raises(RuntimeError, match="landing failed"):
            async with engine.reconciler.auto_sync_held("web"):
                assert engine.status("web").auto_sync_paused_at == v2
                await engine.refresh("web", hard=True, auto_sync=True)
                assert "web" not in engine.reconciler.running and _live(cluster) == "v1"
                raise RuntimeError("landing failed")
        assert engine.status("web").auto_sync_paused_at == ""  # put back as it was
        await _auto_synced(engine, v2)

    run(scenario)


def test_a_conflict_changes_nothing(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    repo.commit(_cm("v1"), "web v1")
    engine, cluster = _world(tmp_path, repo)

    async def scenario() -> None:
        await _auto_synced(engine, repo.tip())
        v2 = repo.commit(_cm("v2"), "web v2")
        await _auto_synced(engine, v2)
        engine.reconciler.running.clear()
        tip = repo.commit(_cm("v3"), "web v3")  # pushed, not synced: the same line again
        with pytest.raises(RevertConflict, match=rf"{v2[:12]} conflicts with later changes in: {FILE}"):
            await revert_rollback(engine, "web", lock_dir=tmp_path / "locks")
        assert repo.tip() == tip and engine.status("web").auto_sync_paused_at == ""
        assert _live(cluster) == "v2"

    run(scenario)


def test_a_revert_that_changes_nothing_pushes_nothing_and_leaves_no_pause(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    repo.commit(_cm("v1"), "web v1")
    engine, _cluster = _world(tmp_path, repo)

    async def scenario() -> None:
        await _auto_synced(engine, repo.tip())
        v2 = repo.commit(_cm("v2"), "web v2")
        await _auto_synced(engine, v2)
        tip = repo.commit(_cm("v1"), "back to v1 by hand")  # pushed, not synced yet
        result = await revert_rollback(engine, "web", lock_dir=tmp_path / "locks")
        assert (result.commit, result.reverted, result.pushed) == (None, v2, False)
        assert repo.tip() == tip and engine.status("web").auto_sync_paused_at == ""
        await _auto_synced(engine, tip)

    run(scenario)
