"""Applications registered and deleted while the CD engine runs, on fakes of gitloop's ports: Argo CD's
lifecycle — upsert refreshes, deletion follows the finalizers, reverse waves, PreDelete/PostDelete hooks."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cd_fakes import complete_jobs
from test_cd_reconciler import World, app_yaml, configmap, deployment, job, run

from gitloop.errors import SpecError, SyncError
from gitloop.gitops import deletion
from gitloop.gitops.applications import API_OWNER, SPEC_KIND
from gitloop.gitops.operation import SyncRequest
from gitloop.gitops.status import STORE_KIND, ConditionType
from gitloop.spec.argocd import parse_apps_text

FINALIZER = "resources-finalizer.argocd.argoproj.io"
AUTOMATED = """\
    syncPolicy:
      automated: {prune: true}
"""


def with_finalizer(text: str, finalizer: str = FINALIZER) -> str:
    return text.replace(
        "metadata: {name: guestbook}", f"metadata: {{name: guestbook, finalizers: [{finalizer}]}}"
    )


FILES = {
    "app/a.yaml": configmap("early", {"argocd.argoproj.io/sync-wave": "-1"}),
    "app/b.yaml": configmap("middle"),
    "app/c.yaml": deployment("late", 1, {"argocd.argoproj.io/sync-wave": "2"}),
}


def test_upsert_registers_an_application_and_the_running_loop_syncs_it(tmp_path: Path) -> None:
    world = World(tmp_path, app_yaml("other"), FILES, controller=complete_jobs())
    new = parse_apps_text(app_yaml(policy=AUTOMATED)).app("guestbook")
    changes: list[tuple[str, str]] = []
    world.engine.changes.append(lambda app, event: changes.append((app.name, event)))

    async def scenario() -> None:
        stop = asyncio.Event()
        loop = asyncio.create_task(world.engine.run(stop))
        await asyncio.sleep(0.05)
        assert world.engine.upsert(new, owner=API_OWNER) is True
        assert world.engine.apps.owner("guestbook") == API_OWNER
        assert world.engine.apps.owner("other") == "config"
        assert world.store.get(SPEC_KIND, "guestbook") is not None, "an API Application is kept"
        assert world.engine.upsert(new, owner=API_OWNER) is False, "the same spec again changes nothing"
        while world.live("Deployment", "late") is None:
            await asyncio.sleep(0.02)
        stop.set()
        await loop
        assert changes == [("guestbook", "ADDED")]

    run(scenario)


def test_delete_without_finalizer_keeps_the_resources_and_the_history(tmp_path: Path) -> None:
    world = World(tmp_path, app_yaml(), FILES, controller=complete_jobs())
    changes: list[tuple[str, str]] = []
    world.engine.changes.append(lambda app, event: changes.append((app.name, event)))

    async def scenario() -> None:
        await world.engine.sync("guestbook", SyncRequest())
        await world.engine.delete("guestbook")
        assert world.live("ConfigMap", "middle") is not None
        assert world.live("Deployment", "late") is not None
        assert "guestbook" not in world.engine.apps.apps
        with pytest.raises(SpecError, match="no Application named 'guestbook'"):
            world.engine.app("guestbook")
        assert world.store.get(STORE_KIND, "guestbook") is None, "its status record is removed"
        assert len(world.store.history("Application/guestbook")) == 1, "its history is kept"
        assert changes == [("guestbook", "DELETED")]

    run(scenario)


def test_finalizer_deletes_resources_in_reverse_wave_order_between_delete_hooks(tmp_path: Path) -> None:
    files = {
        **FILES,
        "app/pre.yaml": job("backup", {"argocd.argoproj.io/hook": "PreDelete"}),
        "app/post.yaml": job(
            "notify",
            {
                "argocd.argoproj.io/hook": "PostDelete",
                "argocd.argoproj.io/hook-delete-policy": "HookSucceeded",
            },
        ),
    }
    world = World(tmp_path, with_finalizer(app_yaml()), files, controller=complete_jobs())

    async def scenario() -> None:
        operation = await world.engine.sync("guestbook", SyncRequest())
        assert operation.phase.value == "Succeeded", operation.summary().message
        assert world.live("Job", "backup") is None, "a PreDelete hook never runs in a sync"
        world.cluster.calls.clear()
        await world.engine.delete("guestbook")
        calls = [f"{verb} {name}" for verb, name in world.cluster.calls if verb in ("apply", "delete")]
        assert calls == [
            "apply Job/backup",
            "delete Deployment/late",
            "delete ConfigMap/middle",
            "delete Job/backup",
            "delete ConfigMap/early",
            "apply Job/notify",
            "delete Job/notify",
        ]
        assert world.live("ConfigMap", "early") is None
        assert "guestbook" not in world.engine.apps.apps

    run(scenario)


def test_a_failing_pre_delete_hook_stops_the_deletion_with_a_condition(tmp_path: Path) -> None:
    files = {**FILES, "app/pre.yaml": job("backup", {"argocd.argoproj.io/hook": "PreDelete"})}
    world = World(tmp_path, app_yaml(), files, controller=complete_jobs(failing={"backup"}))

    async def scenario() -> None:
        await world.engine.sync("guestbook", SyncRequest())
        with pytest.raises(SyncError, match=r"PreDelete hook .*backup failed"):
            await world.engine.delete("guestbook", cascade=True)
        assert world.live("ConfigMap", "middle") is not None, "nothing was deleted"
        status = world.engine.status("guestbook")
        error = status.condition(ConditionType.DELETION_ERROR)
        assert error is not None and "backup" in error.message
        assert "guestbook" in world.engine.apps.apps, "the Application stays"

    run(scenario)


def test_cascade_false_overrides_the_finalizer_and_background_is_taken_from_it(tmp_path: Path) -> None:
    world = World(
        tmp_path, with_finalizer(app_yaml(), FINALIZER + "/background"), FILES, controller=complete_jobs()
    )
    app = world.engine.app("guestbook")
    assert deletion.cascades(app, None) and not deletion.cascades(app, False)
    assert deletion.propagation_of(app, None) == "Background"
    assert deletion.propagation_of(app, "foreground") == "Foreground"

    async def scenario() -> None:
        await world.engine.sync("guestbook", SyncRequest())
        await world.engine.delete("guestbook", cascade=False)
        assert world.live("ConfigMap", "middle") is not None

    run(scenario)


def test_applications_created_through_the_api_are_registered_again_at_start(tmp_path: Path) -> None:
    world = World(tmp_path, app_yaml("other"), FILES)
    created = parse_apps_text(with_finalizer(app_yaml())).app("guestbook")
    world.engine.upsert(created, owner=API_OWNER)
    again = world.make()
    assert "guestbook" not in again.apps.apps
    assert again.restore() == ["guestbook"]
    assert again.apps.owner("guestbook") == API_OWNER
    assert again.app("guestbook").finalizers == (FINALIZER,)
    assert again.restore() == [], "registered once"


def test_a_running_operation_is_terminated_before_the_deletion(tmp_path: Path) -> None:
    files = {
        "app/cm.yaml": configmap("cfg"),
        "app/hook.yaml": job("wait", {"argocd.argoproj.io/hook": "Sync"}),
    }
    world = World(tmp_path, app_yaml(), files)  # no controller: the hook never completes

    async def scenario() -> None:
        task = await world.engine.start_sync("guestbook", SyncRequest())
        while world.live("Job", "wait") is None:
            await asyncio.sleep(0.02)
        await world.engine.delete("guestbook", cascade=True)
        operation = await task
        assert operation.phase.value == "Failed" and "terminated" in operation.summary().message.lower()
        assert world.live("ConfigMap", "cfg") is None and world.live("Job", "wait") is None
        assert "guestbook" not in world.engine.apps.apps

    run(scenario)


def test_a_hook_finalizer_left_by_an_interrupted_sync_does_not_hold_the_deletion(tmp_path: Path) -> None:
    world = World(tmp_path, with_finalizer(app_yaml()), FILES, controller=complete_jobs())

    async def scenario() -> None:
        await world.engine.sync("guestbook", SyncRequest())
        stuck = world.live("ConfigMap", "middle")
        assert stuck is not None
        stuck["metadata"]["finalizers"] = ["argocd.argoproj.io/hook-finalizer"]
        world.cluster.update(stuck)
        await world.engine.delete("guestbook")
        assert world.live("ConfigMap", "middle") is None

    run(scenario)


def test_the_live_set_reads_as_an_app_set_and_counts_its_changes() -> None:
    from gitloop.gitops.applications import Applications

    apps = Applications(parse_apps_text(app_yaml("a") + "---\n" + app_yaml("b")))
    assert sorted(apps.apps) == ["a", "b"] and apps.owner("a") == "config"
    assert apps.project("default") is not None and apps.project("nope") is None
    with pytest.raises(SpecError, match=r"no Application named 'c' \(known: a, b\)"):
        apps.app("c")
    version = apps.version
    apps.put(apps.app("a"), owner="app:root")
    assert apps.version == version and apps.owner("a") == "app:root", "a replacement keeps the names"
    apps.remove("a")
    assert apps.version == version + 1 and sorted(apps.apps) == ["b"]


@pytest.mark.parametrize("hooked", [False, True], ids=["no-delete-hooks", "delete-hooks"])
def test_an_application_whose_path_left_git_is_deleted_from_its_live_objects(
    tmp_path: Path, hooked: bool
) -> None:
    """As when an ApplicationSet's directory is removed: the Application can no longer be rendered.
    Its last comparison stands in, and its tracked objects go — unless it had delete hooks, which
    cannot run unrendered: then nothing is deleted and the reason is a condition."""
    hook = {"app/pre.yaml": job("backup", {"argocd.argoproj.io/hook": "PreDelete"})} if hooked else {}
    world = World(tmp_path, with_finalizer(app_yaml()), {**FILES, **hook}, controller=complete_jobs())

    async def scenario() -> None:
        await world.engine.sync("guestbook", SyncRequest())
        world.repo.commit(dict.fromkeys({**FILES, **hook}))
        if hooked:
            with pytest.raises(SyncError, match=r"PreDelete/PostDelete hooks cannot be rendered: .*app"):
                await world.engine.delete("guestbook")
            assert world.live("ConfigMap", "middle") is not None, "nothing was deleted"
            assert "guestbook" in world.engine.apps.apps
            return
        await world.engine.delete("guestbook")
        assert [world.live("ConfigMap", n) for n in ("early", "middle")] == [None, None]
        assert world.live("Deployment", "late") is None
        assert "guestbook" not in world.engine.apps.apps

    run(scenario)


def test_without_an_earlier_comparison_an_unrenderable_application_keeps_its_resources(
    tmp_path: Path,
) -> None:
    world = World(tmp_path, with_finalizer(app_yaml()), FILES, controller=complete_jobs())

    async def scenario() -> None:
        await world.engine.sync("guestbook", SyncRequest())
        world.repo.commit(dict.fromkeys(FILES))
        again = world.make()  # a restarted process: nothing remembered
        with pytest.raises(SyncError, match="deletion stopped: "):
            await again.delete("guestbook")
        assert world.live("ConfigMap", "middle") is not None

    run(scenario)
