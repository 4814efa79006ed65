"""``/api/v1/pipelineruns`` on a real ``gitloop serve`` process running its PipelineRuns locally:
cancel a running run (its record ends Cancelled within seconds and its step's processes are gone,
checked with a scan of ``/proc``), a finished run cannot be cancelled (409), an unknown one is 404;
rerun makes a new run that succeeds, labelled with the run it copies and linked in the lineage to
the same source commit; the list filters by label and pages with ``limit``; ``gitloop pipeline
cancel|rerun`` do the same as clients of the server."""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from serve_fakes import SHA, TESTDATA, github_headers, github_push
from serve_process import GITLOOP, ServeProcess, serve_env

from realparts import marked_processes

pytestmark = pytest.mark.integration

SLOW = "d" * 40
"""A revision whose build sleeps until it is cancelled."""
PIPELINE = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {{name: build}}
spec:
  params: [{{name: revision}}, {{name: url}}]
  tasks:
    - name: build
      params: [{{name: revision, value: $(params.revision)}}]
      taskSpec:
        params: [{{name: revision}}]
        steps:
          - name: build
            image: alpine
            env: [{{name: STEP_MARKER, value: {marker}}}]
            script: |
              echo "building $(params.revision)"
              case "$(params.revision)" in ddd*) sleep 300 & sleep 301;; esac
"""


def _wait(check: Callable[[], bool], what: str, serve: ServeProcess, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen in {timeout}s:\n{serve.output()}"
        time.sleep(0.05)


def _condition(client: httpx.Client, name: str) -> dict[str, Any]:
    run = client.get(f"/api/v1/pipelineruns/{name}").json()
    return dict((run.get("status", {}).get("conditions") or [{}])[0])


def _push(client: httpx.Client, after: str) -> str:
    body = github_push(after=after)
    answer = client.post("/hooks/github", content=body, headers=github_headers(body))
    assert answer.status_code == 202, answer.text
    return str(answer.json()["created"][0]["name"])


@pytest.fixture
def marker() -> Iterator[str]:
    found = f"gitloop-test-{uuid.uuid4().hex}"
    yield found
    for pid in marked_processes(found):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def serve(tmp_path: Path, marker: str) -> Iterator[ServeProcess]:
    pipeline = tmp_path / "build.yaml"
    pipeline.write_text(PIPELINE.format(marker=marker))
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
            """)
    )
    with ServeProcess(config, serve_env(tmp_path / "state")) as process:
        yield process
        process.stop()


def test_cancel_a_running_run_stops_its_step_and_ends_it_cancelled(serve: ServeProcess, marker: str) -> None:
    with serve.client() as client:
        name = _push(client, SLOW)
        logs = f"/api/v1/pipelineruns/{name}/logs?format=text"
        _wait(lambda: f"building {SLOW}" in client.get(logs).text, "the step's start", serve)
        _wait(lambda: len(marked_processes(marker)) >= 2, "the step's processes", serve)
        answer = client.post(f"/api/v1/pipelineruns/{name}/cancel")
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "Cancelled"
        _wait(lambda: _condition(client, name).get("reason") == "Cancelled", "the cancel", serve, 10)
        _wait(lambda: not marked_processes(marker), "the end of the step's processes", serve, 10)
        run = client.get(f"/api/v1/pipelineruns/{name}").json()
        assert run["spec"]["status"] == "Cancelled" and _condition(client, name)["status"] == "False"
        [child] = client.get(f"/api/v1/pipelineruns/{name}/taskruns").json()["items"]
        assert child["status"]["conditions"][0]["reason"] == "TaskRunCancelled"

        again = client.post(f"/api/v1/pipelineruns/{name}/cancel", json={"status": "CancelledRunFinally"})
        assert again.status_code == 409, again.text
        assert "finished" in again.json()["message"]
        assert client.post("/api/v1/pipelineruns/no-such-run/cancel").status_code == 404
        bad = client.post(f"/api/v1/pipelineruns/{name}/cancel", json={"status": "Stop"})
        assert bad.status_code == 400, bad.text


def test_rerun_makes_a_new_run_of_the_same_resource_linked_to_the_same_commit(serve: ServeProcess) -> None:
    with serve.client() as client:
        name = _push(client, SHA)
        _wait(lambda: _condition(client, name).get("reason") == "Succeeded", "the first run", serve)
        answer = client.post(f"/api/v1/pipelineruns/{name}/rerun")
        assert answer.status_code == 201, answer.text
        new = answer.json()["name"]
        assert new.startswith(f"{name}-r-") and len(new) == len(name) + 8
        _wait(lambda: _condition(client, new).get("reason") == "Succeeded", "the rerun", serve)
        run = client.get(f"/api/v1/pipelineruns/{new}").json()
        assert run["metadata"]["labels"]["gitloop.dev/rerun-of"] == name
        assert run["spec"]["params"] == client.get(f"/api/v1/pipelineruns/{name}").json()["spec"]["params"]
        assert f"building {SHA}" in client.get(f"/api/v1/pipelineruns/{new}/logs?format=text").text

        hops = client.get(f"/api/trace/{SHA}").json()["hops"]
        mine = [(h["hop"], h.get("rerunOf")) for h in hops if h.get("run") == new]
        assert mine == [("pipelinerun", name), ("pipelinerun-started", None), ("pipelinerun-finished", None)]

        selected = client.get(
            "/api/v1/pipelineruns", params={"labelSelector": f"gitloop.dev/rerun-of={name}"}
        )
        assert [r["metadata"]["name"] for r in selected.json()["items"]] == [new]
        assert len(client.get("/api/v1/pipelineruns", params={"limit": 1}).json()["items"]) == 1
        assert client.get("/api/pipelineruns").json()["items"]  # the old paths stay as aliases
        assert client.post("/api/v1/pipelineruns/no-such-run/rerun").status_code == 404


def test_the_cli_cancels_and_reruns_through_the_server(serve: ServeProcess, tmp_path: Path) -> None:
    env = {**serve_env(tmp_path / "cli-state"), **serve.cli_env()}
    with serve.client() as client:
        name = _push(client, SHA)
        _wait(lambda: _condition(client, name).get("reason") == "Succeeded", "the first run", serve)
        rerun = subprocess.run(
            [GITLOOP, "pipeline", "rerun", name], env=env, capture_output=True, text=True, timeout=60
        )
        assert rerun.returncode == 0, rerun.stderr
        new = rerun.stdout.strip().removeprefix("PipelineRun started: ")
        assert new.startswith(f"{name}-r-"), rerun.stdout
        _wait(lambda: _condition(client, new).get("reason") == "Succeeded", "the rerun", serve)
        cancel = subprocess.run(
            [GITLOOP, "pipeline", "cancel", new, "--status", "StoppedRunFinally"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cancel.returncode != 0 and "finished" in cancel.stderr, cancel
