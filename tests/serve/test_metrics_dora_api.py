"""``GET /api/v1/metrics/dora`` on the real FastAPI app over a SQLite store: the figures of a recorded
deployment, failed sync and fix, narrowed by ``app``/``env``, bad queries answered 400, and the route
guarded by the API token like every other."""

from __future__ import annotations

import dataclasses

from fastapi.testclient import TestClient

from gitloop.api.app import create_app
from gitloop.gitops.history import history_owner
from gitloop.lineage import Lineage
from gitloop.ports import Store
from gitloop.service.server import Server


def _record(store: Store, now: float) -> None:
    lineage = Lineage(store)
    for app, revision, phase, finished in (
        ("web-dev", "c1", "Succeeded", now - 500),
        ("web-prod", "c1", "Succeeded", now - 400),
        ("web-prod", "c2", "Failed", now - 300),
        ("web-prod", "c3", "Succeeded", now - 100),
    ):
        operation = {
            "id": f"{app}-{revision}",
            "phase": phase,
            "startedAt": finished - 1,
            "finishedAt": finished,
        }
        lineage.record_sync(
            app, revision, f"change {revision}", repo="config", committed=None, operation=operation
        )
        store.append_history(history_owner(app), {"revision": revision, **operation})
        lineage.record_healthy(app, revision, healthy=finished + 10)


def test_dora_route(client: TestClient, store: Store, server: Server) -> None:
    _record(store, server.clock())
    answer = client.get("/api/v1/metrics/dora", params={"env": "prod", "since": "1h"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    (app,) = body["applications"]
    assert (app["name"], app["deployments"], app["changeFailureRate"]) == ("web-prod", 2, 0.5)
    assert app["timeToRestore"]["median"] == 210.0  # failed at -300, Healthy again at -90
    assert body["until"] - body["since"] == 3600.0
    every = client.get("/api/v1/metrics/dora").json()
    assert [a["name"] for a in every["applications"]] == ["web-dev", "web-prod"]
    assert [e["name"] for e in every["environments"]] == ["dev", "prod"]
    only = client.get("/api/v1/metrics/dora", params={"app": "web-dev", "failureWindow": "10m"}).json()
    assert [a["name"] for a in only["applications"]] == ["web-dev"] and only["failureWindowSeconds"] == 600.0
    bad = client.get("/api/v1/metrics/dora", params={"since": "last week"})
    assert bad.status_code == 400 and "since 'last week'" in bad.json()["message"]
    assert client.get("/api/v1/metrics/dora", params={"failureWindow": "-1h"}).status_code == 400


def test_dora_route_needs_a_token(server: Server) -> None:
    guarded = dataclasses.replace(server, api_token=b"t0ken", access_control=None)
    with TestClient(create_app(guarded)) as client:
        assert client.get("/api/v1/metrics/dora").status_code == 401
        allowed = client.get("/api/v1/metrics/dora", headers={"Authorization": "Bearer t0ken"})
        assert allowed.status_code == 200 and allowed.json()["applications"] == []
