"""``gitloop app --server``: the API client (``gitloop.service.client``) and the CLI's server mode against a
tiny real HTTP server on 127.0.0.1 answering canned Argo CD JSON — a real socket, no mock of httpx."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner, Result

from gitloop.cli.main import cli
from gitloop.errors import GitloopError, OperationInProgress, UsageError
from gitloop.service.client import ApiClient

TOKEN = "s3cret-token-value"
Answer = tuple[int, Any]


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class Canned:
    """Routes ``(METHOD, path)`` → a function of the request giving ``(status, JSON body)``."""

    routes: dict[tuple[str, str], Callable[[Seen], Answer]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def on(self, method: str, path: str, *answers: Answer) -> None:
        """Answer in turn, the last one again and again."""
        queue = list(answers)
        self.routes[(method, path)] = lambda _: queue.pop(0) if len(queue) > 1 else queue[0]


@pytest.fixture
def api() -> Iterator[Canned]:
    canned = Canned()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            seen = Seen(self.command, parts.path, parse_qs(parts.query), dict(self.headers), body)
            canned.seen.append(seen)
            route = canned.routes.get((self.command, parts.path))
            status, answer = route(seen) if route else (404, {"message": "no route", "code": 5})
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    canned.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield canned
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def app_json(name: str, *, operation: dict[str, Any] | None = None, history: list[Any] | None = None) -> Any:
    status: dict[str, Any] = {
        "sync": {"status": "Synced", "revision": "abcdef0123456789"},
        "health": {"status": "Healthy"},
        "resources": [],
        "conditions": [],
        "history": history or [],
    }
    if operation is not None:
        status["operationState"] = operation
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://git.example/r.git", "path": "k8s", "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
        },
        "status": status,
    }


def op_state(op_id: str, phase: str) -> dict[str, Any]:
    return {
        "operation": {"sync": {"revision": "abcdef0123456789", "prune": False}, "initiatedBy": {}},
        "phase": phase,
        "message": "successfully synced" if phase == "Succeeded" else "",
        "startedAt": "2026-12-07T16:00:00Z",
        "retryCount": 0,
        "gitloop": {"id": op_id},
        "syncResult": {
            "resources": [
                {
                    "group": "",
                    "kind": "ConfigMap",
                    "namespace": "web",
                    "name": "cfg",
                    "status": "Synced",
                    "message": "configmap/cfg created",
                    "hookPhase": "",
                    "syncPhase": "Sync",
                    "gitloop": {"wave": 0},
                }
            ],
            "revision": "abcdef0123456789",
        },
    }


def gitloop(api: Canned, *args: str, **env: str) -> Result:
    return CliRunner().invoke(cli, ["app", *args, "--server", api.url, "--auth-token", TOKEN], env=env)


def test_list_follows_continue_and_sends_the_token(api: Canned) -> None:
    pages = {"": (200, {"metadata": {"continue": "b"}, "items": [app_json("a")]}),
             "b": (200, {"metadata": {}, "items": [app_json("b")]})}  # fmt: skip
    api.routes[("GET", "/api/v1/applications")] = lambda seen: pages[seen.query.get("continue", [""])[0]]
    with ApiClient(api.url, TOKEN) as client:
        assert [a["metadata"]["name"] for a in client.applications()] == ["a", "b"]
    assert [s.query.get("continue") for s in api.seen] == [None, ["b"]]
    assert all(s.headers["Authorization"] == f"Bearer {TOKEN}" for s in api.seen)
    assert all(s.query["limit"] == ["500"] for s in api.seen)


def test_list_prints_the_table(api: Canned) -> None:
    api.on("GET", "/api/v1/applications", (200, {"metadata": {}, "items": [app_json("web")]}))
    result = gitloop(api, "list")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1].split() == [
        "web", "default", "https://kubernetes.default.svc", "web", "Synced", "Healthy", "abcdef0",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "error", "message"),
    [
        (400, UsageError, "selector: bad"),
        (404, GitloopError, "Application 'web' not found"),
        (409, OperationInProgress, "another operation is already in progress"),
        (500, GitloopError, "HTTP 500: boom"),
    ],
)
def test_errors_carry_the_servers_message(
    api: Canned, status: int, error: type[GitloopError], message: str
) -> None:
    text = {
        400: "selector: bad",
        404: "not found",
        409: "another operation is already in progress",
        500: "boom",
    }
    api.on("GET", "/api/v1/applications/web", (status, {"message": text[status], "error": "x", "code": 3}))
    with ApiClient(api.url, TOKEN) as client, pytest.raises(error, match=message) as caught:
        client.application("web")
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize(("status", "code"), [(400, 2), (404, 1), (401, 1)])
def test_exit_codes(api: Canned, status: int, code: int) -> None:
    api.on("GET", "/api/v1/applications/web", (status, {"message": "refused here", "code": 3}))
    result = gitloop(api, "get", "web")
    assert result.exit_code == code, result.output
    assert "refused here" in result.output and TOKEN not in result.output


def test_an_unreachable_server_is_named() -> None:
    result = CliRunner().invoke(cli, ["app", "list", "--server", "http://127.0.0.1:1", "--auth-token", TOKEN])
    assert result.exit_code == 1
    assert "cannot reach http://127.0.0.1:1" in result.output and TOKEN not in result.output


def test_the_server_comes_from_the_environment(api: Canned) -> None:
    api.on("GET", "/api/v1/applications", (200, {"metadata": {}, "items": []}))
    result = CliRunner().invoke(cli, ["app", "list"], env={"GITLOOP_SERVER": api.url})
    assert result.exit_code == 0, result.output
    assert "Authorization" not in api.seen[0].headers


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["get", "web", "-f", "apps.yaml"],
            "-f and a server (--server or $GITLOOP_SERVER) exclude each other",
        ),
        (["list", "--kubeconfig", "k"], "--kubeconfig and a server"),
        (["watch"], "local only"),
        (["rollback", "web", "--disable-auto-sync"], "--disable-auto-sync is not available with --server"),
        (["sync", "web", "--resource", "nonsense"], "GROUP:KIND:NAME"),
    ],
)
def test_refused_with_a_server(api: Canned, args: list[str], message: str) -> None:
    result = gitloop(api, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert api.seen == []


def test_local_mode_still_needs_a_file() -> None:
    result = CliRunner().invoke(cli, ["app", "list"], env={"GITLOOP_SERVER": ""})
    assert result.exit_code == 2
    assert "Missing option '-f' / '--filename'" in result.output


@pytest.mark.parametrize(("phase", "code"), [("Succeeded", 0), ("Failed", 1)])
def test_sync_waits_for_the_operation(api: Canned, phase: str, code: int) -> None:
    api.on(
        "POST",
        "/api/v1/applications/web/sync",
        (200, app_json("web", operation=op_state("web-2", "Running"))),
    )
    api.on(
        "GET",
        "/api/v1/applications/web",
        (200, app_json("web")),
        (200, app_json("web", operation=op_state("web-2", "Running"))),
        (200, app_json("web", operation=op_state("web-2", phase))),
    )
    result = gitloop(
        api, "sync", "web", "--prune", "--force", "--revision", "v2", "--resource", "apps:Deployment:ns/web"
    )
    assert result.exit_code == code, result.output
    assert result.output.startswith(f"Operation web-2: {phase}\nRevision: abcdef0\n")
    assert "configmap/cfg created" in result.output
    assert api.seen[1].body == {
        "prune": True,
        "dryRun": False,
        "revision": "v2",
        "strategy": {"apply": {"force": True}},
        "resources": [{"group": "apps", "kind": "Deployment", "namespace": "ns", "name": "web"}],
    }
    assert [s.method for s in api.seen] == ["GET", "POST", "GET", "GET"]


def test_sync_waits_for_the_new_operation_when_the_answer_shows_the_old_one(api: Canned) -> None:
    old = app_json("web", operation=op_state("web-1", "Succeeded"))
    api.on("POST", "/api/v1/applications/web/sync", (200, old))
    api.on(
        "GET",
        "/api/v1/applications/web",
        (200, old),
        (200, old),
        (200, app_json("web", operation=op_state("web-2", "Running"))),
        (200, app_json("web", operation=op_state("web-2", "Succeeded"))),
    )
    result = gitloop(api, "sync", "web")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Operation web-2: Succeeded")


def test_an_operation_replaced_while_waiting_is_an_error(api: Canned) -> None:
    api.on(
        "GET",
        "/api/v1/applications/web",
        (200, app_json("web")),
        (200, app_json("web", operation=op_state("web-3", "Running"))),
    )
    api.on(
        "POST",
        "/api/v1/applications/web/sync",
        (200, app_json("web", operation=op_state("web-2", "Running"))),
    )
    result = gitloop(api, "sync", "web")
    assert result.exit_code == 1
    assert "operation web-2 was replaced by operation web-3" in result.output


def test_terminate(api: Canned) -> None:
    api.on("DELETE", "/api/v1/applications/web/operation", (200, {}))
    with ApiClient(api.url) as client:
        client.terminate("web")
    assert [(s.method, s.path) for s in api.seen] == [("DELETE", "/api/v1/applications/web/operation")]


def test_sync_refused_while_an_operation_runs(api: Canned) -> None:
    api.on("GET", "/api/v1/applications/web", (200, app_json("web")))
    api.on(
        "POST",
        "/api/v1/applications/web/sync",
        (409, {"message": "web: another operation is already in progress"}),
    )
    result = gitloop(api, "sync", "web")
    assert result.exit_code == 1
    assert "another operation is already in progress" in result.output


def history_item(entry_id: int, phase: str) -> dict[str, Any]:
    return {
        "id": entry_id,
        "revision": f"{entry_id}" * 12,
        "deployedAt": "2026-12-07T16:00:00Z",
        "initiatedBy": {"username": "alice"},
        "gitloop": {"phase": phase, "rollbackOf": None, "message": f"commit {entry_id}"},
    }


def test_rollback_without_an_id_returns_to_the_previous_success(api: Canned) -> None:
    entries = [history_item(1, "Succeeded"), history_item(2, "Succeeded"), history_item(3, "Failed")]
    api.on(
        "GET",
        "/api/v1/applications/web",
        (200, app_json("web", history=entries)),
        (200, app_json("web", operation=op_state("web-9", "Succeeded"))),
    )
    api.on(
        "PUT",
        "/api/v1/applications/web/rollback",
        (200, app_json("web", operation=op_state("web-9", "Running"))),
    )
    result = gitloop(api, "rollback", "web", "--prune")
    assert result.exit_code == 0, result.output
    assert [s.body for s in api.seen if s.method == "PUT"] == [{"id": 1, "prune": True}]


def test_history_prints_status_history(api: Canned) -> None:
    api.on("GET", "/api/v1/applications/web", (200, app_json("web", history=[history_item(1, "Succeeded")])))
    result = gitloop(api, "history", "web")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].split()[:3] == ["ID", "DATE", "REVISION"]
    assert "111111111111  alice         Succeeded        commit 1" in result.output


@pytest.mark.parametrize(("modified", "code"), [(False, 0), (True, 1)])
def test_diff_exit_codes(api: Canned, modified: bool, code: int) -> None:
    live = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"v": "1"}}
    predicted = {**live, "data": {"v": "2"}} if modified else live
    item = {"group": "", "kind": "ConfigMap", "namespace": "web", "name": "cfg", "modified": modified,
            "normalizedLiveState": json.dumps(live), "predictedLiveState": json.dumps(predicted)}  # fmt: skip
    api.on("GET", "/api/v1/applications/web/managed-resources", (200, {"items": [item]}))
    result = gitloop(api, "diff", "web")
    assert result.exit_code == code, result.output
    assert ("+  v: '2'" in result.output) is modified


def test_diff_error_exits_2(api: Canned) -> None:
    api.on(
        "GET", "/api/v1/applications/web/managed-resources", (500, {"message": "ComparisonError: no repo"})
    )
    result = gitloop(api, "diff", "web")
    assert result.exit_code == 2
    assert "ComparisonError: no repo" in result.output


def test_manifests_git_and_live(api: Canned) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}}
    api.on(
        "GET", "/api/v1/applications/web/manifests", (200, {"manifests": [json.dumps(cm)], "revision": "x"})
    )
    api.on(
        "GET",
        "/api/v1/applications/web/managed-resources",
        (200, {"items": [{"group": "", "kind": "ConfigMap", "namespace": "", "name": "cfg",
                          "liveState": json.dumps({**cm, "data": {"v": "1"}})},
                         {"group": "", "kind": "Secret", "namespace": "", "name": "gone", "liveState": "null"}]}),
    )  # fmt: skip
    result = gitloop(api, "manifests", "web")
    assert result.output == "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n"
    result = gitloop(api, "manifests", "web", "--source", "live")
    assert result.output.endswith("data:\n  v: '1'\n")


def test_wait_polls_until_healthy_and_synced(api: Canned) -> None:
    degraded = app_json("web")
    degraded["status"]["health"] = {"status": "Progressing"}
    api.on("GET", "/api/v1/applications/web", (200, degraded), (200, app_json("web")))
    result = gitloop(api, "wait", "web", "--timeout", "30")
    assert result.exit_code == 0, result.output
    assert result.output == "web: Synced (abcdef0), Healthy\n"
    assert [s.query.get("refresh") for s in api.seen] == [["hard"], ["normal"]]


def test_refresh_all(api: Canned) -> None:
    api.on("GET", "/api/v1/applications", (200, {"metadata": {}, "items": [app_json("a"), app_json("b")]}))
    api.on("GET", "/api/v1/applications/a", (200, app_json("a")))
    api.on("GET", "/api/v1/applications/b", (200, app_json("b")))
    result = gitloop(api, "refresh")
    assert result.output == "a: Synced (abcdef0), Healthy\nb: Synced (abcdef0), Healthy\n"
