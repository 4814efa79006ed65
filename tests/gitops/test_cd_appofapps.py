"""App of Apps on fakes of gitloop's ports: a root Application whose manifests are child Applications
registers them when it syncs (owned ``app:root``), each child reconciled on its own; children added
and removed in git follow the root's syncs (removed ones only with prune, their finalizers deciding
their resources); a cascading deletion of the root deletes them; an invalid child changes nothing."""

from __future__ import annotations

import asyncio
import json
import textwrap
from collections.abc import Callable
from pathlib import Path

from test_cd_reconciler import URL, World, app_yaml, configmap, run

from gitloop.gitops.engine import Engine
from gitloop.gitops.operation import SyncRequest
from gitloop.gitops.status import ConditionType
from gitloop.model.health import HealthStatus
from gitloop.model.resources import Manifest
from gitloop.model.sync import SyncStatus

FINALIZER = "resources-finalizer.argocd.argoproj.io"
ROOT = app_yaml("root", path="apps")


def child(name: str, *, finalizer: bool = True, automated: bool = True) -> str:
    finalizers = f", finalizers: [{FINALIZER}]" if finalizer else ""
    policy = "  syncPolicy: {automated: {prune: true}}\n" if automated else ""
    return (
        textwrap.dedent(f"""\
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {{name: {name}{finalizers}}}
        spec:
          project: default
          source: {{repoURL: {URL}, path: {name}, targetRevision: main}}
          destination: {{server: https://kubernetes.default.svc, namespace: shop}}
        """)
        + policy
    )


def files(*names: str) -> dict[str, str]:
    found = {f"apps/{n}.yaml": child(n) for n in names}
    found.update({f"{n}/cm.yaml": configmap(f"cm-{n}") for n in names})
    return found


async def until(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def sync(engine: Engine, name: str, *, prune: bool = False) -> None:
    operation = await engine.sync(name, SyncRequest(prune=prune))
    assert operation.phase.value == "Succeeded", operation.summary().message


def test_a_root_registers_its_children_which_reconcile_on_their_own_and_follow_git(tmp_path: Path) -> None:
    world = World(tmp_path, ROOT, files("one", "two", "three"))

    async def scenario() -> None:
        engine = world.engine
        stop = asyncio.Event()
        loop = asyncio.create_task(engine.run(stop))
        status = await engine.refresh("root")
        assert status.sync_status is SyncStatus.OUT_OF_SYNC
        assert {(r.key.kind, r.key.namespace, r.key.name) for r in status.resources} == {
            ("Application", "argocd", n) for n in ("one", "two", "three")
        }
        await sync(engine, "root")
        assert engine.apps.owned("app:root") == ["one", "three", "two"]
        for name in ("one", "two", "three"):
            await until(lambda n=name: world.live("ConfigMap", f"cm-{n}") is not None, f"cm-{name}")
        await until(
            lambda: all(
                engine.status(n).health.status is HealthStatus.HEALTHY for n in ("one", "two", "three")
            ),
            "healthy children",
        )
        await until(  # a child's status change refreshes its parent
            lambda: engine.status("root").health.status is HealthStatus.HEALTHY, "the root healthy"
        )
        status = engine.status("root")
        assert status.sync_status is SyncStatus.SYNCED
        assert {r.health.status for r in status.resources if r.health} == {HealthStatus.HEALTHY}
        tree = await engine.resource_tree("root")
        assert sorted(n["name"] for n in tree["nodes"] if n["kind"] == "Application") == [
            "one",
            "three",
            "two",
        ]
        [node] = [n for n in tree["nodes"] if n["name"] == "one"]
        assert (node["group"], node["namespace"], node["health"]) == (
            "argoproj.io",
            "argocd",
            {"status": "Healthy"},
        )
        shown = [json.loads(m) for m in (await engine.manifest_response("root"))["manifests"]]
        assert sorted(m["metadata"]["name"] for m in shown if m["kind"] == "Application") == [
            "one",
            "three",
            "two",
        ]

        world.repo.commit(files("four"))
        await sync(engine, "root")
        assert "four" in engine.apps.owned("app:root")
        await until(lambda: world.live("ConfigMap", "cm-four") is not None, "cm-four")

        world.repo.commit({"apps/two.yaml": None})
        await sync(engine, "root")
        assert "two" in engine.apps.apps, "kept without prune"
        status = await engine.refresh("root")
        assert status.sync_status is SyncStatus.OUT_OF_SYNC
        [two] = [r for r in status.resources if r.key.name == "two"]
        assert two.requires_pruning and two.status is SyncStatus.OUT_OF_SYNC

        await sync(engine, "root", prune=True)
        assert "two" not in engine.apps.apps
        assert world.live("ConfigMap", "cm-two") is None, "its finalizer deleted its resources"
        assert world.live("ConfigMap", "cm-one") is not None

        await engine.delete("root", cascade=True)
        assert engine.apps.owned("app:root") == []
        assert world.live("ConfigMap", "cm-one") is None
        stop.set()
        await loop

    run(scenario)


def test_an_invalid_child_changes_nothing_and_is_a_comparison_error(tmp_path: Path) -> None:
    world = World(tmp_path, ROOT, files("one"))

    async def scenario() -> None:
        engine = world.engine
        await sync(engine, "root")
        world.repo.commit({"apps/one.yaml": child("one").replace("project: default", "project: [x]")})
        world.repo.commit(
            {"apps/bad.yaml": child("bad").replace("  destination:", "  destinatio:"), **files("new")}
        )
        status = await engine.refresh("root", hard=True)
        [error] = [c.message for c in status.conditions if c.type is ConditionType.COMPARISON_ERROR]
        assert "Application/bad" in error and "destinatio" in error, error
        assert "Application/one" in error and "project" in error, error
        operation = await engine.sync("root", SyncRequest(prune=True))
        assert operation.phase.value != "Succeeded"
        assert engine.apps.owned("app:root") == ["one"], "nothing of the children changed"
        assert engine.app("one").project == "default"

    run(scenario)


def test_a_child_of_another_owner_is_refused_and_application_sets_reach_the_hook(tmp_path: Path) -> None:
    appset = textwrap.dedent("""\
        apiVersion: argoproj.io/v1alpha1
        kind: ApplicationSet
        metadata: {name: envs}
        spec: {generators: [], template: {}}
        """)
    given = {"apps/other.yaml": child("other"), "apps/set.yaml": appset, "apps/cm.yaml": configmap("root-cm")}
    world = World(tmp_path, ROOT + "---\n" + app_yaml("other", path="other"), given)
    heard: list[tuple[str, list[Manifest]]] = []

    async def hook(owner: str, manifests: list[Manifest]) -> None:
        heard.append((owner, manifests))

    async def scenario() -> None:
        engine = world.engine
        engine.appset_children.append(hook)
        await sync(engine, "root")
        assert engine.apps.owner("other") == "config", "not taken over"
        assert [(o, [m["metadata"]["name"] for m in ms]) for o, ms in heard] == [("app:root", ["envs"])]
        assert world.live("ConfigMap", "root-cm") is not None, "the parent's own resources are applied"
        status = await engine.refresh("root")
        warnings = [c.message for c in status.conditions if c.type is ConditionType.SHARED_RESOURCE_WARNING]
        assert warnings == ["Application other is registered by config and is not taken over"]
        kinds = {r.key.name: (r.key.kind, r.status) for r in status.resources}
        assert kinds["envs"] == ("ApplicationSet", SyncStatus.SYNCED)
        assert kinds["other"] == ("Application", SyncStatus.OUT_OF_SYNC)

        world.repo.commit({"apps/set.yaml": None, "apps/other.yaml": None})
        await sync(engine, "root")
        assert heard[-1] == ("app:root", [{**heard[0][1][0]}]), "without prune it is kept"
        await sync(engine, "root", prune=True)
        assert heard[-1] == ("app:root", []), "pruned"
        status = await engine.refresh("root")
        assert status.sync_status is SyncStatus.SYNCED and not status.conditions

    run(scenario)


def test_dry_run_and_selective_syncs_and_a_restart_keep_the_children_as_they_should(tmp_path: Path) -> None:
    world = World(tmp_path, ROOT, files("one", "two"))

    async def scenario() -> None:
        engine = world.engine
        operation = await engine.sync("root", SyncRequest(dry_run=True))
        assert operation.phase.value == "Succeeded", operation.summary().message
        assert engine.apps.owned("app:root") == [], "a dry run registers nothing"

        await sync_request(engine, SyncRequest.manual(resources=["argoproj.io:Application:argocd/two"]))
        assert engine.apps.owned("app:root") == ["two"], "a selective sync registers what it selects"
        await sync(engine, "root")
        world.repo.commit({"apps/two.yaml": None})
        await sync_request(engine, SyncRequest.manual(prune=True, resources=["argoproj.io:Application:one"]))
        assert engine.apps.owned("app:root") == ["one", "two"], "a selective sync prunes no child"

        again = world.make()
        assert again.restore() == ["one", "two"]
        assert again.apps.owned("app:root") == ["one", "two"], "restored with their owner"

    async def sync_request(engine: Engine, request: SyncRequest) -> None:
        operation = await engine.sync("root", request)
        assert operation.phase.value == "Succeeded", operation.summary().message

    run(scenario)
