"""``/api/v1`` over the fake CD engine: the routes reach the seam, errors are Argo CD's
``{"error", "code", "message"}``, the token guards them, the old ``/api`` paths keep their shapes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading

import httpx
from fastapi.testclient import TestClient
from serve_fakes import FakeApps

from gitloop.api.app import create_app
from gitloop.gitops.query import AppQuery, decode_continue
from gitloop.service.server import Server
from gitloop.service.server.engines import Subscription


def _error(response: httpx.Response, status: int, code: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"error", "code", "message"} and body["code"] == code
    assert body["error"] == body["message"]
    return str(body["message"])


def test_the_list_pages_and_refuses_bad_filters(client: TestClient) -> None:
    listed = client.get("/api/v1/applications", params={"limit": 2})
    assert listed.status_code == 200
    body = listed.json()
    assert body["kind"] == "ApplicationList" and [i["metadata"]["name"] for i in body["items"]] == [
        "dev",
        "head",
    ]
    assert decode_continue(body["metadata"]["continue"]) == "head"
    rest = client.get("/api/v1/applications", params={"limit": 2, "continue": body["metadata"]["continue"]})
    assert [i["metadata"]["name"] for i in rest.json()["items"]] == ["other", "prod"]
    assert "continue" not in rest.json()["metadata"]
    assert "selector" in _error(client.get("/api/v1/applications?selector=a%20in%20b"), 400, 3)
    assert "health" in _error(client.get("/api/v1/applications?health=Fine"), 400, 3)
    assert "limit" in _error(client.get("/api/v1/applications?limit=0"), 400, 3)


def test_one_application_and_its_views(client: TestClient, apps: FakeApps) -> None:
    assert client.get("/api/v1/applications/dev").json()["metadata"]["name"] == "dev"
    client.get("/api/v1/applications/dev", params={"refresh": "hard"})
    assert apps.refreshed[-1] == ["dev"]
    for view in ("resource-tree", "managed-resources", "manifests", "events"):
        assert client.get(f"/api/v1/applications/dev/{view}").status_code == 200, view
        assert "nope" in _error(client.get(f"/api/v1/applications/nope/{view}"), 404, 5)
    assert "nope" in _error(client.get("/api/v1/applications/nope"), 404, 5)


def test_sync_takes_argo_cds_sync_request(client: TestClient, apps: FakeApps) -> None:
    body = {
        "revision": "v2",
        "prune": True,
        "dryRun": True,
        "strategy": {"apply": {"force": True}},
        "resources": [{"group": "apps", "kind": "Deployment", "namespace": "shop", "name": "web"}],
    }
    answer = client.post("/api/v1/applications/dev/sync", json=body)
    assert answer.status_code == 200 and answer.json()["kind"] == "Application"
    name, request = apps.synced[-1]
    assert (name, request.revisions, request.prune, request.dry_run, request.force) == (
        "dev",
        ("v2",),
        True,
        True,
        True,
    )
    assert [str(r) for r in request.resources] == ["apps:Deployment:shop/web"]
    assert client.post("/api/v1/applications/dev/sync").status_code == 200  # no body: a plain sync
    apps.busy.add("dev")
    _error(client.post("/api/v1/applications/dev/sync", json={}), 409, 9)
    refused = _error(
        client.post("/api/v1/applications/prod/sync", json={"syncOptions": {"items": ["Replace=true"]}}),
        400,
        3,
    )
    assert "syncOptions.items" in refused
    _error(client.post("/api/v1/applications/prod/sync", content=b"[1]"), 400, 3)
    _error(client.post("/api/v1/applications/prod/sync", json={"resources": [{"kind": "Pod"}]}), 400, 3)


def test_rollback_and_terminate(client: TestClient, apps: FakeApps) -> None:
    assert client.put("/api/v1/applications/dev/rollback", json={"id": 3}).status_code == 200
    assert apps.rolled_back == [("dev", 3)]
    _error(client.put("/api/v1/applications/dev/rollback", json={}), 400, 3)
    apps.auto_sync = True
    assert "auto-sync" in _error(client.put("/api/v1/applications/dev/rollback", json={"id": 3}), 400, 3)
    assert "no operation" in _error(client.delete("/api/v1/applications/dev/operation"), 400, 3)
    apps.busy.add("dev")
    answer = client.delete("/api/v1/applications/dev/operation")
    assert answer.status_code == 200 and answer.json() == {}


def test_projects_and_clusters(client: TestClient) -> None:
    assert client.get("/api/v1/projects").json()["items"][0]["metadata"]["name"] == "default"
    assert client.get("/api/v1/projects/default").status_code == 200
    _error(client.get("/api/v1/projects/nope"), 404, 5)
    assert client.get("/api/v1/clusters").json() == {"metadata": {}, "items": []}


def test_the_stream_starts_with_the_current_state(server: Server, client: TestClient, apps: FakeApps) -> None:
    timer = threading.Timer(0.3, server.stopping.set)  # ends the stream: the server stops
    timer.start()
    try:
        answer = client.get("/api/v1/stream/applications", params={"name": "dev"})
    finally:
        timer.cancel()
    assert answer.headers["content-type"].startswith("text/event-stream")
    events = [
        json.loads(line.removeprefix("data: "))
        for line in answer.text.splitlines()
        if line.startswith("data: ")
    ]
    assert [(e["result"]["type"], e["result"]["application"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "dev")
    ]


def test_a_reader_that_falls_behind_is_dropped() -> None:
    asyncio.run(_falls_behind())


async def _falls_behind() -> None:
    subscription = Subscription(AppQuery(), size=2)
    assert subscription.offer({"n": 1}) and subscription.offer({"n": 2})
    assert not subscription.offer({"n": 3})
    assert subscription.dropped and await subscription.next() is None
    idle = Subscription(AppQuery())
    assert await idle.next(timeout=0.01) == {}
    idle.close()
    assert await idle.next() is None


def test_the_token_guards_v1_and_errors_keep_the_old_shape_on_old_paths(server: Server) -> None:
    guarded = dataclasses.replace(server, api_token=b"secret", access_control=None)  # the config's defaults
    with TestClient(create_app(guarded), raise_server_exceptions=False) as client:
        _error(client.get("/api/v1/applications"), 401, 16)
        assert client.get("/api/applications").json() == {
            "message": "authentication is required: log in (POST /api/v1/session) or send "
            "Authorization: Bearer <token>"
        }
        auth = {"Authorization": "Bearer secret"}
        assert client.get("/api/v1/applications", headers=auth).status_code == 200
        assert client.get("/api/applications/nope", headers=auth).json() == {
            "message": "no Application named 'nope'"
        }
