"""The Pipelines views in Debian's chromium against a real ``gitloop serve`` running real PipelineRuns
with the local executor: the run page draws the task graph from the Pipeline (runAfter and result
edges, a when-skipped task, a finally task), and a step's first line appears in the page while the
step still runs — the step prints, then waits for a file this test creates, then prints again, so the
order is deterministic without sleeps; rerun opens the new run; cancel ends a running run Cancelled;
the runs list keeps its filters in the address."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from playwright.sync_api import Page, expect
from ui_support import UiBrowser, screenshot, ui_page

sys.path.insert(0, str(Path(__file__).parents[1] / "serve"))  # the serve tests' process helpers
from serve_fakes import TESTDATA, github_headers, github_push
from serve_process import GITLOOP, ServeProcess, serve_env

pytestmark = pytest.mark.integration

FIRST = "a" * 40
"""The revision of the run whose log is watched live (its gate is opened by the test)."""
HELD = "b" * 40
"""The revision of the run that is cancelled (its gate is only opened at teardown)."""
PIPELINE = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {{name: build}}
spec:
  params: [{{name: revision}}, {{name: url}}]
  tasks:
    - name: checkout
      params: [{{name: revision, value: $(params.revision)}}]
      taskSpec:
        params: [{{name: revision}}]
        results: [{{name: commit}}]
        steps:
          - name: clone
            image: alpine
            script: |
              printf '\\033[32mchecked out\\033[0m %s\\n' "$(params.revision)"
              printf '%s' "$(params.revision)" > $(results.commit.path)
    - name: compile
      runAfter: [checkout]
      params: [{{name: revision, value: $(params.revision)}}]
      taskSpec:
        params: [{{name: revision}}]
        steps:
          - name: build
            image: alpine
            script: |
              echo "compiling before the gate"
              while [ ! -e "{gates}/$(params.revision)" ]; do sleep 0.05; done
              echo "compiled after the gate"
    - name: test
      params: [{{name: commit, value: $(tasks.checkout.results.commit)}}]
      taskSpec:
        params: [{{name: commit}}]
        steps:
          - name: unit
            image: alpine
            script: echo "testing $(params.commit)"
    - name: lint
      when: [{{input: $(params.revision), operator: in, values: [never]}}]
      taskSpec:
        steps:
          - {{name: lint, image: alpine, script: echo lint}}
  finally:
    - name: report
      taskSpec:
        steps:
          - {{name: report, image: alpine, script: echo report}}
"""


@pytest.fixture
def gates(tmp_path: Path) -> Iterator[Path]:
    """The directory of the files the compile step waits for; every gate is opened at teardown so no
    step is left waiting."""
    where = tmp_path / "gates"
    where.mkdir()
    yield where
    for revision in (FIRST, HELD):
        (where / revision).touch()


@pytest.fixture
def serve(tmp_path: Path, gates: Path) -> Iterator[ServeProcess]:
    pipeline = tmp_path / "build.yaml"
    pipeline.write_text(PIPELINE.format(gates=gates))
    config = tmp_path / "serve.yaml"
    config.write_text(
        textwrap.dedent(f"""\
            listen: 127.0.0.1:0
            shutdownGracePeriod: 1s
            eventListeners:
              - name: github
                triggers: [{TESTDATA / "listeners.yaml"}]
                pipelines: [{pipeline}]
                secrets: [{TESTDATA / "secrets.yaml"}]
            rbac:
              policyCSV: |
                g, reader, role:readonly
            """)
    )
    with ServeProcess(config, serve_env(tmp_path / "state")) as process:
        yield process
        process.stop()


@pytest.fixture
def reader(serve: ServeProcess, tmp_path: Path) -> SimpleNamespace:
    """The server as the account ``reader`` (``role:readonly``: it may read runs and logs, not cancel or
    rerun them) sees it: what ``ui_page`` needs, ``url`` and an API token."""
    env, where = serve_env(tmp_path / "state"), ("--config", str(serve.config))
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
            check=False,
        )
        assert done.returncode == 0, done.stderr
    return SimpleNamespace(url=serve.url, token=done.stdout.strip())


def push(serve: ServeProcess, revision: str) -> str:
    """A GitHub push of ``revision`` to the server's listener; the name of the PipelineRun it started."""
    body = github_push(after=revision)
    with serve.client() as client:
        answer = client.post("/hooks/github", content=body, headers=github_headers(body))
    assert answer.status_code == 202, answer.text
    return str(answer.json()["created"][0]["name"])


def task(page: Page, name: str, state: str) -> None:
    """Wait until the graph shows task ``name`` in ``state``."""
    expect(page.get_by_role("button", name=re.compile(rf"^Task {name}: (?:{state})\b"))).to_be_visible()


def test_run_page_streams_a_step_log_while_it_runs_and_draws_the_graph(
    ui_browser: UiBrowser, serve: ServeProcess, gates: Path
) -> None:
    with ui_page(ui_browser, serve, "/ui/pipelineruns") as page:
        expect(page.get_by_text("No pipeline runs yet.")).to_be_visible()
        name = push(serve, FIRST)  # the open list shows the new run without a reload (the run stream)
        row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name))
        expect(row).to_contain_text(re.compile("Pending|Running"))
        expect(row).to_contain_text("github/push-main")
        expect(row.get_by_role("link", name=f"Change {FIRST[:12]}")).to_be_visible()
        row.get_by_role("link", name=name).click()
        expect(page.get_by_role("heading", name=name)).to_be_visible()

        page.goto(f"/ui/pipelineruns/{name}?task=compile&step=build")  # a deep link to a step
        expect(page.get_by_role("heading", name=name)).to_be_visible()
        graph = page.get_by_role("group", name="Task graph")
        for each in ("checkout", "compile", "test", "lint", "report"):
            expect(graph.get_by_role("button", name=re.compile(rf"^Task {each}: "))).to_be_visible()
        assert page.locator('path[data-from="checkout"][data-to="compile"]').count() == 1  # runAfter
        assert page.locator('path.run-graph-edge-result[data-from="checkout"][data-to="test"]').count() == 1

        log = page.get_by_role("log", name="Log of compile/build")
        expect(log).to_contain_text("compiling before the gate")  # while the step waits for its gate:
        task(page, "compile", "Running")
        expect(page.get_by_role("button", name="Step build: Running")).to_be_visible()
        expect(log).not_to_contain_text("compiled after the gate")
        screenshot(page, "pipelinerun")

        (gates / FIRST).touch()
        expect(log).to_contain_text("compiled after the gate")
        expect(page.locator(".run-header .badge")).to_have_text(re.compile("Succeeded"))
        task(page, "compile", "Succeeded")
        task(page, "lint", "Skipped")
        task(page, "report", "Succeeded")

        page.get_by_role("button", name=re.compile(r"^Task checkout: ")).click()
        expect(page).to_have_url(re.compile(r"\?task=checkout$"))
        clone = page.get_by_role("log", name="Log of checkout/clone")
        expect(clone.locator(".ansi-fg-green")).to_have_text("checked out")  # ANSI colour as a class
        expect(page.get_by_role("table", name="Task results")).to_contain_text(FIRST)
        expect(page.get_by_role("table", name="Run params")).to_contain_text(FIRST)
        expect(page.locator(".run-page")).not_to_contain_text("null")
        page.get_by_label("Search the log").fill("CHECKED")
        expect(clone.locator("mark.log-match")).to_have_text("checked")
        with page.expect_download() as saved:
            page.get_by_role("button", name="Download").click()
        assert "checked out" in Path(saved.value.path()).read_text()

        page.get_by_role("button", name="Rerun").click()
        expect(page).to_have_url(re.compile(rf"/ui/pipelineruns/{name}-r-[a-z0-9]{{5}}$"))
        expect(page.get_by_role("link", name=f"rerun of {name}")).to_be_visible()
        expect(page.locator(".run-header .badge")).to_have_text(re.compile("Succeeded"))


def test_cancel_a_running_run_and_filter_the_list_in_the_address(
    ui_browser: UiBrowser, serve: ServeProcess, reader: SimpleNamespace
) -> None:
    held = push(serve, HELD)
    with ui_page(ui_browser, reader, f"/ui/pipelineruns/{held}") as page:  # type: ignore[arg-type]
        # no task in the address: the running task and its running step are shown
        expect(page.get_by_role("log", name="Log of compile/build")).to_contain_text(
            "compiling before the gate"
        )
        expect(page.get_by_role("button", name="Cancel", exact=True)).to_have_count(
            0
        )  # not offered to a reader
    with ui_page(ui_browser, serve, f"/ui/pipelineruns/{held}?task=compile") as page:
        expect(page.get_by_role("log", name="Log of compile/build")).to_contain_text(
            "compiling before the gate"
        )
        page.get_by_role("button", name="Cancel", exact=True).click()
        page.get_by_role("dialog").get_by_role("button", name="Cancel run").click()
        expect(page.locator(".run-header .badge")).to_have_text(re.compile("Cancelled"))
        task(page, "compile", "Failed|Cancelled")
        expect(page.get_by_role("button", name="Cancel", exact=True)).to_have_count(0)
        expect(page.get_by_role("button", name="Rerun")).to_be_visible()

        page.get_by_role("link", name="Pipeline runs").click()
        expect(page).to_have_url(re.compile(r"/ui/pipelineruns$"))
        rows = page.get_by_role("table", name="Pipeline runs").locator("tbody tr")
        expect(rows).to_have_count(1)
        page.get_by_label("Status").select_option("Succeeded")
        expect(page).to_have_url(re.compile(r"\?status=Succeeded$"))
        expect(page.get_by_text("No run matches the filters.")).to_be_visible()
        page.get_by_label("Status").select_option("Cancelled")
        expect(rows).to_have_count(1)
        expect(page.get_by_role("link", name=held)).to_be_visible()
        page.get_by_label("Search runs").fill("no-such-run")
        expect(page).to_have_url(re.compile(r"status=Cancelled&q=no-such-run$"))
        expect(page.get_by_text("No run matches the filters.")).to_be_visible()
        page.go_back()  # back restores the address's filters (and the view applies them)
        expect(page).to_have_url(re.compile(r"\?status=Cancelled$"))
        expect(page.get_by_role("link", name=held)).to_be_visible()
        screenshot(page, "pipelineruns")

    with ui_page(ui_browser, reader, f"/ui/pipelineruns/{held}") as page:  # type: ignore[arg-type]
        expect(page.locator(".run-header .badge")).to_have_text(re.compile("Cancelled"))
        expect(page.get_by_role("button", name="Rerun")).to_have_count(0)
    with ui_page(ui_browser, serve, "/ui/pipelineruns?label=gitloop.dev/listener%3Dnone") as page:
        expect(page.get_by_label("Label selector")).to_have_value("gitloop.dev/listener=none")
        expect(page.get_by_text("No pipeline runs yet.")).to_be_visible()
    assert httpx.get(f"{serve.url}/api/v1/stream/pipelineruns", timeout=10).status_code == 401
