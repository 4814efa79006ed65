"""Composing the server from its configuration: the store it picks, secrets read from files, the
clusters merged into one private kubeconfig, and Applications read from a directory of a git
repository on the real local git server."""

from __future__ import annotations

import asyncio
import json
import stat
import textwrap
from pathlib import Path

import httpx
import pytest
import yaml
from serve_fakes import TESTDATA, FakeLauncher, github_push, sign
from serve_process import admin_headers, serve_env

from gitloop.api.app import create_app
from gitloop.errors import UsageError
from gitloop.localinfra.gitseed import commit_files
from gitloop.localinfra.gitserver import GitServer
from gitloop.service.server import open_server
from gitloop.service.server.kubeconfigs import merged, write_merged
from gitloop.service.server.wiring import database_target, read_secret, repo_credentials
from gitloop.spec.serveconfig import ClusterConfig, RepositoryConfig, ServeConfig, load

KUBECONFIG = """\
apiVersion: v1
kind: Config
current-context: admin
contexts:
  - {name: admin, context: {cluster: local, user: admin, namespace: team}}
  - {name: viewer, context: {cluster: local, user: viewer}}
clusters:
  - {name: local, cluster: {server: "https://127.0.0.1:1", certificate-authority: pki/ca.crt}}
users:
  - {name: admin, user: {client-certificate: pki/admin.crt, client-key: /abs/admin.key}}
  - {name: viewer, user: {token: viewer-token}}
"""


def test_clusters_become_contexts_of_one_private_kubeconfig(tmp_path: Path) -> None:
    source = tmp_path / "kube" / "config"
    source.parent.mkdir()
    source.write_text(KUBECONFIG)
    clusters = (ClusterConfig("dev", source), ClusterConfig("prod", source, "viewer"))
    doc = merged(clusters)
    assert doc["current-context"] == "dev"
    assert [c["name"] for c in doc["contexts"]] == ["dev", "prod"]
    assert doc["contexts"][0]["context"] == {"cluster": "dev", "user": "dev", "namespace": "team"}
    assert doc["clusters"][0]["cluster"]["certificate-authority"] == str(source.parent / "pki" / "ca.crt")
    admin = doc["users"][0]["user"]
    assert admin == {
        "client-certificate": str(source.parent / "pki" / "admin.crt"),
        "client-key": "/abs/admin.key",
    }
    assert doc["users"][1]["user"] == {"token": "viewer-token"}
    file = write_merged(clusters, tmp_path / "private")
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert stat.S_IMODE(file.parent.stat().st_mode) == 0o700
    assert yaml.safe_load(file.read_text()) == doc


def test_a_missing_context_or_kubeconfig_is_named(tmp_path: Path) -> None:
    source = tmp_path / "config"
    source.write_text(KUBECONFIG)
    with pytest.raises(UsageError, match=r"cluster prod: .*no context named 'nope'"):
        merged((ClusterConfig("prod", source, "nope"),))
    with pytest.raises(UsageError, match="cannot read the kubeconfig"):
        merged((ClusterConfig("x", tmp_path / "missing"),))


def test_secrets_and_the_store_it_picks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "token").write_text("t0ken\n")
    (tmp_path / "empty").write_text("\n")
    assert read_secret(tmp_path / "token", "x") == b"t0ken"
    with pytest.raises(UsageError, match="is empty"):
        read_secret(tmp_path / "empty", "x")
    with pytest.raises(UsageError, match="cannot read"):
        read_secret(tmp_path / "nope", "x")
    [https] = repo_credentials([RepositoryConfig("https://h/org", "bot", tmp_path / "token")])
    assert https.credentials.password == "t0ken"  # type: ignore[union-attr]
    assert "t0ken" not in repr(https)
    monkeypatch.setenv("GITLOOP_STATE_DIR", str(tmp_path / "state"))
    assert database_target(ServeConfig("f")) == str(tmp_path / "state" / "gitloop.db")
    assert database_target(ServeConfig("f", database_url="sqlite:///a")) == "sqlite:///a"
    assert database_target(ServeConfig("f", database_url="sqlite:///a"), "sqlite:///b") == "sqlite:///b"
    (tmp_path / "url").write_text("postgresql://u:p@h/db\n")
    assert database_target(ServeConfig("f", database_url_file=tmp_path / "url")) == "postgresql://u:p@h/db"


@pytest.mark.integration
def test_applications_from_a_git_directory_and_the_push_webhook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = serve_env(tmp_path / "state")
    for key in ("GITLOOP_STATE_DIR",):
        monkeypatch.setenv(key, env[key])
    monkeypatch.setenv("GITLOOP_CACHE_DIR", str(tmp_path / "cache"))
    with GitServer(tmp_path / "repos", env={k: v for k, v in env.items() if k != "GITLOOP_STATE_DIR"}) as git:
        config_url = git.create_repo("app-config")
        application = textwrap.dedent(f"""\
            apiVersion: argoproj.io/v1alpha1
            kind: Application
            metadata: {{name: web, namespace: argocd}}
            spec:
              project: default
              source: {{repoURL: {config_url}, targetRevision: main, path: dev}}
              destination: {{name: dev, namespace: web}}
            """)
        commit_files(
            config_url, {"argocd/apps/web.yaml": application, "dev/cm.yaml": "kind: ConfigMap\n"}, "apps"
        )
        (tmp_path / "kubeconfig").write_text(KUBECONFIG)
        (tmp_path / "hook-secret").write_text("refresh\n")
        config_file = tmp_path / "serve.yaml"
        config_file.write_text(
            textwrap.dedent(f"""\
                listen: 127.0.0.1:0
                eventListeners:
                  - {{name: github, triggers: [{TESTDATA / "listeners.yaml"}], secrets: [{TESTDATA / "secrets.yaml"}]}}
                applications:
                  - {{repoURL: {config_url}, revision: main, path: argocd/apps}}
                clusters:
                  - {{name: dev, kubeconfig: kubeconfig}}
                webhook: {{secretFile: hook-secret}}
                """)
        )
        config = load(config_file)
        launcher = FakeLauncher()

        async def scenario() -> None:
            async with open_server(config, launcher_factory=lambda *_: launcher) as server:
                assert server.apps is not None and server.apps.names() == ["web"]
                transport = httpx.ASGITransport(app=create_app(server))
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://serve", headers=admin_headers(server.store)
                ) as client:
                    listed = (await client.get("/api/applications")).json()["items"]
                    assert [item["metadata"]["name"] for item in listed] == ["web"]
                    assert listed[0]["spec"]["source"]["repoURL"] == config_url
                    body = github_push(repo=config_url.removesuffix(".git"))
                    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(body, "refresh")}
                    answer = await client.post("/api/webhook", content=body, headers=headers)
                    assert answer.status_code == 200 and answer.json()["refreshed"] == ["web"]
                    assert (await client.get("/healthz")).json()["applications"] == 1
            assert launcher.drained

        asyncio.run(scenario())
    assert "viewer-token" not in json.dumps(config.__dict__, default=str)
