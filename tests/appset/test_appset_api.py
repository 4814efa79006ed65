"""``/api/v1/applicationsets`` in process, over ``AppSets`` and the CD engine (with the fakes of its own
ports): Argo CD's shapes, 400 naming the field, 409 without ``upsert``, the filters, deletion, the store
record registered again at start, and no URL password kept."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from appset_fakes import FakeTree
from fastapi.testclient import TestClient

from gitloop.api.app import create_app
from gitloop.appset.ports import StaticClusters
from gitloop.gitops.engine import Engine
from gitloop.gitops.observe import ClusterView
from gitloop.gitops.reconciler import Settings
from gitloop.gitops.source import ManifestSource
from gitloop.lineage import Lineage
from gitloop.service.server import Server
from gitloop.service.server.access import ServedAccess
from gitloop.service.server.appsets import SPEC_KIND, AppSets, parse_appset
from gitloop.service.server.engines import Push
from gitloop.spec.argocd import AppSet
from gitloop.spec.serve_auth import AuthConfig, RBACConfig
from gitloop.store.memory import MemoryStore

sys.path.insert(0, str(Path(__file__).parents[1] / "gitops"))  # the CD engine's own-port fakes
from cd_fakes import FakeCluster, FakeRenderer, FakeRepo

URL = "https://git.example/shop.git"


def _appset(name: str = "shop", envs: tuple[str, ...] = ("dev", "prod"), **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": name, "labels": {"team": "web"}},
        "spec": {
            "generators": [{"list": {"elements": [{"env": e} for e in envs]}}],
            "template": {
                "metadata": {"name": f"{name}-{{{{env}}}}"},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": URL, "targetRevision": "HEAD", "path": "{{env}}"},
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": "{{env}}"},
                },
            },
            "syncPolicy": {"preserveResourcesOnDeletion": True},
            **spec,
        },
    }


class World:
    def __init__(self, tmp: Path) -> None:
        repo = FakeRepo(URL)
        repo.commit({"dev/cm.yaml": "", "prod/cm.yaml": ""})
        view = ClusterView(FakeCluster())
        self.store = MemoryStore()
        self.engine = Engine(
            AppSet(),
            ManifestSource(lambda url: repo, FakeRenderer(), tmp / "checkouts"),
            lambda app: view,
            self.store,
            settings=Settings(poll_interval=3600),
        )
        self.appsets = AppSets(self.engine, FakeTree({}), StaticClusters(), self.store)
        # These tests are about the ApplicationSet routes, not access control: anyone may do anything.
        anyone = ServedAccess.build(
            self.store, AuthConfig(anonymous=True), RBACConfig(policy_default="role:admin")
        )
        self.server = Server(self.store, {}, Lineage(self.store), appsets=self.appsets, access_control=anyone)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.server)) as found:
        yield found


def _error(answer: Any, status: int) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["error"] == body["message"]
    return str(body["message"])


def test_create_list_get_upsert_and_delete(client: TestClient, world: World) -> None:
    created = client.post("/api/v1/applicationsets", json=_appset())
    assert created.status_code == 200, created.text
    shown = created.json()
    assert shown["metadata"] == {"name": "shop", "labels": {"team": "web"}, "namespace": "argocd"}
    assert shown["spec"] == _appset()["spec"]
    assert [r["name"] for r in shown["status"]["resources"]] == ["shop-dev", "shop-prod"]
    assert {
        (r["kind"], r["namespace"], r["status"], r["health"]["status"]) for r in shown["status"]["resources"]
    } == {("Application", "argocd", "Unknown", "Unknown")}, "not compared yet"
    assert world.engine.apps.owned("appset:shop") == ["shop-dev", "shop-prod"]
    assert world.store.get(SPEC_KIND, "shop") is not None

    assert "upsert" in _error(client.post("/api/v1/applicationsets", json=_appset(envs=("dev",))), 409)
    assert client.post("/api/v1/applicationsets", json=_appset()).status_code == 200, (
        "the same spec is no conflict"
    )
    fewer = client.post("/api/v1/applicationsets", params={"upsert": "true"}, json=_appset(envs=("dev",)))
    assert [r["name"] for r in fewer.json()["status"]["resources"]] == ["shop-dev"]
    assert world.engine.apps.owned("appset:shop") == ["shop-dev"]

    client.post("/api/v1/applicationsets", json=_appset("other", ("qa",)))
    names = [i["metadata"]["name"] for i in client.get("/api/v1/applicationsets").json()["items"]]
    assert names == ["other", "shop"]
    for params, expected in (
        ({"projects": "default"}, ["other", "shop"]),
        ({"projects": "elsewhere"}, []),
        ({"selector": "team=web"}, ["other", "shop"]),
        ({"selector": "team!=web"}, []),
    ):
        listed = client.get("/api/v1/applicationsets", params=params).json()
        assert listed["metadata"] == {} and [i["metadata"]["name"] for i in listed["items"]] == expected, (
            params
        )

    assert (
        client.get("/api/v1/applicationsets/shop").json()["status"]["conditions"][0]["type"]
        == "ErrorOccurred"
    )
    assert client.delete("/api/v1/applicationsets/shop").json() == {}
    assert world.engine.apps.owned("appset:shop") == [] and "shop-dev" not in world.engine.apps.apps
    assert world.store.get(SPEC_KIND, "shop") is None
    assert "shop" in _error(client.get("/api/v1/applicationsets/shop"), 404)
    assert "shop" in _error(client.delete("/api/v1/applicationsets/shop"), 404)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "must be a JSON object"),
        ("[]", "must be a JSON object"),
        ('{"kind": "Application"}', "kind must be ApplicationSet"),
        (None, "spec.generators[0].gitt: unknown field 'gitt'"),
        ("password", "holds a password"),
    ],
)
def test_bad_bodies_are_400_naming_the_reason(
    client: TestClient, world: World, body: str | None, reason: str
) -> None:
    if body is None:
        doc = _appset()
        doc["spec"]["generators"] = [{"gitt": {}}]
        answer = client.post("/api/v1/applicationsets", json=doc)
    elif body == "password":
        doc = _appset()
        doc["spec"]["template"]["spec"]["source"]["repoURL"] = "https://me:s3cret@git.example/shop.git"
        answer = client.post("/api/v1/applicationsets", json=doc)
    else:
        answer = client.post("/api/v1/applicationsets", content=body)
    assert reason in _error(answer, 400)
    assert world.store.query(SPEC_KIND) == []
    assert "s3cret" not in answer.text


def test_a_server_without_applicationsets_lists_none(world: World) -> None:
    world.server.appsets = None
    with TestClient(create_app(world.server)) as client:
        assert client.get("/api/v1/applicationsets").json() == {"metadata": {}, "items": []}
        _error(client.get("/api/v1/applicationsets/shop"), 404)
        _error(client.post("/api/v1/applicationsets", json=_appset()), 404)


def test_applicationsets_created_through_the_api_come_back_at_start(client: TestClient, world: World) -> None:
    assert client.post("/api/v1/applicationsets", json=_appset()).status_code == 200
    again = AppSets(world.engine, FakeTree({}), StaticClusters(), world.store)

    async def restart() -> list[str]:
        restored = await again.start()
        await again.stop()
        return restored

    assert asyncio.run(restart()) == ["shop"]
    assert again.shown("shop")["spec"] == _appset()["spec"]


def _manifest(name: str, **spec: Any) -> dict[str, Any]:
    doc = _appset(name, ("dev",))
    doc["spec"].update(spec)
    return doc


def test_an_app_of_apps_parent_registers_its_applicationsets_through_the_hook(world: World) -> None:
    hook = world.engine.appset_children
    assert world.appsets.hook not in hook, "start_appsets connects it; here the test calls it"

    async def scenario() -> None:
        await world.appsets.start()
        await world.appsets.hook("app:root", [_manifest("child")])
        assert world.appsets.names() == ["child"]
        for _ in range(100):
            if world.engine.apps.owned("appset:child"):
                break
            await asyncio.sleep(0.02)
        assert world.engine.apps.owned("appset:child") == ["child-dev"], "reconciled by the loop at once"
        await world.appsets.hook("app:other", [_manifest("child", goTemplate=False)])
        assert world.appsets.shown("child")["spec"] == _appset("child", ("dev",))["spec"], "not taken over"
        await world.appsets.hook("app:root", [_manifest("child", generators=[{"gitt": {}}])])
        assert world.appsets.names() == ["child"], "an invalid child changes nothing"
        await world.appsets.hook("app:root", [])
        assert world.appsets.names() == []
        assert world.engine.apps.owned("appset:child") == []
        await world.appsets.stop()

    asyncio.run(scenario())


def test_a_push_reconciles_the_applicationsets_whose_git_generator_it_names(world: World) -> None:
    git = {"git": {"repoURL": URL, "revision": "main", "directories": [{"path": "*"}]}}

    async def scenario() -> None:
        await world.appsets.replace_owned(
            "config", [parse_appset(_manifest("on-main", generators=[git]), "t")]
        )
        other = {"git": {**git["git"], "revision": "release"}}
        await world.appsets.replace_owned(
            "config",
            [
                parse_appset(_manifest("on-main", generators=[git]), "t"),
                parse_appset(_manifest("on-release", generators=[other]), "t"),
            ],
        )
        push = Push("github", (URL,), "", "refs/heads/main", "c0ffee", default_branch="main")
        assert world.appsets.on_push(push) == ["on-main"]
        elsewhere = Push("github", ("https://git.example/other.git",), "", "refs/heads/main", "c0ffee")
        assert world.appsets.on_push(elsewhere) == []

    asyncio.run(scenario())


def test_a_url_password_of_a_config_applicationset_is_never_shown(client: TestClient, world: World) -> None:
    doc = _appset()
    doc["spec"]["template"]["spec"]["source"]["repoURL"] = "https://me:s3cret@git.example/shop.git"
    asyncio.run(world.appsets.replace_owned("config", [parse_appset(doc, "config.yaml")]))
    shown = client.get("/api/v1/applicationsets/shop")
    assert shown.status_code == 200 and "s3cret" not in shown.text
    assert "s3cret" not in client.get("/api/v1/applicationsets").text
    assert "me:" in shown.json()["spec"]["template"]["spec"]["source"]["repoURL"]
