"""The Application detail view in Debian's chromium against a real ``gitloop serve`` with a real
Application on the local cluster (auto-sync off): opened from the list, synced through the sync dialog
(live to Synced), its tree shows the PreSync hook and the Deployment → ReplicaSet → Pod chain the
cluster made, a Secret's values stay masked, a pushed config change shows in the Deployment's diff (the
page learns of it from the stream, no reload), a prune sync needs the name typed, the history holds both
syncs, a role:readonly account is offered no action, a rollback to the first entry brings the first
image back into the cluster, a Pod's missing logs are said plainly and its live manifest is shown (the
resource route), and a non-cascading delete (name typed) leaves the resources. Screenshots for
docs/ui.md."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cd_support import CdWorld, configmap, deployment, job, service
from playwright.sync_api import Page, expect
from serve_support import serve_config
from ui_support import UiBrowser, off_loop, screenshot, ui_page

from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitserver import GitServer

sys.path.insert(0, str(Path(__file__).parents[1] / "serve"))  # the serve tests' process helpers
from serve_process import GITLOOP, ServeProcess

pytestmark = pytest.mark.integration

POLICY = "syncPolicy:\n  syncOptions: [CreateNamespace=true]\n"
SECRET_VALUE = "c2VjcmV0LXZhbHVlLTQy"  # base64 of "secret-value-42"
SECRET = (
    "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\ntype: Opaque\n"
    f"data: {{password: {SECRET_VALUE}}}\n"
)

PROJECT = """\
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: default, namespace: argocd}
spec:
  sourceRepos: ["*"]
  destinations: [{server: "*", namespace: "*"}]
  clusterResourceWhitelist: [{group: "*", kind: "*"}]
  syncWindows:
    - {kind: allow, schedule: "* * * * *", duration: 1h, applications: ["uid-*"]}
"""
"""The default project with a sync window that is always open: the header shows it in force."""


def _web(tag: str, replicas: int) -> str:
    return deployment("web", replicas=replicas).replace("localhost/web:1", f"localhost/web:{tag}")


@pytest.fixture
def world(local_cluster: LocalCluster, git_server: GitServer, tmp_path: Path) -> Iterator[CdWorld]:
    files = {
        "k8s/deploy.yaml": _web("v1", 1),
        "k8s/service.yaml": service("web"),
        "k8s/settings.yaml": configmap("settings"),
        "k8s/secret.yaml": SECRET,
        "k8s/migrate.yaml": job("migrate", {"argocd.argoproj.io/hook": "PreSync"}),
    }
    found = CdWorld.create(local_cluster, git_server, tmp_path, files, policy=POLICY, name="uid")
    (found.apps_file.parent / "project.yaml").write_text(PROJECT)
    yield found
    asyncio.run(found.cleanup())


def _until(read: Callable[[], Any], what: str, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := read()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return found


def _image(world: CdWorld) -> str:
    live = off_loop(world.live("apps/v1", "Deployment", "web"))
    return "" if live is None else str(live["spec"]["template"]["spec"]["containers"][0]["image"])


def _node(page: Page, kind: str, name: str) -> Any:
    """The tree's button of one resource (its accessible name: kind, name, then its states)."""
    return page.get_by_role("region", name="Resource tree").get_by_role(
        "button", name=re.compile(rf"^{kind} {re.escape(name)}\b")
    )


def _reader(serve: ServeProcess, env: dict[str, str]) -> SimpleNamespace:
    """The server as the account ``reader`` (``role:readonly``) sees it: what ``ui_page`` needs."""
    where = ("--config", str(serve.config))
    for args, stdin in (
        (["create", "reader", "--password-file", "-"], "reader-pass-1\n"),
        (["token", "create", "reader"], None),
    ):
        done = subprocess.run(
            [GITLOOP, "account", *args, *where],
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    return SimpleNamespace(url=serve.url, token=done.stdout.strip())


def _sync(page: Page, app: str, *, prune: bool = False) -> None:
    page.get_by_role("toolbar", name="Application actions").get_by_role("button", name="Sync").click()
    dialog = page.get_by_role("dialog", name=f"Sync {app}")
    expect(dialog.get_by_role("checkbox", name="All resources")).to_be_checked()
    if prune:
        dialog.get_by_role("checkbox", name="Prune", exact=True).check()
        expect(dialog.get_by_role("button", name="Synchronize")).to_be_disabled()
        dialog.get_by_label(f"Type {app} to confirm prune").fill(app)
    screenshot(page, "detail-sync")
    dialog.get_by_role("button", name="Synchronize").click()
    expect(dialog).to_be_hidden()


@pytest.mark.timeout(600)  # two syncs and a rollback on the real cluster, in a loaded browser
def test_detail_syncs_shows_the_tree_and_diff_and_rolls_back(
    ui_browser: UiBrowser, world: CdWorld, tmp_path: Path
) -> None:
    app = world.app
    config, env = serve_config(world, tmp_path, f"{{files: [{world.apps_file.parent}]}}")
    config.write_text(config.read_text() + "rbac:\n  policyCSV: |\n    g, reader, role:readonly\n")
    with ServeProcess(config, env) as serve, serve.client() as client:

        def status() -> dict[str, Any]:
            found: dict[str, Any] = client.get(f"/api/v1/applications/{app}").json()["status"]
            return found

        first = _until(lambda: status()["sync"].get("revision"), "the first comparison")
        with ui_page(ui_browser, serve) as page:
            page.get_by_role("link", name=f"Application {app}").click()
            expect(page).to_have_url(re.compile(rf"/ui/applications/{app}$"))
            expect(page.get_by_role("heading", name=f"Application {app}")).to_be_visible()
            expect(_node(page, "Application", app)).to_contain_text("OutOfSync")
            status_box = page.get_by_role("region", name="Application status")
            expect(status_box).to_contain_text("manual sync allowed active: allow * * * * * for 1h")

            # Sync through the dialog: the page follows the operation to Synced and Healthy by itself.
            _sync(page, app)
            expect(_node(page, "Application", app)).to_have_accessible_name(
                f"Application {app}: Healthy, Synced", timeout=90_000
            )
            expect(_node(page, "Deployment", "web")).to_contain_text("Synced")
            expect(_node(page, "Job", "migrate")).to_have_accessible_name(
                re.compile(r"PreSync hook Succeeded$")
            )

            # The tree: Deployment → ReplicaSet → Pod, each a column further right, linked.
            replicaset = _node(page, "ReplicaSet", "web-")
            pod = _node(page, "Pod", "web-")
            expect(pod).to_be_visible(timeout=60_000)
            boxes = [n.bounding_box() for n in (_node(page, "Deployment", "web"), replicaset, pod)]
            xs = [box["x"] for box in boxes if box is not None]
            assert xs[0] < xs[1] < xs[2], xs
            assert page.locator(".dt-links path").count() >= 6
            screenshot(page, "detail-tree")

            # A Secret's value never reaches the page; the list mode lists the same resources.
            _node(page, "Secret", "creds").click()
            expect(page).to_have_url(
                re.compile(
                    rf"resource=%2FSecret%2F{world.namespace}%2Fcreds$|resource=/Secret/{world.namespace}/creds$"
                )
            )
            panel = page.get_by_role("region", name="Resource Secret creds")
            panel.get_by_role("tab", name="Live manifest").click()
            expect(panel.get_by_role("tabpanel", name="Live manifest")).to_contain_text("password: ")
            assert SECRET_VALUE not in panel.get_by_role("tabpanel", name="Live manifest").inner_text()
            assert SECRET_VALUE not in page.content()
            panel.get_by_role("button", name="Close resource panel").click()
            drawn = page.get_by_role("region", name="Resource tree").get_by_role("button").count()
            page.get_by_role("tab", name="List").click()
            rows = page.get_by_role("table", name="Resources").get_by_role("row")
            expect(rows).to_have_count(1 + drawn)
            expect(rows.filter(has_text="ReplicaSet")).to_contain_text("Healthy")

            # A config change pushed with auto-sync off: a hard refresh (git fetched) by someone else
            # reaches the open page through the stream, and the Deployment's diff shows the change.
            world.commit({"k8s/deploy.yaml": _web("v2", 2)}, "web v2")
            client.get(f"/api/v1/applications/{app}", params={"refresh": "hard"}).raise_for_status()
            page.get_by_role("tab", name="Tree").click()
            expect(_node(page, "Deployment", "web")).to_contain_text("OutOfSync", timeout=60_000)
            _node(page, "Deployment", "web").click()
            panel = page.get_by_role("region", name="Resource Deployment web")
            panel.get_by_role("tab", name="Diff").click()
            diff = panel.get_by_role("table", name="Diff")
            expect(diff.get_by_role("row").filter(has_text="replicas: 1")).to_contain_text("-")
            expect(diff.get_by_role("row").filter(has_text="replicas: 2")).to_contain_text("+")
            expect(diff).to_contain_text("image: localhost/web:v2")
            screenshot(page, "detail-diff")
            panel.get_by_role("button", name="Side by side").click()
            row = diff.get_by_role("row").filter(has_text="image: localhost/web:v1")
            expect(row).to_contain_text("image: localhost/web:v2")
            panel.get_by_role("tab", name="Desired manifest").click()
            expect(panel.get_by_role("tabpanel", name="Desired manifest")).to_contain_text("replicas: 2")
            panel.get_by_role("tab", name="Events").click()
            expect(
                panel.get_by_role("table", name="Events").or_(panel.get_by_text("No events"))
            ).to_be_visible()

            # The second sync, with prune (the name typed to confirm), reaches v2 live.
            _sync(page, app, prune=True)
            expect(_node(page, "Deployment", "web")).to_have_accessible_name(
                re.compile(r"Healthy, Synced$"), timeout=90_000
            )
            _until(lambda: _image(world) == "localhost/web:v2", "v2 in the cluster")
            second = status()["sync"]["revision"]
            assert second != first

            page.get_by_role("tab", name="History").click()
            history = page.get_by_role("table", name="History")
            expect(history.get_by_role("row")).to_have_count(1 + 2)
            expect(history.get_by_role("row").nth(1)).to_contain_text(second[:12])
            expect(history.get_by_role("row").nth(2)).to_contain_text(first[:12])
            expect(history.get_by_role("row").nth(2)).to_contain_text("admin")
            expect(history.get_by_role("link", name=f"Change {first[:12]}")).to_have_attribute(
                "href", f"/ui/changes/{first}"
            )
            screenshot(page, "detail-history")

            # A role:readonly account sees the same page, offered neither sync, rollback nor delete.
            with ui_page(ui_browser, _reader(serve, env), f"/ui/applications/{app}?tab=history") as read:  # type: ignore[arg-type]
                rows = read.get_by_role("table", name="History").get_by_role("row")
                expect(rows).to_have_count(1 + 2)
                toolbar = read.get_by_role("toolbar", name="Application actions")
                expect(toolbar.get_by_role("button", name="Refresh", exact=True)).to_be_visible()
                expect(toolbar.get_by_role("button", name=re.compile("^(Sync|Delete)$"))).to_have_count(0)
                expect(read.get_by_role("button", name=re.compile("^Rollback"))).to_have_count(0)

            # Roll back to the first entry: the cluster runs v1 again and the history records it.
            oldest = min(entry["id"] for entry in status()["history"])
            history.get_by_role("button", name=f"Rollback to {oldest}").click()
            page.get_by_role("dialog", name=f"Roll back {app}").get_by_role(
                "button", name="Roll back"
            ).click()
            expect(history.get_by_role("row")).to_have_count(1 + 3, timeout=90_000)
            expect(history.get_by_role("row").nth(1)).to_contain_text(first[:12])
            _until(lambda: _image(world) == "localhost/web:v1", "v1 back in the cluster")
            assert status()["history"][-1]["revision"] == first

            # A Pod's logs: the API has no pod log route (hollow nodes run no containers), said plainly.
            page.get_by_role("tab", name="Tree").click()
            _node(page, "Pod", "web-").first.click()
            panel = page.get_by_role("region", name=re.compile(r"^Resource Pod web-"))
            panel.get_by_role("tab", name="Logs").click()
            expect(panel.get_by_role("alert")).to_contain_text("Pod logs are not available")
            expect(panel.get_by_role("tab", name="Diff")).to_have_count(0)
            # Its live manifest, read through the resource route though git does not hold it (the
            # rollback above replaces the Pods: the one clicked may be gone by the time it is read,
            # which the route says as plainly).
            panel.get_by_role("tab", name="Live manifest").click()
            expect(panel.get_by_role("tabpanel", name="Live manifest")).to_contain_text(
                re.compile(
                    r"kind: Pod|Pod 'web-[a-z0-9-]+' in namespace \S+ of Application '\S+' is gone from its cluster"
                )
            )

            # Delete without cascade, the name typed: the page leaves, the Deployment stays.
            page.get_by_role("toolbar", name="Application actions").get_by_role(
                "button", name="Delete"
            ).click()
            page.get_by_role("radio", name=re.compile("^Non-cascading")).check()
            page.get_by_role("dialog", name=f"Delete {app}").get_by_role("button", name="Next").click()
            confirm = page.get_by_role("dialog", name=f"Delete {app}")
            expect(confirm.get_by_role("button", name="Confirm")).to_be_disabled()
            confirm.get_by_label(f"Type {app} to confirm").fill(app)
            confirm.get_by_role("button", name="Confirm").click()
            expect(page).to_have_url(re.compile(r"/ui/applications$"))
            _until(lambda: client.get(f"/api/v1/applications/{app}").status_code == 404, "the deletion")
            assert _image(world) == "localhost/web:v1"
