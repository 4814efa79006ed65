"""Sessions, cookies and CSRF, accounts managing themselves, ``can-i``, anonymous access acting with the
default role, and the policy file read again when it changes — against the real app in process."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gitloop.api.access import COOKIE, CSRF_COOKIE, CSRF_HEADER
from gitloop.api.app import create_app
from gitloop.ports import Store
from gitloop.service.server import Server
from gitloop.service.server.access import LivePolicy, ServedAccess
from gitloop.spec.argocd.rbac_policy import parse_policy
from gitloop.spec.serve_auth import AuthConfig, RBACConfig


def _served(server: Server, store: Store, auth: AuthConfig, rbac: RBACConfig) -> Server:
    access = ServedAccess.build(store, auth, rbac)
    access.accounts.create("alice", "alice-password")
    access.accounts.create("bob", "bob-password")
    return dataclasses.replace(server, access_control=access)


@pytest.fixture
def client(server: Server, store: Store) -> Iterator[TestClient]:
    served = _served(server, store, AuthConfig(), RBACConfig(policy_csv="g, alice, role:admin\n"))
    with TestClient(create_app(served), raise_server_exceptions=False) as test_client:
        yield test_client


def test_a_login_sets_a_session_cookie_and_state_changes_need_the_csrf_header(client: TestClient) -> None:
    answer = client.post("/api/v1/session", json={"username": "alice", "password": "alice-password"})
    assert answer.status_code == 200, answer.text
    cookies = answer.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith(f"{COOKIE}="))
    assert "HttpOnly" in session and "SameSite=strict" in session and "Max-Age=86400" in session
    csrf = next(c for c in cookies if c.startswith(f"{CSRF_COOKIE}="))
    assert "HttpOnly" not in csrf, "the page's script must read it to send it back"
    assert client.get("/api/v1/applications").status_code == 200, "the cookie authenticates reads"
    refused = client.post("/api/v1/applications/dev/sync", json={})
    assert refused.status_code == 403 and CSRF_HEADER in refused.json()["message"]
    wrong = client.post("/api/v1/applications/dev/sync", json={}, headers={CSRF_HEADER: "0" * 40})
    assert wrong.status_code == 403
    synced = client.post(
        "/api/v1/applications/dev/sync", json={}, headers={CSRF_HEADER: client.cookies[CSRF_COOKIE]}
    )
    assert synced.status_code == 200, synced.text
    assert client.get("/api/v1/session/userinfo").json() == {
        "loggedIn": True,
        "username": "alice",
        "iss": "gitloop",
    }
    assert (
        client.delete("/api/v1/session", headers={CSRF_HEADER: client.cookies[CSRF_COOKIE]}).status_code
        == 200
    )
    client.cookies.set(COOKIE, answer.json()["token"])  # the ended session's cookie, kept by a browser
    assert client.get("/api/v1/applications").status_code == 401


def test_a_bearer_token_needs_no_csrf_header(client: TestClient) -> None:
    token = client.post("/api/v1/session", json={"username": "alice", "password": "alice-password"}).json()[
        "token"
    ]
    client.cookies.clear()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/applications/dev/sync", json={}, headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("header", "reason"),
    [("Basic YWxpY2U6cA==", "must be: Bearer"), ("Bearer ", "must be: Bearer"), ("Bearer nope", "not valid")],
)
def test_malformed_or_unknown_credentials_are_401_never_anonymous(
    client: TestClient, header: str, reason: str
) -> None:
    answer = client.get("/api/v1/applications", headers={"Authorization": header})
    assert answer.status_code == 401 and reason in answer.json()["message"]
    assert answer.headers["www-authenticate"] == "Bearer"


def test_a_bad_login_says_the_same_whatever_was_wrong(client: TestClient) -> None:
    for body in (
        {"username": "alice", "password": "wrong-password"},
        {"username": "nobody", "password": "alice-password"},
    ):
        answer = client.post("/api/v1/session", json=body)
        assert answer.status_code == 401 and answer.json()["message"] == "Invalid username or password"


def test_an_account_manages_its_own_tokens_and_password_but_not_others(client: TestClient) -> None:
    bob = {
        "Authorization": "Bearer "
        + client.post("/api/v1/session", json={"username": "bob", "password": "bob-password"}).json()["token"]
    }
    client.cookies.clear()
    assert client.get("/api/v1/account/bob", headers=bob).json()["name"] == "bob"
    assert client.get("/api/v1/account/alice", headers=bob).status_code == 403
    assert [a["name"] for a in client.get("/api/v1/account", headers=bob).json()["items"]] == ["bob"]
    made = client.post(
        "/api/v1/account/bob/token", headers=bob, json={"expiresIn": 60, "scope": ["applications:get"]}
    )
    assert made.status_code == 200, made.text
    scoped = {"Authorization": f"Bearer {made.json()['token']}"}
    tokens = client.get("/api/v1/account/bob", headers=bob).json()["tokens"]
    assert len(tokens) == 1 and made.json()["token"] not in str(tokens)
    assert client.post("/api/v1/account/alice/token", headers=bob, json={}).status_code == 403
    assert client.get("/api/v1/account/can-i/applications/sync/default/dev", headers=bob).json() == {
        "value": "no"
    }
    changed = client.put(
        "/api/v1/account/password",
        headers=bob,
        json={"currentPassword": "bob-password", "newPassword": "bob-password-2"},
    )
    assert changed.status_code == 200, changed.text
    wrong = client.put(
        "/api/v1/account/password", headers=bob, json={"currentPassword": "nope-nope", "newPassword": "x" * 9}
    )
    assert wrong.status_code == 400
    assert (
        client.post("/api/v1/session", json={"username": "bob", "password": "bob-password-2"}).status_code
        == 200
    )
    assert client.delete(f"/api/v1/account/bob/token/{tokens[0]['id']}", headers=bob).status_code == 200
    assert client.get("/api/v1/applications", headers=scoped).status_code == 401


def test_a_token_scope_narrows_what_its_account_may_do(client: TestClient) -> None:
    alice = {
        "Authorization": "Bearer "
        + client.post("/api/v1/session", json={"username": "alice", "password": "alice-password"}).json()[
            "token"
        ]
    }
    client.cookies.clear()
    made = client.post("/api/v1/account/alice/token", headers=alice, json={"scope": ["applications:get"]})
    scoped = {"Authorization": f"Bearer {made.json()['token']}"}
    assert client.get("/api/v1/applications/dev", headers=scoped).status_code == 200
    assert client.post("/api/v1/applications/dev/sync", headers=scoped, json={}).status_code == 403
    assert client.post("/api/v1/applications/dev/sync", headers=alice, json={}).status_code == 200


def test_a_scoped_token_cannot_make_itself_a_wider_one(client: TestClient) -> None:
    login = {"username": "bob", "password": "bob-password"}
    bob = {"Authorization": "Bearer " + client.post("/api/v1/session", json=login).json()["token"]}
    client.cookies.clear()
    made = client.post("/api/v1/account/bob/token", headers=bob, json={"scope": ["applications:get"]})
    scoped = {"Authorization": f"Bearer {made.json()['token']}"}
    assert client.get("/api/v1/account/bob", headers=scoped).status_code == 403, (
        "accounts:get is not in scope"
    )
    for method, path, body in (
        ("POST", "/api/v1/account/bob/token", {}),
        ("DELETE", "/api/v1/account/bob/token/0123456789abcdef", None),
        ("PUT", "/api/v1/account/password", {"currentPassword": "bob-password", "newPassword": "x" * 12}),
    ):
        answer = client.request(method, path, headers=scoped, json=body)
        assert answer.status_code == 403 and "scope" in answer.json()["message"], (path, answer.text)


def test_anonymous_access_acts_with_the_default_role(server: Server, store: Store) -> None:
    served = _served(server, store, AuthConfig(anonymous=True), RBACConfig(policy_default="role:readonly"))
    with TestClient(create_app(served), raise_server_exceptions=False) as client:
        assert client.get("/api/v1/applications/dev").status_code == 200
        assert client.post("/api/v1/applications/dev/sync", json={}).status_code == 403
        assert client.get("/api/v1/session/userinfo").json() == {"loggedIn": False}


def test_the_policy_file_is_read_again_and_a_broken_one_keeps_the_last_good(tmp_path: Path) -> None:
    policy = tmp_path / "policy.csv"
    policy.write_text("g, alice, role:readonly\n")
    now = [0.0]
    rbac = RBACConfig(policy_file=policy, lines=parse_policy(policy.read_text(), source=str(policy)))
    live = LivePolicy(rbac, tuple, clock=lambda: now[0])
    assert not live.enforcer().allowed("alice", "applications", "sync", "default/dev")
    policy.write_text("g, alice, role:admin\n")
    os.utime(policy, (time.time() + 5, time.time() + 5))
    assert not live.enforcer().allowed("alice", "applications", "sync", "default/dev"), "looked at every 2 s"
    now[0] = 3.0
    assert live.enforcer().allowed("alice", "applications", "sync", "default/dev")
    policy.write_text("g, alice\n")  # a broken line: the last good policy stays
    os.utime(policy, (time.time() + 10, time.time() + 10))
    now[0] = 6.0
    assert live.enforcer().allowed("alice", "applications", "sync", "default/dev")
