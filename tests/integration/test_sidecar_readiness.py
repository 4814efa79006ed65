"""Sidecars with a ``readinessProbe`` and the local executor: the steps start only once every sidecar
is ready (a Python HTTP server that starts listening late, probed by ``httpGet``; a marker file probed
by ``exec``; a port probed by ``tcpSocket``), and a sidecar that never gets ready fails the TaskRun
naming it and its probe, without running a step."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gitloop.cli.main import cli
from gitloop.pipeline import taskrun

pytestmark = pytest.mark.integration

SERVER = """\
import http.server, sys, time
time.sleep(0.8)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ready" if self.path == "/healthz" else b"hello from the sidecar"
        self.send_response(200 if self.path != "/missing" else 404)
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""

TASK_RUN = """\
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: sidecars}
spec:
  workspaces: [{name: scratch, emptyDir: {}}]
  taskSpec:
    workspaces: [{name: scratch}]
    sidecars:
      - name: web
        image: python
        command: [PYTHON, SERVER_PY, "PORT"]
        ports: [{name: http, containerPort: PORT}]
        readinessProbe:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 1
      - name: marker
        image: alpine
        script: |
          sleep 0.5
          touch $(workspaces.scratch.path)/ready MARKER
          sleep 60
        readinessProbe:
          exec: {command: [test, -f, MARKER]}
      - name: socket
        image: python
        command: [PYTHON, SERVER_PY, "PORT2"]
        readinessProbe: {tcpSocket: {port: PORT2}}
    steps:
      - name: call
        image: python
        command: [PYTHON, -c, "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:PORT/').read().decode())"]
      - name: check
        image: alpine
        script: ls $(workspaces.scratch.path)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(autouse=True)
def _state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITLOOP_STATE_DIR", str(tmp_path / "state"))


def _write(tmp_path: Path, text: str) -> Path:
    server = tmp_path / "server.py"
    server.write_text(SERVER)
    text = text.replace("PYTHON", sys.executable).replace("SERVER_PY", str(server))
    text = text.replace("MARKER", str(tmp_path / "marker"))
    text = text.replace("PORT2", str(_free_port())).replace("PORT", str(_free_port()))
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


def test_sidecar_steps_wait_until_every_sidecar_is_ready(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["task", "run", "-f", str(_write(tmp_path, TASK_RUN))])
    assert result.exit_code == 0, result.output
    assert "[sidecars/call] hello from the sidecar" in result.output
    assert "[sidecars/check] ready" in result.output


def test_sidecar_never_ready_fails_the_task_run_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(taskrun, "SIDECAR_READY_LIMIT", 1.5)
    text = TASK_RUN.replace("path: /healthz", "path: /missing")
    result = CliRunner().invoke(cli, ["task", "run", "-f", str(_write(tmp_path, text))])
    assert result.exit_code == 1, result.output
    assert 'sidecar "sidecar-web" did not become ready within 1.5s' in result.output
    assert "readinessProbe httpGet http://127.0.0.1:" in result.output
    assert "/missing: HTTP status 404" in result.output
    assert "[sidecars/call]" not in result.output
