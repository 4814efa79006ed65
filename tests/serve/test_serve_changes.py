"""The UI's change and environment routes: a source commit's chain split into the build and one timeline
per environment (promotions and approvers included), the commit search, the environments grouped into
chains and application families, and what each caller may see of them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from serve_fakes import FakeApps, FakeLauncher, listeners, open_access

from gitloop.api.app import create_app
from gitloop.api.timelines import change_timelines, environment_groups, matches
from gitloop.handoff import CommitContext, render_message
from gitloop.lineage import Lineage, SourcePush
from gitloop.ports import Store
from gitloop.promote import PromotionRecords, machine
from gitloop.promote.approvals import Approval
from gitloop.service.server import Server
from gitloop.service.server.access import ServedAccess
from gitloop.spec.gitloop_promotion import parse_chains_text
from gitloop.spec.serve_auth import AuthConfig, RBACConfig

SOURCE = "a" * 40
OTHER = "b" * 40
DEV_COMMIT, PROD_COMMIT, API_COMMIT = "c" * 40, "d" * 40, "e" * 40
CHAIN = """\
apiVersion: gitloop.dev/v1alpha1
kind: PromotionChain
metadata: {name: web}
spec:
  stages:
    - {name: dev, application: web-dev, image: {path: dev/web.yaml, name: registry.local/web}}
    - name: prod
      application: web-prod
      image: {path: prod/web.yaml, name: registry.local/web}
      approval: {requiredApprovals: 2}
"""
POLICY = """\
p, role:viewer, lineage, get, aaaa*, allow
p, role:viewer, lineage, get, eeee*, allow
p, role:viewer, applications, get, default/api-*, allow
g, viewer, role:viewer
"""


def _message(source: str, image: str) -> str:
    context = CommitContext(
        image=image,
        image_name="web",
        file="dev/web.yaml",
        branch="main",
        source_commit=source,
        pipelinerun="build-1",
    )
    return render_message(None, context)


def _deliver(lineage: Lineage, source: str, app: str, config: str, *, at: float, image: str) -> None:
    message = _message(source, image)
    lineage.record_config_commit(config, message, repo="http://git/cfg.git", committed=at, via="webhook")
    operation = {"id": f"op-{app}", "phase": "Succeeded", "finishedAt": at + 2}
    lineage.record_sync(app, config, message, repo="http://git/cfg.git", committed=at, operation=operation)
    lineage.record_healthy(app, config, healthy=at + 5)


@pytest.fixture
def world(store: Store, launcher: FakeLauncher) -> Server:
    apps = FakeApps(
        {
            name: [("http://git/cfg.git", "main")]
            for name in ("web-dev", "web-prod", "api-dev", "api-prod", "alone")
        }
    )
    lineage = Lineage(store)
    lineage.record_push(
        SourcePush(SOURCE, "http://git/web.git", "refs/heads/main", committed_at=90.0),
        runs=["build-1"],
        listener="web",
        event_id="e1",
        received=100.0,
    )
    lineage.record_run_started("build-1", time_started=101.0)
    ok = {"status": {"conditions": [{"type": "Succeeded", "status": "True", "reason": "Succeeded"}]}}
    lineage.record_run_finished("build-1", ok, finished=120.0)
    _deliver(lineage, SOURCE, "web-dev", DEV_COMMIT, at=125.0, image="registry.local/web:aaaaaaa")
    _deliver(lineage, SOURCE, "web-prod", PROD_COMMIT, at=200.0, image="registry.local/web:aaaaaaa")
    lineage.record_push(
        SourcePush(OTHER, "http://git/api.git", "refs/heads/fix"),
        runs=[],
        listener="api",
        event_id="e2",
        received=300.0,
    )
    _deliver(lineage, OTHER, "api-dev", API_COMMIT, at=310.0, image="registry.local/api:b")
    chains = parse_chains_text(CHAIN)
    promotion = machine.start(
        chains["web"],
        "prod",
        promotion_id="web-prod-aaaaaaa-1",
        source_commit=SOURCE,
        images=("registry.local/web:aaaaaaa",),
        author="Alice <alice@example.com>",
        now=150.0,
    )
    approved = dataclasses.replace(
        promotion, approvals=(Approval("carol", 160.0), Approval("dave", 170.0)), state=machine.PROMOTING
    )
    PromotionRecords(store).save(machine.landed(approved, PROD_COMMIT, 180.0))
    return Server(
        store,
        listeners(launcher),
        lineage,
        apps,
        access_control=open_access(store),
        app_sources=SimpleNamespace(chains=chains),  # type: ignore[arg-type]
        promotions=SimpleNamespace(records=PromotionRecords(store)),  # type: ignore[arg-type]
    )


@pytest.fixture
def api(world: Server) -> Iterator[TestClient]:
    with TestClient(create_app(world), raise_server_exceptions=False) as client:
        yield client


def test_a_change_is_its_build_and_one_timeline_per_environment(api: TestClient) -> None:
    answer = api.get(f"/api/v1/changes/{SOURCE[:8]}")
    assert answer.status_code == 200, answer.text
    change = answer.json()
    assert (change["sourceCommit"], change["leadTime"], change["leadTimeFrom"]) == (SOURCE, 40.0, "commit")
    assert [h["hop"] for h in change["build"]] == [
        "commit",
        "push",
        "pipelinerun",
        "pipelinerun-started",
        "pipelinerun-finished",
    ]
    assert change["pipelineRuns"] == [{"name": "build-1", "state": "Succeeded"}]
    dev, prod = change["environments"]
    assert (dev["application"], dev["chain"], dev["stage"]) == ("web-dev", "web", "dev")
    assert [e["hop"] for e in dev["events"]] == ["config-commit", "sync", "healthy"]
    assert (dev["configCommits"], dev["syncedAt"], dev["healthyAt"], dev["leadTime"]) == (
        [DEV_COMMIT],
        127.0,
        130.0,
        40.0,
    )
    assert (prod["stage"], prod["configCommits"], prod["leadTime"]) == ("prod", [PROD_COMMIT], 115.0)
    assert [e["hop"] for e in prod["events"]] == [
        "promotion-created",
        "promotion-approved",
        "promotion-approved",
        "promotion-succeeded",
        "config-commit",
        "sync",
        "healthy",
    ]
    assert [e.get("user") for e in prod["events"] if e["hop"] == "promotion-approved"] == ["carol", "dave"]
    assert [a["user"] for a in prod["promotions"][0]["approvals"]] == ["carol", "dave"]


def test_the_stages_of_its_chain_not_reached_yet_are_listed_empty(store: Store) -> None:
    lineage = Lineage(store)
    _deliver(lineage, OTHER, "web-dev", DEV_COMMIT, at=10.0, image="registry.local/web:b")
    _deliver(lineage, OTHER, "alone", PROD_COMMIT, at=20.0, image="registry.local/web:b")
    shown = change_timelines(lineage.trace(OTHER), [], parse_chains_text(CHAIN).values())
    assert [(e["application"], e["stage"], len(e["events"])) for e in shown["environments"]] == [
        ("web-dev", "dev", 3),
        ("web-prod", "prod", 0),
        ("alone", "", 3),
    ]
    assert shown["environments"][1]["healthyAt"] is None and shown["environments"][1]["leadTime"] is None


def test_a_config_commit_an_application_synced_answers_its_change(api: TestClient) -> None:
    for config in (PROD_COMMIT, DEV_COMMIT[:7]):
        answer = api.get(f"/api/v1/changes/{config}")
        assert answer.status_code == 200, answer.text
        assert answer.json()["sourceCommit"] == SOURCE
    assert api.get(f"/api/v1/changes/{DEV_COMMIT[:6]}").status_code == 404  # too short for a config commit


def test_unknown_and_malformed_changes(api: TestClient) -> None:
    assert api.get("/api/v1/changes/" + "f" * 40).status_code == 404
    assert api.get("/api/v1/changes/xyz!").status_code == 400


def test_the_commit_search(api: TestClient) -> None:
    def found(q: str) -> list[str]:
        answer = api.get("/api/v1/changes", params={"q": q} if q else {})
        assert answer.status_code == 200, answer.text
        return [c["sourceCommit"] for c in answer.json()["items"]]

    assert found("") == [OTHER, SOURCE]  # the newest first
    assert found(SOURCE[:6]) == found("web:aaaa") == found("ALICE") == found("web-prod") == [SOURCE]
    assert found("refs/heads/fix") == found("api.git") == [OTHER]
    assert found("nothing-like-this") == []
    summary = api.get("/api/v1/changes", params={"limit": 1}).json()["items"]
    assert len(summary) == 1 and summary[0]["ref"] == "refs/heads/fix"
    web = api.get("/api/v1/changes", params={"q": "build-1"}).json()["items"][0]
    assert web["images"] == ["registry.local/web:aaaaaaa"] and web["author"] == "Alice <alice@example.com>"
    assert [e["application"] for e in web["environments"]] == ["web-dev", "web-prod"]
    assert web["pipelineRuns"] == [{"name": "build-1", "state": "Succeeded"}] and web["leadTime"] == 40.0
    assert api.get("/api/v1/changes", params={"limit": 0}).status_code == 400


def test_environments_are_chains_then_families(api: TestClient) -> None:
    answer = api.get("/api/v1/environments")
    assert answer.status_code == 200, answer.text
    groups = {g["name"]: g for g in answer.json()["items"]}
    assert list(groups) == ["web", "api"] and groups["api"]["kind"] == "family"
    dev, prod = groups["web"]["stages"]
    assert (dev["name"], dev["gate"], dev["sync"], dev["health"]) == (
        "dev",
        {"type": "none"},
        "Synced",
        "Healthy",
    )
    assert (dev["sourceCommit"], dev["deployedRevision"]) == (SOURCE, DEV_COMMIT)  # its last sync's
    assert [s["sourceCommit"] for s in groups["api"]["stages"]] == [OTHER, ""]
    assert prod["gate"] == {"type": "approval", "requiredApprovals": 2, "roles": [], "excludeAuthor": True}
    assert [s["application"] for s in groups["api"]["stages"]] == ["api-dev", "api-prod"]
    assert api.get("/api/v1/environments/api").json()["stages"][1]["name"] == "prod"
    assert api.get("/api/v1/environments/alone").status_code == 404


def test_families_are_grouped_by_name_stem_in_environment_order() -> None:
    names = ["shop-prod", "shop-dev", "shop-staging", "solo", "one-only", "web-dev", "web-prod"]
    chains = parse_chains_text(CHAIN).values()
    groups = environment_groups(names, chains)
    assert [(g["name"], g["kind"]) for g in groups] == [("web", "chain"), ("shop", "family")]
    assert [s["name"] for s in groups[1]["stages"]] == ["dev", "staging", "prod"]
    assert matches({"sourceCommit": SOURCE, "images": ["x:Y"]}, " x:y ") and not matches(
        {"sourceCommit": SOURCE}, "b"
    )


@pytest.fixture
def viewer(world: Server, store: Store) -> Iterator[tuple[TestClient, str]]:
    access = ServedAccess.build(store, AuthConfig(), RBACConfig(policy_csv=POLICY))
    access.accounts.create("viewer", "viewer-password")
    token = access.tokens.issue("viewer", kind="api", expires_in=None)[1]
    served = dataclasses.replace(world, access_control=access)
    with TestClient(create_app(served), raise_server_exceptions=False) as client:
        yield client, token


def test_a_caller_sees_only_what_the_policy_lets_them_get(viewer: tuple[TestClient, str]) -> None:
    client, token = viewer
    auth = {"Authorization": f"Bearer {token}"}
    listed = client.get("/api/v1/changes", headers=auth).json()["items"]
    assert [c["sourceCommit"] for c in listed] == [SOURCE]
    assert listed[0]["author"] == ""  # its promotions are not theirs to get
    assert client.get(f"/api/v1/changes/{OTHER}", headers=auth).status_code == 403
    assert client.get(f"/api/v1/changes/{DEV_COMMIT}", headers=auth).status_code == 403  # not aaaa*
    refused = client.get(f"/api/v1/changes/{API_COMMIT}", headers=auth)  # eeee*, but its change is bbbb
    assert refused.status_code == 403 and OTHER in refused.json()["message"]
    assert client.get(f"/api/v1/changes/{SOURCE}", headers=auth).json()["environments"][1]["promotions"] == []
    groups = client.get("/api/v1/environments", headers=auth).json()["items"]
    assert [g["name"] for g in groups] == ["api"]
    assert client.get("/api/v1/environments/web", headers=auth).status_code == 404
    assert client.get("/api/v1/changes").status_code == 401
