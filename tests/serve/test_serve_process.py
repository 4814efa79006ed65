"""``gitloop serve`` as a process on a real socket: it starts PipelineRuns from webhooks on the real CI
engine, refuses abuse and keeps serving, and a SIGTERM drains it (the running run ends, the queued one
stays Pending for the next start, which runs it) and it exits 0. Configuration mistakes exit 2."""

from __future__ import annotations

import subprocess
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from serve_fakes import GITHUB_SECRET, TESTDATA, github_headers, github_push
from serve_process import GITLOOP, ServeProcess, serve_env

pytestmark = pytest.mark.integration

SLOW = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: build}
spec:
  params: [{name: revision}, {name: url}]
  tasks:
    - name: wait
      taskSpec:
        steps:
          - {name: sleep, image: alpine, script: "sleep 2; echo done"}
"""


def _config(tmp_path: Path, pipeline: Path, *, parallel: int = 2, grace: str = "30s") -> Path:
    config = tmp_path / "serve.yaml"
    config.write_text(
        textwrap.dedent(f"""\
            listen: 127.0.0.1:0
            shutdownGracePeriod: {grace}
            maxBodyBytes: 1048576
            pipelines: {{maxParallel: {parallel}}}
            eventListeners:
              - name: github
                triggers: [{TESTDATA / "listeners.yaml"}]
                pipelines: [{pipeline}]
                secrets: [{TESTDATA / "secrets.yaml"}]
            """)
    )
    return config


def _reason(client: httpx.Client, name: str) -> str:
    response = client.get(f"/api/pipelineruns/{name}")
    if response.status_code != 200:
        return ""
    conditions = response.json().get("status", {}).get("conditions") or [{}]
    return str(conditions[0].get("reason", ""))


def _wait(client: httpx.Client, name: str, reasons: tuple[str, ...], timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while (reason := _reason(client, name)) not in reasons:
        assert time.monotonic() < deadline, f"{name} is {reason!r}"
        time.sleep(0.1)
    return reason


def _start(client: httpx.Client, revision: str, delivery: str | None = None) -> str:
    body = github_push(after=revision)
    response = client.post("/hooks/github", content=body, headers=github_headers(body, delivery=delivery))
    assert response.status_code == 202, response.text
    return str(response.json()["created"][0]["name"])


def test_webhooks_run_pipelines_and_abuse_changes_nothing(tmp_path: Path) -> None:
    with ServeProcess(_config(tmp_path, TESTDATA / "pipeline.yaml"), serve_env(tmp_path / "state")) as serve:
        with serve.client() as client:
            started = time.perf_counter()
            name = _start(client, "1" * 40, delivery="real-1")
            answered = time.perf_counter() - started
            assert _wait(client, name, ("Succeeded", "Failed")) == "Succeeded"
            run = client.get(f"/api/pipelineruns/{name}").json()
            assert {"name": "IMAGE_URL", "value": "registry.local/app:" + "1" * 40} in run["status"][
                "results"
            ]
            assert (
                "[build/build] building " + "1" * 40
                in client.get(f"/api/pipelineruns/{name}/logs?format=text").text
            )

            body = github_push(after="2" * 40)
            wrong = client.post("/hooks/github", content=body, headers=github_headers(body, secret="wrong"))
            replay = client.post(
                "/hooks/github", content=body, headers=github_headers(body, delivery="real-1")
            )
            big = b'{"pad": "' + b"x" * (10 * 1024 * 1024) + b'"}'
            too_big = client.post("/hooks/github", content=big, headers=github_headers(big)).status_code
            junk = client.post("/hooks/github", content=b"not json", headers=github_headers(b"not json"))
            other = client.post("/hooks/github", content=body, headers=github_headers(body, event="issues"))
            assert (wrong.status_code, replay.json()["message"], too_big) == (401, "duplicate delivery", 413)
            assert (junk.status_code, other.json()["message"]) == (400, "no trigger matched")
            listed = client.get("/api/pipelineruns").json()["items"]
            assert [item["metadata"]["name"] for item in listed] == [name]  # nothing else started
            assert client.get("/healthz").json()["status"] == "ok"
            assert _start(client, "3" * 40)  # still serving

            trace = client.get(f"/api/trace/{'1' * 12}").json()
            hops = [hop["hop"] for hop in trace["hops"]]
            assert hops[:2] == ["commit", "push"] and "pipelinerun-finished" in hops
        assert serve.stop() == 0, serve.output()
    assert GITHUB_SECRET not in serve.output()
    assert answered < 2.0


def test_sigterm_lets_the_running_run_end_keeps_the_queued_one_and_exits_0(tmp_path: Path) -> None:
    pipeline = tmp_path / "slow.yaml"
    pipeline.write_text(SLOW)
    config = _config(tmp_path, pipeline, parallel=1, grace="30s")
    env = serve_env(tmp_path / "state")
    with ServeProcess(config, env) as serve, serve.client() as client:
        running = _start(client, "a" * 40)
        _wait(client, running, ("Running", "Started"), timeout=30)
        queued = _start(client, "b" * 40)
        assert _reason(client, queued) == "Pending"
        assert serve.stop() == 0, serve.output()
        assert "SIGTERM: stopping" in serve.output()

    with ServeProcess(config, env) as again, again.client() as client:
        assert _reason(client, running) == "Succeeded"  # it was let finish before the exit
        assert "queued again" in again.output() or _reason(client, queued) != "Pending"
        assert _wait(client, queued, ("Succeeded",)) == "Succeeded"
        assert again.stop() == 0


def test_configuration_mistakes_exit_2_with_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "serve.yaml"
    config.write_text("listen: 127.0.0.1:0\neventListeners:\n  - name: github\n    triggers: [nope.yaml]\n")
    done = subprocess.run(
        [GITLOOP, "serve", "--config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert f"{config}:4: ServeConfig: eventListeners[0].triggers[0]" in done.stderr
    config.write_text(
        f"listen: 127.0.0.1:0\neventListeners:\n  - {{name: nope, triggers: [{TESTDATA / 'listeners.yaml'}]}}\n"
    )
    done = subprocess.run(
        [GITLOOP, "serve", "--config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "no EventListener named 'nope'" in done.stderr


def test_a_port_in_use_is_a_clear_error_and_exit_1(tmp_path: Path) -> None:
    """The machine, not the configuration, is in the way: exit 1, as docs/serve.md says."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "serve.yaml"
        config.write_text(f"listen: 127.0.0.1:{port}\n")
        done = subprocess.run(
            [GITLOOP, "serve", "--config", str(config)], capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 1, done.stderr
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in done.stderr
