"""Every route × every kind of caller, generated from the application's route table: anonymous gets 401,
a wrong token 401, a user without a role 403 (lists: only what they may see), ``role:readonly`` may read
and gets 403 on anything else, ``role:admin`` may do everything. A route added without an access rule
fails here (and ``create_app`` refuses it)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from gitloop.api.access import (
    FILTERED,
    OPEN,
    READ_ACTIONS,
    Authenticated,
    Require,
    api_routes,
    check_routes,
    rule_of,
)
from gitloop.api.app import create_app
from gitloop.ports import Store
from gitloop.service.server import Server
from gitloop.service.server.access import ServedAccess
from gitloop.spec.serve_auth import AuthConfig, RBACConfig

POLICY = "g, reader, role:readonly\ng, boss, role:admin\n"

PATH_VALUES = {
    "name": "dev",
    "listener": "github",
    "name_or_server": "https://kubernetes.default.svc",
    "sha": "0" * 40,
    "project": "default",
    "role": "ci",
    "token_id": "0123456789abcdef",
    "resource": "applications",
    "action": "get",
    "obj": "default/dev",
}
"""A value for each path parameter the routes use (a new parameter must be added here)."""

APPLICATION = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Application",
    "metadata": {"name": "fresh"},
    "spec": {
        "project": "default",
        "source": {"repoURL": "http://git.example.com/team/app-config.git", "path": "apps/fresh"},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "fresh"},
    },
}
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/applications"): APPLICATION,
    ("POST", "/api/v1/promotions"): {"target": "web", "to": "prod"},
    ("PUT", "/api/v1/applications/{name}"): {**APPLICATION, "metadata": {"name": "dev"}},
    ("POST", "/api/v1/applicationsets"): {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "set"},
        "spec": {
            "generators": [{"list": {"elements": [{"env": "a"}]}}],
            "template": {
                "metadata": {"name": "set-{{env}}"},
                "spec": APPLICATION["spec"],
            },
        },
    },
    ("POST", "/api/v1/clusters"): {
        "name": "other",
        "server": "https://127.0.0.1:1",
        "config": {"kubeconfig": "/nonexistent/kubeconfig", "context": "x"},
    },
    ("PUT", "/api/v1/applications/{name}/rollback"): {"id": 0},
    ("PUT", "/api/v1/account/password"): {"currentPassword": "wrong-password", "newPassword": "another-one"},
    ("POST", "/api/v1/session"): {"username": "nobody-here", "password": "whatever-it-is"},
}


@dataclasses.dataclass(frozen=True)
class Call:
    method: str
    route: APIRoute

    @property
    def path(self) -> str:
        return self.route.path_format.format(**{k: PATH_VALUES[k] for k in self.route.param_convertors})

    def __str__(self) -> str:
        return f"{self.method} {self.route.path}"


def _calls(app: FastAPI) -> list[Call]:
    return [
        Call(method, route)
        for route in api_routes(app.routes)
        for method in sorted(route.methods or ())
        if (method, route.path) not in OPEN
    ]


@pytest.fixture
def guarded(server: Server, store: Store) -> Iterator[tuple[TestClient, dict[str, str], Server]]:
    access = ServedAccess.build(store, AuthConfig(), RBACConfig(policy_csv=POLICY))
    tokens = {}
    for name in ("reader", "boss", "nobody"):
        access.accounts.create(name, f"{name}-password")
        tokens[name] = access.tokens.issue(name, kind="api", expires_in=None)[1]
    served = dataclasses.replace(server, access_control=access)
    with TestClient(create_app(served), raise_server_exceptions=False) as client:
        yield client, tokens, served


def _call(client: TestClient, call: Call, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = BODIES.get((call.method, call.route.path))
    params = {"format": "json"} if call.path.endswith("/logs") else {}
    return client.request(call.method, call.path, json=body, headers=headers, params=params).status_code


def _expected(call: Call, who: str) -> str:
    """``"401"``, ``"403"`` or ``"allowed"`` for ``who`` calling ``call``."""
    rule = rule_of(call.route)
    assert rule is not None, f"{call}: no access rule"
    if who in ("anonymous", "forged"):
        return "401"
    if who == "boss" or isinstance(rule, Authenticated):
        return "allowed"
    assert isinstance(rule, Require)
    if rule.obj == FILTERED:
        return "allowed"
    if who == "reader" and rule.action in READ_ACTIONS:
        return "allowed"
    return "403"


def test_every_route_has_a_rule(server: Server) -> None:
    app = create_app(server)
    calls = _calls(app)
    assert len(calls) > 40
    for call in calls:
        assert rule_of(call.route) is not None, call
    for method, path in OPEN:
        assert any(r.path == path and method in r.methods for r in api_routes(app.routes)), path


def test_a_route_without_a_rule_is_refused(server: Server) -> None:
    app = create_app(server)

    @app.get("/api/v1/forgotten")
    async def forgotten() -> dict[str, str]:
        return {}

    with pytest.raises(RuntimeError, match="GET /api/v1/forgotten"):
        check_routes(app)


@pytest.mark.parametrize("who", ["anonymous", "forged", "nobody", "reader", "boss"])
def test_each_route_answers_each_caller_as_the_policy_says(
    guarded: tuple[TestClient, dict[str, str], Server], who: str
) -> None:
    client, tokens, served = guarded
    token = {"anonymous": None, "forged": "gitloop_0123456789abcdef_forged"}.get(who, tokens.get(who))
    wrong = []
    calls = _calls(client.app)  # type: ignore[arg-type]
    for call in calls:
        streams = call.route.path.startswith("/api/v1/stream/")
        if streams:  # a stream ends when the server stops: answer, then end at once
            served.stopping.set()
        status = _call(client, call, token)
        served.stopping.clear()
        expected = _expected(call, who)
        got = str(status) if status in (401, 403) else "allowed"
        if got != expected or status >= 500:
            wrong.append(f"{call}: {status}, expected {expected}")
    assert not wrong, "\n".join(wrong)
