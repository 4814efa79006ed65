"""The Applications page in Debian's chromium against a real ``gitloop serve`` with real Applications
on the local cluster and the local git server: the login form leads to it; the tiles show each
Application's health, sync and running image tag; a filter changes the address and the tiles, and a
reload keeps both; a sync started elsewhere shows on the page without a reload; the list mode, the
counts bar, the keyboard (``/``, ``j``/``k``) and the server's pages work."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cd_support import CdWorld, configmap, deployment
from playwright.sync_api import Locator, Page, expect
from serve_support import serve_config
from ui_support import UiBrowser, screenshot, ui_page

from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitserver import GitServer

sys.path.insert(0, str(Path(__file__).parents[1] / "serve"))  # the serve tests' process helpers
from serve_process import GITLOOP, ServeProcess

pytestmark = pytest.mark.integration

PASSWORD = "ui-apps-pass-1"


@pytest.fixture
def world(local_cluster: LocalCluster, git_server: GitServer, tmp_path: Path) -> Iterator[CdWorld]:
    """Two Applications of one repository: ``<app>-web`` (a Deployment of ``web:1.4.2``, auto-synced,
    label team=web) and ``<app>-cfg`` (a ConfigMap, synced by hand, label team=data)."""
    files = {"web/deploy.yaml": deployment("web").replace("localhost/web:1", "localhost/web:1.4.2")}
    files["cfg/cm.yaml"] = configmap("settings")
    found = CdWorld.create(local_cluster, git_server, tmp_path, files, name="ui", path="web")
    template = found.apps_file.read_text()
    options = "  syncPolicy: {syncOptions: [CreateNamespace=true]%s}\n"
    web = (
        template.replace(found.app, f"{found.app}-web").replace(
            "namespace: argocd}", "namespace: argocd, labels: {team: web}}"
        )
        + options % ", automated: {prune: true}"
    )
    cfg = (
        template.replace(found.app, f"{found.app}-cfg")
        .replace("path: web", "path: cfg")
        .replace("namespace: argocd}", "namespace: argocd, labels: {team: data}}")
        + options % ""
    )
    found.apps_file.write_text(web + "---\n" + cfg)
    yield found
    asyncio.run(found.cleanup())


def _serve(world: CdWorld, tmp_path: Path) -> ServeProcess:
    config, env = serve_config(world, tmp_path, f"{{files: [{world.apps_file.parent}]}}")
    made = subprocess.run(
        [GITLOOP, "account", "create", "admin", "--config", str(config), "--password-file", "-"],
        input=f"{PASSWORD}\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    return ServeProcess(config, env)


def _tile(page: Page, name: str) -> Locator:
    return page.get_by_role("link", name=f"Application {name}")


def test_the_applications_page_lists_filters_and_follows_the_cluster(
    ui_browser: UiBrowser, world: CdWorld, tmp_path: Path
) -> None:
    web, cfg = f"{world.app}-web", f"{world.app}-cfg"
    with (
        _serve(world, tmp_path) as serve,
        ui_page(ui_browser, serve, "/ui/applications", logged_in=False) as page,
    ):
        expect(page).to_have_url(re.compile(r"/ui/login\?next="))
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(re.compile(r"/ui/applications$"))

        # Both tiles, each with its state; the web tile with the tag of the image it runs.
        web_tile, cfg_tile = _tile(page, web), _tile(page, cfg)
        expect(web_tile).to_be_visible()
        expect(cfg_tile).to_contain_text("OutOfSync")
        expect(web_tile.get_by_role("list", name="Images")).to_have_text("1.4.2", timeout=90_000)
        expect(web_tile).to_contain_text("Synced")
        expect(web_tile).to_have_attribute("href", f"/ui/applications/{web}")
        expect(page.get_by_role("group", name="Counts")).to_contain_text("2 Applications")
        screenshot(page, "applications")

        # A filter: in the address, on the tiles; a reload keeps both.
        page.get_by_label("Filter by labels").fill("team=data")
        page.get_by_label("Filter by labels").press("Enter")
        expect(page).to_have_url(re.compile(r"[?&]labels=team%3Ddata"))
        expect(web_tile).to_have_count(0)
        expect(cfg_tile).to_be_visible()
        expect(page.get_by_role("group", name="Counts")).to_contain_text("1 Application")
        page.go_back()  # back and forward walk the filters too
        expect(page).to_have_url(re.compile(r"/ui/applications$"))
        expect(web_tile).to_be_visible()
        expect(page.get_by_label("Filter by labels")).to_have_value("")
        page.go_forward()
        expect(web_tile).to_have_count(0)
        page.reload()
        expect(page.get_by_label("Filter by labels")).to_have_value("team=data")
        expect(cfg_tile).to_be_visible()
        expect(web_tile).to_have_count(0)

        # Live: a sync started through the API shows on the open page, which is not reloaded.
        page.evaluate("window.gitloopTestMarker = 'still here'")
        with serve.client() as client:
            started = client.post(f"/api/v1/applications/{cfg}/sync", json={})
            assert started.status_code == 200, started.text
        expect(cfg_tile).to_contain_text("Synced", timeout=60_000)
        expect(cfg_tile).not_to_contain_text("OutOfSync")
        assert page.evaluate("window.gitloopTestMarker") == "still here"

        # The list mode, then the keyboard: "/" focuses the search, j moves to the first Application.
        page.get_by_role("button", name="Clear filters").click()
        page.get_by_role("button", name="List").click()
        expect(page).to_have_url(re.compile(r"[?&]view=list"))
        expect(page.get_by_role("row").filter(has_text=web)).to_contain_text("1.4.2")
        page.locator("body").click()
        page.keyboard.press("/")
        expect(page.get_by_label("Search Applications by name")).to_be_focused()
        page.keyboard.type("-we")
        expect(page).to_have_url(re.compile(r"[?&]search=-we"))
        expect(_tile(page, cfg)).to_have_count(0)
        page.keyboard.press("Escape")
        page.keyboard.press("j")
        expect(_tile(page, web)).to_be_focused()

        # Pages of one, from the server: the second holds the other Application; back to the first.
        page.goto("/ui/applications?limit=1")
        expect(_tile(page, cfg)).to_be_visible()
        expect(_tile(page, web)).to_have_count(0)
        page.get_by_role("button", name="Next page").click()
        expect(_tile(page, web)).to_be_visible()
        expect(_tile(page, cfg)).to_have_count(0)
        expect(page.get_by_role("navigation", name="Pages")).to_contain_text("Page 2")
        expect(page.get_by_role("button", name="Next page")).to_be_disabled()
        page.get_by_role("button", name="Previous page").click()
        expect(_tile(page, cfg)).to_be_visible()
