"""The Changes and Environments views in Debian's chromium, after a real push through the loop: the world
of ``test_promotion_loop`` (one monorepo, a PromotionChain dev → staging (automatic) → prod (two
approvals of ``role:release``) on the real local cluster and git server) plus an EventListener whose
PipelineRun hands the pushed commit's image to dev with ``gitloop-image-update``. A push webhook for
alice's commit starts it; the commit search finds the change by a word of its message (shown with its
author); its page shows the PipelineRun, the config commit and Healthy per environment and the lead
time; the Environments view shows prod waiting; bob (who may not approve) is offered no button; alice
(the author) is refused with the server's reason; carol's and dave's approvals in their own browsers
promote it, and the page left open shows each step live."""

from __future__ import annotations

import datetime as dt
import re
import textwrap
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import test_promotion_loop as promotion_loop
from playwright.sync_api import Browser, Locator, Page, expect
from serve_process import ServeProcess, serve_env
from ui_support import screenshot, ui_page

from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitserver import GitServer

pytestmark = pytest.mark.integration

IMAGE, POLICY, Repo, _gitloop = (
    promotion_loop.IMAGE,
    promotion_loop.POLICY,
    promotion_loop.Repo,
    promotion_loop._gitloop,
)
LOOP = 300_000
"""Milliseconds a hop of the real loop may take on a loaded machine (pipeline, sync, Healthy)."""

LISTENER = """\
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata: {name: web}
spec:
  triggers:
    - name: push
      bindings:
        - {name: revision, value: $(body.after)}
      template:
        spec:
          params: [{name: revision}]
          resourcetemplates:
            - apiVersion: tekton.dev/v1
              kind: PipelineRun
              metadata: {generateName: web-build-}
              spec:
                pipelineRef: {name: web-build}
                params: [{name: revision, value: $(tt.params.revision)}]
"""

PIPELINE = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: web-build}
spec:
  params: [{name: revision}]
  tasks:
    - name: hand-off
      taskRef: {name: gitloop-image-update}
      params:
        - {name: url, value: REPO_URL}
        - {name: file, value: dev/web.yaml}
        - {name: image, value: "IMAGE=IMAGE:$(params.revision)"}
        - {name: source-commit, value: $(params.revision)}
"""


@pytest.fixture
def world(
    local_cluster: LocalCluster, git_server: GitServer, tmp_path: Path
) -> Iterator[tuple[Repo, Path, str]]:
    """``test_promotion_loop``'s world; its cleanup (``asyncio.run``) runs in a thread of its own, as
    Playwright's sync API keeps an event loop running in this one."""
    made = promotion_loop.world.__wrapped__(local_cluster, git_server, tmp_path)
    yield next(made)
    with ThreadPoolExecutor(1) as cleaner:
        cleaner.submit(next, made, None).result(timeout=300)


def _serve_config(tmp_path: Path, repo: Repo, apps: Path, cluster: LocalCluster) -> Path:
    ci = tmp_path / "ci"
    ci.mkdir()
    (ci / "listener.yaml").write_text(LISTENER)
    (ci / "pipeline.yaml").write_text(PIPELINE.replace("REPO_URL", repo.url).replace("IMAGE", IMAGE))
    config = tmp_path / "serve.yaml"
    config.write_text(
        textwrap.dedent(f"""\
            listen: 127.0.0.1:0
            pollInterval: 2s
            eventListeners:
              - {{name: web, triggers: [{ci / "listener.yaml"}], pipelines: [{ci / "pipeline.yaml"}]}}
            applications:
              - files: [{apps}]
            clusters:
              - {{name: local, kubeconfig: {cluster.kubeconfig}}}
            rbac:
              policyDefault: role:readonly
              policyCSV: |
            """)
        + textwrap.indent(POLICY, "    ")
    )
    return config


@contextmanager
def _as_user(browser: Browser, serve: ServeProcess, user: str, path: str) -> Iterator[Page]:
    """``path`` in a fresh browser, logged in as ``user`` through the login page."""
    with ui_page(browser, serve, path, logged_in=False) as page:
        page.get_by_label("Username").fill(user)
        page.get_by_label("Password").fill(f"{user}-pass-1")
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(re.compile(re.escape(path) + "$"))
        yield page


def _stage(page: Page, name: str) -> Locator:
    return page.get_by_role("region", name="PromotionChain web").get_by_role("region", name=f"Stage {name}")


def test_a_pushed_change_on_its_way_to_prod_and_approved_in_the_browser(
    ui_browser: Browser,
    world: tuple[Repo, Path, str],
    tmp_path: Path,
    local_cluster: LocalCluster,
) -> None:
    repo, apps, _ = world
    config = _serve_config(tmp_path, repo, apps, local_cluster)
    env = serve_env(tmp_path / "state")
    env["GITLOOP_CACHE_DIR"] = str(tmp_path / "cache")
    for user in ("alice", "bob", "carol", "dave"):  # bob: role:readonly only
        made = _gitloop(
            env,
            "account",
            "create",
            user,
            "--config",
            str(config),
            "--password-file",
            "-",
            stdin=f"{user}-pass-1\n",
        )
        assert made.returncode == 0, made.stderr
    with ServeProcess(config, env) as serve:
        source = repo.commit({"src/main.txt": "hello\n"}, "a change", author="alice")
        short = source[:12]
        push = {
            "after": source,
            "ref": "refs/heads/main",
            "repository": {"clone_url": repo.url},
            "head_commit": {
                "id": source,
                "timestamp": dt.datetime.now(dt.UTC).isoformat(),
                "message": "Brew the teapot greeting\n\nhello, not 418",
                "author": {"name": "Alice Example", "email": "alice@example.com"},
            },
        }
        answer = httpx.post(
            f"{serve.url}/hooks/web", json=push, headers={"X-GitHub-Event": "push"}, timeout=30
        )
        assert answer.status_code == 202, answer.text

        with ui_page(ui_browser, serve, "/ui/changes?q=TEAPOT") as page:  # a word of its message
            found = page.get_by_role("table", name="Changes")
            expect(found).to_contain_text("web-build-")
            expect(found).to_contain_text("Brew the teapot greeting")
            expect(found).to_contain_text("Alice Example")
            screenshot(page, "changes-search")
            page.get_by_role("link", name=f"Change {short}").click()
            expect(page).to_have_url(re.compile(f"/ui/changes/{source}$"))
            build = page.get_by_role("region", name="Build")
            expect(build.get_by_role("link", name=re.compile(r"^web-build-"))).not_to_have_count(0)
            expect(build).to_contain_text("Succeeded", timeout=LOOP)
            for stage in ("dev", "staging"):
                env_region = page.get_by_role("region", name=f"Environment {stage}")
                expect(env_region).to_contain_text("Config commit", timeout=LOOP)
                expect(env_region).to_contain_text(re.compile(r"lead time \d"), timeout=LOOP)
                expect(env_region.get_by_role("list", name=f"Timeline of {stage}")).to_contain_text("Healthy")
            expect(page.get_by_label("Lead time")).to_contain_text(re.compile(r"\d+(s|m)"))
            screenshot(page, "changes")

            page.get_by_role("link", name="Environments").click()
            prod = _stage(page, "prod")
            expect(prod).to_contain_text("WaitingApproval", timeout=LOOP)
            expect(prod).to_contain_text("0 of 2 approvals")
            expect(_stage(page, "staging").get_by_label("Source commit")).to_have_text(short, timeout=LOOP)
            screenshot(page, "environments")

            approve = f"Approve promotion of {short} to prod"
            with _as_user(ui_browser, serve, "bob", "/ui/environments/web") as bob:
                expect(_stage(bob, "prod")).to_contain_text("0 of 2 approvals")
                expect(bob.get_by_role("button", name=re.compile("Approve|Reject|Promote"))).to_have_count(0)
            with _as_user(ui_browser, serve, "alice", "/ui/environments/web") as alice:
                _stage(alice, "prod").get_by_role("button", name=approve).click()
                expect(_stage(alice, "prod").get_by_role("alert")).to_contain_text(
                    "alice is the author of the change"
                )
            with _as_user(ui_browser, serve, "carol", "/ui/environments/web") as carol:
                _stage(carol, "prod").get_by_role("button", name=approve).click()
                expect(_stage(carol, "prod")).to_contain_text("1 of 2 approvals: carol")
            expect(prod).to_contain_text("1 of 2 approvals: carol")  # the page left open, live
            with _as_user(ui_browser, serve, "dave", "/ui/environments/web") as dave:
                _stage(dave, "prod").get_by_role("button", name=approve).click()
                expect(dave.get_by_role("region", name="Recent promotions of web")).to_contain_text(
                    "carol, dave"
                )
            expect(prod.get_by_label("Source commit")).to_have_text(short, timeout=LOOP)
            expect(prod).to_contain_text("Healthy", timeout=LOOP)
            expect(prod).not_to_contain_text("WaitingApproval")
            config = prod.get_by_label("Config commit").inner_text()

            page.get_by_role("link", name=f"Change {short}").first.click()
            prod_change = page.get_by_role("region", name="Environment prod")
            expect(prod_change).to_contain_text("Approved by carol")
            expect(prod_change).to_contain_text("Approved by dave")
            expect(prod_change).to_contain_text(re.compile(r"lead time \d"), timeout=LOOP)

            page.goto(f"/ui/changes/{config}")  # as an Application's history entry links it
            expect(page.get_by_role("heading", level=1)).to_have_text(f"Change {short}")
            expect(page.get_by_text(f"Config commit {config} deployed this change.")).to_be_visible()
