"""Who may do what, on a real ``gitloop serve`` over the real local cluster and git server (issue 11
acceptance): anonymous requests get 401; accounts made with ``gitloop account`` on the store (before and
while the server runs) log in; ``role:readonly`` reads and is refused a sync; a project role's token syncs
its project's Applications only; the admin does everything; the sixth bad password in a row is throttled;
expired and revoked tokens are refused; ``gitloop login`` keeps a session the other verbs use; and
``gitloop audit -o json`` shows each action with its user, and never a token."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cd_support import CdWorld, configmap

from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitserver import GitServer

sys.path.insert(0, str(Path(__file__).parents[1] / "serve"))  # the serve tests' process helpers
from serve_process import GITLOOP, ServeProcess, free_port, serve_env

pytestmark = pytest.mark.integration

POLICY = "g, reader, role:readonly\n"
PROJECTS = """\
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {{name: {name}}}
spec:
  sourceRepos: ['*']
  destinations: [{{server: '*', namespace: '*'}}]
  roles:
    - name: deployer
      description: the team's CI
      policies:
        - p, proj:{name}:deployer, applications, get, {name}/*, allow
        - p, proj:{name}:deployer, applications, sync, {name}/*, allow
"""


@pytest.fixture
def world(local_cluster: LocalCluster, git_server: GitServer, tmp_path: Path) -> Iterator[CdWorld]:
    files = {"a/cm.yaml": configmap("access-a"), "b/cm.yaml": configmap("access-b")}
    found = CdWorld.create(local_cluster, git_server, tmp_path, files, name="acc", path="a")
    one = found.apps_file.read_text()
    two = one.replace(found.app, f"{found.app}-b").replace("path: a", "path: b")
    found.apps_file.write_text(
        one.replace("project: default", "project: team-a")
        + "  syncPolicy: {syncOptions: [CreateNamespace=true]}\n---\n"
        + two.replace("project: default", "project: team-b")
        + "  syncPolicy: {syncOptions: [CreateNamespace=true]}\n"
    )
    projects = [PROJECTS.format(name=n) for n in ("team-a", "team-b")]
    (found.apps_file.parent / "projects.yaml").write_text("---\n".join(projects))
    yield found
    asyncio.run(found.cleanup())


def _gitloop(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GITLOOP, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120, check=False
    )


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, (done.args, done.stdout, done.stderr)
    return done.stdout


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _login(client: httpx.Client, name: str, password: str) -> httpx.Response:
    return client.post("/api/v1/session", json={"username": name, "password": password})


def _audit(env: dict[str, str], config: Path) -> list[dict[str, Any]]:
    out = _ok(_gitloop(env, "audit", "--config", str(config), "-o", "json"))
    entries: list[dict[str, Any]] = json.loads(out)
    return entries


def test_accounts_roles_project_tokens_throttling_and_the_audit(world: CdWorld, tmp_path: Path) -> None:
    config = tmp_path / "serve.yaml"
    config.write_text(
        textwrap.dedent(f"""\
            listen: 127.0.0.1:{free_port()}
            pollInterval: 10m
            applications:
              - files: [{world.apps_file.parent}]
            clusters:
              - {{name: local, kubeconfig: {world.cluster.kubeconfig}}}
            rbac:
              policyCSV: |
                {POLICY}
            """)
    )
    env = serve_env(tmp_path / "state")
    env["GITLOOP_CACHE_DIR"] = str(tmp_path / "cache")
    env["GITLOOP_CONFIG_DIR"] = str(tmp_path / "client")
    where = ("--config", str(config))
    # Provisioned on the store before the server ever ran, from a script.
    _ok(_gitloop(env, "account", "create", "reader", *where, "--password-file", "-", stdin="reader-pass-1\n"))
    a_app, b_app = world.app, f"{world.app}-b"
    with (
        ServeProcess(config, env, provision=False) as serve,
        httpx.Client(base_url=serve.url, timeout=60) as http,
    ):
        # Anonymous: 401 on the API, the open routes stay open.
        assert http.get("/api/v1/applications").status_code == 401
        assert http.get("/api/pipelineruns").status_code == 401
        assert http.get("/metrics").status_code == 401
        assert http.get("/healthz").status_code == 200
        assert http.get("/api/v1/session/userinfo").json() == {"loggedIn": False}
        assert "admin" in serve.output() and "without a password" in serve.output()

        # The bootstrap admin gets a password while the server runs; logs in.
        _ok(
            _gitloop(
                env, "account", "passwd", "admin", *where, "--password-file", "-", stdin="admin-pass-1\n"
            )
        )
        admin = _login(http, "admin", "admin-pass-1")
        assert admin.status_code == 200, admin.text
        assert admin.cookies.get("gitloop.token") and "httponly" in admin.headers["set-cookie"].lower()
        boss = _bearer(admin.json()["token"])
        assert http.get("/api/v1/session/userinfo", headers=boss).json()["username"] == "admin"

        # role:readonly: reads, is refused a sync (403 naming the rule).
        reader = _bearer(_login(http, "reader", "reader-pass-1").json()["token"])
        deadline = time.monotonic() + 60
        while len(http.get("/api/v1/applications", headers=reader).json().get("items") or []) < 2:
            assert time.monotonic() < deadline, serve.output()
            time.sleep(0.2)
        assert http.get(f"/api/v1/applications/{a_app}", headers=reader).status_code == 200
        refused = http.post(f"/api/v1/applications/{a_app}/sync", headers=reader, json={})
        assert refused.status_code == 403, refused.text
        assert refused.json()["message"] == f"permission denied: applications, sync, team-a/{a_app}"

        # A project role's token: sees and syncs its project's Applications only.
        made = http.post(
            "/api/v1/projects/team-a/roles/deployer/token", headers=boss, json={"expiresIn": 3600}
        )
        assert made.status_code == 200, made.text
        deployer = _bearer(made.json()["token"])
        names = [
            i["metadata"]["name"] for i in http.get("/api/v1/applications", headers=deployer).json()["items"]
        ]
        assert names == [a_app]
        assert http.post(f"/api/v1/applications/{b_app}/sync", headers=deployer, json={}).status_code == 403
        synced = http.post(f"/api/v1/applications/{a_app}/sync", headers=deployer, json={})
        assert synced.status_code == 200, synced.text
        assert http.post("/api/v1/projects/team-a/roles/deployer/token", headers=reader).status_code == 403

        # The admin does everything.
        assert http.post(f"/api/v1/applications/{b_app}/sync", headers=boss, json={}).status_code == 200
        deadline = time.monotonic() + 90
        while True:
            history = http.get(f"/api/v1/applications/{a_app}", headers=boss).json()["status"].get("history")
            if history:
                break
            assert time.monotonic() < deadline, serve.output()
            time.sleep(0.2)
        assert history[-1]["initiatedBy"]["username"] == "proj:team-a:deployer"

        # Throttling: five bad passwords, then even the right one waits.
        for _ in range(5):
            assert _login(http, "reader", "wrong-password").status_code == 401
        throttled = _login(http, "reader", "reader-pass-1")
        assert throttled.status_code == 429, throttled.text
        assert int(throttled.headers["retry-after"]) > 0

        # Tokens: an expired one and a revoked one are refused.
        short = _ok(
            _gitloop(env, "account", "token", "create", "reader", *where, "--expires-in", "1s")
        ).strip()
        kept = _gitloop(env, "account", "token", "create", "reader", *where)
        token, token_id = kept.stdout.strip(), kept.stderr.split()[-1]
        assert http.get("/api/v1/applications", headers=_bearer(token)).status_code == 200
        time.sleep(1.5)
        assert http.get("/api/v1/applications", headers=_bearer(short)).status_code == 401
        listed = json.loads(_ok(_gitloop(env, "account", "token", "list", "reader", *where, "-o", "json")))
        assert token_id in [t["id"] for t in listed], (token_id, listed)
        _ok(_gitloop(env, "account", "token", "revoke", "reader", token_id, *where))
        assert http.get("/api/v1/applications", headers=_bearer(token)).status_code == 401

        # gitloop login keeps a session the other verbs send; logout ends it.
        password_file = tmp_path / "admin-password"
        password_file.write_text("admin-pass-1\n")
        password_file.chmod(0o600)
        login = _gitloop(
            env, "login", "--server", serve.url, "--username", "admin", "--password-file", str(password_file)
        )
        assert login.returncode == 0, login.stderr
        saved = tmp_path / "client" / "config.json"
        assert saved.stat().st_mode & 0o777 == 0o600
        listed_apps = _ok(_gitloop(env, "app", "list", "--server", serve.url))
        assert a_app in listed_apps and b_app in listed_apps
        _ok(_gitloop(env, "logout", "--server", serve.url))
        after = _gitloop(env, "app", "list", "--server", serve.url)
        assert after.returncode == 1 and "401" not in after.stdout and "gitloop login" in after.stderr

        # The audit: each action with its user; never a token.
        entries = _audit(env, config)
        seen = {(e["user"], e["action"], e["object"], e["outcome"]) for e in entries}
        assert ("admin", "applications.sync", f"team-b/{b_app}", "ok") in seen, seen
        assert ("proj:team-a:deployer", "applications.sync", f"team-a/{a_app}", "ok") in seen, seen
        assert ("proj:team-a:deployer", "applications.sync", f"team-b/{b_app}", "denied") in seen, seen
        assert ("reader", "applications.sync", f"team-a/{a_app}", "denied") in seen, seen
        assert ("admin", "projects.token.create", "team-a", "ok") in seen, seen
        assert {"user", "action", "object", "time"} <= set(entries[0])
        actions = {e["action"] for e in entries}
        assert {"login", "login.failed"} <= actions, actions
        text = json.dumps(entries)
        for secret in (
            token,
            short,
            made.json()["token"],
            admin.json()["token"],
            "admin-pass-1",
            "reader-pass-1",
        ):
            assert secret not in text
        assert serve.stop() == 0, serve.output()
    for secret in (token, made.json()["token"], "admin-pass-1"):
        assert secret not in serve.output()
