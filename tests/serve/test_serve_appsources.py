"""The serve config's ``applications:`` re-read on change: a file added, changed and removed under a
configured directory adds, modifies and deletes its Application in the running server; a broken file
deletes nothing and is shown in ``GET /api/status`` until it is fixed; a name the API holds is not
taken over; a broken file at start stops the start. The real CD engine behind ``open_server``; the
destination cluster is never reached (no Application here has the resources finalizer)."""

from __future__ import annotations

import asyncio
import json
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from serve_fakes import FakeLauncher, github_push
from serve_process import admin_headers

from gitloop.api.app import create_app
from gitloop.errors import SpecError
from gitloop.gitops.applications import SPEC_KIND
from gitloop.gitops.query import AppQuery
from gitloop.service.server import Server, open_server
from gitloop.service.server.appsources import ConfigApps, signature
from gitloop.service.server.engines import Subscription
from gitloop.service.server.pushhooks import push_of
from gitloop.spec.argocd import parse_apps_text
from gitloop.spec.serveconfig import AppSourceConfig, ServeConfig, load
from gitloop.store import open_store

KUBECONFIG = """\
apiVersion: v1
kind: Config
current-context: dev
contexts: [{name: dev, context: {cluster: nowhere, user: nobody}}]
clusters: [{name: nowhere, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: nobody, user: {token: unused}}]
"""


def application(name: str, namespace: str = "web") -> str:
    return textwrap.dedent(f"""\
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {{name: {name}, namespace: argocd}}
        spec:
          project: default
          source: {{repoURL: "http://git.example.invalid/config.git", targetRevision: main, path: k8s}}
          destination: {{name: dev, namespace: {namespace}}}
        """)


def serve_config(tmp_path: Path, *dirs: Path) -> ServeConfig:
    (tmp_path / "kubeconfig").write_text(KUBECONFIG)
    file = tmp_path / "serve.yaml"
    file.write_text(
        textwrap.dedent(f"""\
            listen: 127.0.0.1:0
            databaseURL: {tmp_path / "gitloop.db"}
            applicationsPollInterval: 100ms
            applications:
            """)
        + "".join(f"  - files: [{d}]\n" for d in dirs)
        + textwrap.dedent("""\
            clusters:
              - {name: dev, kubeconfig: kubeconfig}
            """)
    )
    return load(file)


async def _event(
    subscription: Subscription, kind: str, name: str, check: Callable[[dict[str, Any]], bool] = lambda a: True
) -> dict[str, Any]:
    """The next ``kind`` event of ``name`` that passes ``check`` (the stream also says status changes)."""
    deadline = time.monotonic() + 10
    while (left := deadline - time.monotonic()) > 0:
        found = await subscription.next(timeout=left)
        assert found is not None, "the stream was closed"
        result = found.get("result", {})
        app: dict[str, Any] = result.get("application", {})
        if result.get("type") == kind and app.get("metadata", {}).get("name") == name and check(app):
            return app
    raise AssertionError(f"no {kind} event of {name} within 10s")


async def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


def _names(server: Server) -> list[str]:
    assert server.apps is not None
    return server.apps.names()


def test_files_added_changed_broken_fixed_and_removed(tmp_path: Path) -> None:
    apps, more = tmp_path / "apps", tmp_path / "more"
    apps.mkdir()  # empty: no Application yet, and the server starts
    more.mkdir()
    config = serve_config(tmp_path, apps, more)

    async def scenario() -> None:
        async with open_server(config, launcher_factory=lambda *_: FakeLauncher()) as server:
            assert server.apps is not None and _names(server) == []
            stream = server.apps.subscribe(AppQuery())
            transport = httpx.ASGITransport(app=create_app(server))
            async with httpx.AsyncClient(
                transport=transport, base_url="http://serve", headers=admin_headers(server.store)
            ) as client:
                (apps / "team").mkdir()
                (apps / "team" / "web.yaml").write_text(application("web"))
                await _event(stream, "ADDED", "web")
                entries = (await client.get("/api/status")).json()["applicationSources"]
                assert [e["source"] for e in entries] == [str(apps), str(more)]
                assert all("error" not in e and e["lastRead"] for e in entries), entries

                (apps / "team" / "web.yaml").write_text(application("web", namespace="web-2"))
                shown = await _event(
                    stream, "MODIFIED", "web", lambda a: a["spec"]["destination"]["namespace"] == "web-2"
                )
                assert shown["spec"]["destination"]["name"] == "dev"

                # A broken file in one source and a removal in the other: nothing changes.
                (more / "api.yaml").write_text(application("api") + "  unknownField: 1\n")
                (apps / "team" / "web.yaml").unlink()
                await _until(
                    lambda: "error" in server.status()["applicationSources"][1], "the error in /api/status"
                )
                first, broken = (await client.get("/api/status")).json()["applicationSources"]
                assert "api.yaml:" in broken["error"] and "unknownField" in broken["error"], broken
                assert "error" not in first
                await asyncio.sleep(0.5)  # several checks later: still nothing deleted
                assert _names(server) == ["web"]

                (more / "api.yaml").write_text(application("api"))
                await _event(stream, "DELETED", "web")
                await _until(lambda: _names(server) == ["api"], "api registered")
                assert all("error" not in e for e in server.status()["applicationSources"])

                # One name in two sources: an error naming both files, nothing changes.
                (apps / "api.yaml").write_text(application("api", namespace="elsewhere"))
                await _until(
                    lambda: any("error" in e for e in server.status()["applicationSources"]), "twice"
                )
                first, second = server.status()["applicationSources"]
                assert "error" not in first  # the error is the later file's: the second source's
                assert "'api' is defined twice" in second["error"], second
                assert str(more / "api.yaml") in second["error"] and str(apps / "api.yaml") in second["error"]
                shown = await server.apps.application("api")
                assert shown["spec"]["destination"]["namespace"] == "web"

    asyncio.run(scenario())


def test_a_name_the_api_holds_is_not_taken_over(tmp_path: Path) -> None:
    apps = tmp_path / "apps"
    apps.mkdir()
    config = serve_config(tmp_path, apps)
    mine = parse_apps_text(application("shared", namespace="from-api")).apps["shared"]

    async def scenario() -> None:
        async with open_server(config, launcher_factory=lambda *_: FakeLauncher()) as server:
            assert server.apps is not None
            await server.apps.create(mine, upsert=False)
            (apps / "shared.yaml").write_text(application("shared", namespace="from-config"))
            await _until(lambda: "error" in server.status()["applicationSources"][0], "the refusal shown")
            assert "shared: registered through the API" in server.status()["applicationSources"][0]["error"]
            shown = await server.apps.application("shared")
            assert shown["spec"]["destination"]["namespace"] == "from-api"

    asyncio.run(scenario())


def test_a_broken_file_at_start_stops_the_start(tmp_path: Path) -> None:
    apps = tmp_path / "apps"
    apps.mkdir()
    (apps / "web.yaml").write_text(application("web") + "  unknownField: 1\n")
    config = serve_config(tmp_path, apps)

    async def scenario() -> None:
        async with open_server(config, launcher_factory=lambda *_: FakeLauncher()):
            raise AssertionError("the server started")

    with pytest.raises(SpecError, match=r"web\.yaml:.*unknownField"):
        asyncio.run(scenario())


SOURCES = (
    AppSourceConfig(repo_url="http://git.example.com/team/app-config.git", revision="main", path="apps"),
    AppSourceConfig(repo_url="git@git.example.com:team/platform.git", revision="HEAD"),
)


@pytest.mark.parametrize(
    ("repo", "ref", "moves"),
    [
        ("http://git.example.com/team/app-config", "refs/heads/main", True),
        ("http://GIT.example.com/team/app-config", "refs/heads/main", True),
        ("http://git.example.com/team/app-config", "refs/heads/feature", False),
        ("http://git.example.com/team/app-config", "refs/tags/main", True),
        ("http://git.example.com/team/platform", "refs/heads/main", True),  # HEAD: the default branch
        ("http://git.example.com/team/platform", "refs/heads/other", False),
        ("http://git.example.com/team/other", "refs/heads/main", False),
    ],
)
def test_which_pushes_move_a_git_source(tmp_path: Path, repo: str, ref: str, moves: bool) -> None:
    reader = ConfigApps(SOURCES, credentials=(), workdir=tmp_path / "w", mirrors=tmp_path / "m")
    push = push_of("github", json.loads(github_push(ref=ref, repo=repo)))
    assert push is not None
    assert reader.pushed(push) is moves


def test_the_signature_changes_with_every_file_added_written_or_removed(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.yaml").write_text("x: 1\n")
    (tmp_path / "a" / "notes.txt").write_text("not read\n")
    first = signature([tmp_path / "a"])
    assert [Path(path).name for path, _, _ in first] == ["one.yaml"]
    (tmp_path / "a" / "notes.txt").write_text("still not read\n")
    assert signature([tmp_path / "a"]) == first
    (tmp_path / "a" / "deep").mkdir()
    (tmp_path / "a" / "deep" / "two.yml").write_text("x: 2\n")
    second = signature([tmp_path / "a"])
    assert len(second) == 2
    (tmp_path / "a" / "deep" / "two.yml").write_text("x: 22\n")
    assert signature([tmp_path / "a"]) != second
    assert signature([tmp_path / "gone.yaml"]) == ((str(tmp_path / "gone.yaml"), -1, -1),)


APPSET = """\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: envs, namespace: argocd}
spec:
  syncPolicy: {preserveResourcesOnDeletion: true}  # the cluster here is never reached
  generators:
    - list:
        elements: [{env: dev}, {env: qa}]
  template:
    metadata: {name: "web-{{env}}"}
    spec:
      project: default
      source: {repoURL: "http://git.example.invalid/config.git", targetRevision: main, path: "envs/{{env}}"}
      destination: {name: dev, namespace: "web-{{env}}"}
"""


def test_an_applicationset_in_a_config_file_generates_and_goes_with_its_file(tmp_path: Path) -> None:
    apps = tmp_path / "apps"
    apps.mkdir()
    (apps / "envs.yaml").write_text(APPSET)
    config = serve_config(tmp_path, apps)

    async def scenario() -> None:
        async with open_server(config, launcher_factory=lambda *_: FakeLauncher()) as server:
            engine = server.apps
            assert engine is not None
            await _until(lambda: _names(server) == ["web-dev", "web-qa"], "the generated Applications")
            assert server.appsets is not None

            (apps / "envs.yaml").write_text(APPSET.replace("{env: qa}", "{env: qa}, {env: prod}"))
            await _until(lambda: _names(server) == ["web-dev", "web-prod", "web-qa"], "a third element")

            (apps / "envs.yaml").unlink()
            await _until(lambda: _names(server) == [], "the ApplicationSet goes with its file, and its apps")

    asyncio.run(scenario())


def test_an_application_removed_while_the_server_was_down_is_deleted_at_the_next_start(
    tmp_path: Path,
) -> None:
    apps = tmp_path / "apps"
    apps.mkdir()
    (apps / "web.yaml").write_text(application("web"))
    (apps / "shop.yaml").write_text(application("shop"))
    config = serve_config(tmp_path, apps)

    async def serve_once() -> list[str]:
        async with open_server(config, launcher_factory=lambda *_: FakeLauncher()) as server:
            return _names(server)

    def kept() -> dict[str, str]:
        store = open_store(str(tmp_path / "gitloop.db"))
        try:
            return {r.name: r.labels.get("owner", "") for r in store.query(SPEC_KIND)}
        finally:
            store.close()

    assert asyncio.run(serve_once()) == ["shop", "web"]
    assert kept() == {"shop": "config", "web": "config"}, "the store remembers whose they are"
    (apps / "web.yaml").unlink()
    assert asyncio.run(serve_once()) == ["shop"]
    assert kept() == {"shop": "config"}, "web was deleted at the start, not merely left out"
    (apps / "web.yaml").write_text(application("web"))
    assert asyncio.run(serve_once()) == ["shop", "web"]
