"""The HTTP API on a TestClient: EventListener webhooks (and their abuse), the push webhook that
refreshes Applications, runs, Applications, trace, health and metrics. The engines are fakes of the
server's own seams; the store is a real SQLite file."""

from __future__ import annotations

import dataclasses
import json

from fastapi.testclient import TestClient
from serve_fakes import GITLAB_TOKEN, SHA, FakeApps, FakeLauncher, github_headers, github_push, sign

from conftest import WEBHOOK_SECRET
from gitloop.ports import Store
from gitloop.service.server import Server


def _hook(
    client: TestClient, body: bytes, headers: dict[str, str], listener: str = "github"
) -> tuple[int, dict]:
    response = client.post(f"/hooks/{listener}", content=body, headers=headers)
    return response.status_code, response.json()


def _still_serves(client: TestClient, launcher: FakeLauncher) -> None:
    """A good delivery after the abuse is accepted and started."""
    before = len(launcher.launched)
    body = github_push()
    status, answer = _hook(client, body, github_headers(body))
    assert status == 202, answer
    assert len(launcher.launched) == before + 1
    assert client.get("/healthz").status_code == 200


def test_a_signed_push_starts_a_pipelinerun_and_answers_its_name(
    client: TestClient, launcher: FakeLauncher
) -> None:
    body = github_push()
    status, answer = _hook(client, body, github_headers(body, delivery="d-1"))
    assert status == 202
    [created] = answer["created"]
    assert created["kind"] == "PipelineRun" and created["name"].startswith("build-")
    assert answer["eventID"]
    [resource] = launcher.launched
    assert resource["metadata"]["name"] == created["name"]
    assert {"name": "revision", "value": SHA} in resource["spec"]["params"]
    assert resource["metadata"]["labels"]["triggers.tekton.dev/eventlistener"] == "github"


def test_a_gitlab_push_with_the_token_starts_a_run(client: TestClient, launcher: FakeLauncher) -> None:
    body = json.dumps(
        {
            "object_kind": "push",
            "ref": "refs/heads/main",
            "checkout_sha": SHA,
            "project": {"git_http_url": "http://g/x.git"},
        }
    ).encode()
    headers = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": GITLAB_TOKEN, "X-Gitlab-Event-UUID": "u-1"}
    status, answer = _hook(client, body, headers, "gitlab")
    assert status == 202, answer
    assert len(launcher.launched) == 1
    headers["X-Gitlab-Token"] = "wrong"
    headers["X-Gitlab-Event-UUID"] = "u-2"
    assert _hook(client, body, headers, "gitlab")[0] == 401
    assert len(launcher.launched) == 1


def test_abuse_wrong_signature_is_401_and_starts_nothing(client: TestClient, launcher: FakeLauncher) -> None:
    body = github_push()
    for headers in (
        github_headers(body, secret="not-the-secret"),
        github_headers(body, secret=None),
        {**github_headers(body), "X-Hub-Signature-256": "sha256=zz"},
    ):
        status, answer = _hook(client, body, headers)
        assert status == 401, answer
        assert "signature" in answer["message"]
    assert launcher.launched == []
    _still_serves(client, launcher)


def test_abuse_a_replayed_delivery_is_a_duplicate_and_starts_nothing(
    client: TestClient, launcher: FakeLauncher
) -> None:
    body = github_push()
    headers = github_headers(body, delivery="same-delivery")
    assert _hook(client, body, headers)[0] == 202
    status, answer = _hook(client, body, headers)
    assert (status, answer["message"]) == (200, "duplicate delivery")
    assert len(launcher.launched) == 1
    # A forged copy of the id (bad signature) neither starts anything nor changes that answer.
    assert _hook(client, body, github_headers(body, secret="x", delivery="same-delivery"))[0] == 401
    assert _hook(client, body, headers)[1]["message"] == "duplicate delivery"
    assert len(launcher.launched) == 1
    _still_serves(client, launcher)


def test_abuse_a_10_mb_body_is_413_and_starts_nothing(client: TestClient, launcher: FakeLauncher) -> None:
    big = b'{"ref": "refs/heads/main", "pad": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    status, answer = _hook(client, big, github_headers(big))
    assert status == 413
    assert "too large" in answer["message"]
    # Without a Content-Length (chunked), the body is cut off as soon as it passes the cap.
    chunks = (big[i : i + 65536] for i in range(0, len(big), 65536))
    response = client.post("/hooks/github", content=chunks, headers=github_headers(big))
    assert response.status_code == 413
    assert launcher.launched == []
    _still_serves(client, launcher)


def test_abuse_non_json_bodies_are_400_and_start_nothing(client: TestClient, launcher: FakeLauncher) -> None:
    for body in (b"payload=%7B%22ref%22%3A1%7D", b"", b"[1, 2]", b"{not json", b"\xff\xfe"):
        status, answer = _hook(client, body, github_headers(body))
        assert status == 400, (body, answer)
        assert answer["message"].startswith("malformed body")
    assert launcher.launched == []
    _still_serves(client, launcher)


def test_abuse_an_unknown_event_type_matches_no_trigger(client: TestClient, launcher: FakeLauncher) -> None:
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    for event in ("issues", "ping", "x" * 300):
        status, answer = _hook(client, body, github_headers(body, event=event))
        assert (status, answer["message"]) == (200, "no trigger matched")
    # A push to another branch is filtered by the CEL filter, too.
    other = github_push(ref="refs/heads/feature")
    assert _hook(client, other, github_headers(other))[1]["message"] == "no trigger matched"
    assert launcher.launched == []
    _still_serves(client, launcher)


def test_an_unknown_listener_is_404(client: TestClient) -> None:
    response = client.post("/hooks/nope", content=b"{}")
    assert response.status_code == 404
    assert "nope" in response.json()["message"]


def test_runs_that_cannot_start_release_the_delivery_so_a_retry_works(
    client: TestClient, launcher: FakeLauncher
) -> None:
    from gitloop.errors import GitloopError

    body = github_push()
    headers = github_headers(body, delivery="retry-me")
    launcher.fail = GitloopError("the disk is full")
    status, answer = _hook(client, body, headers)
    assert status == 500
    assert answer["errors"][0]["error"] == "the disk is full"
    launcher.fail = None
    assert _hook(client, body, headers)[0] == 202


def test_the_push_webhook_refreshes_the_matching_applications(client: TestClient, apps: FakeApps) -> None:
    body = github_push(repo="http://git.example.com/team/app-config")
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(body, WEBHOOK_SECRET.decode())}
    response = client.post("/api/webhook", content=body, headers=headers)
    assert response.status_code == 200, response.json()
    assert response.json()["refreshed"] == ["dev", "head"]
    assert apps.refreshed == [["dev", "head"]]


def test_the_push_webhook_refuses_bad_signatures_and_ignores_other_events(
    client: TestClient, apps: FakeApps
) -> None:
    body = github_push(repo="http://git.example.com/team/app-config")
    bad = client.post(
        "/api/webhook",
        content=body,
        headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(body, "x")},
    )
    assert bad.status_code == 401
    unsigned = client.post("/api/webhook", content=body, headers={"X-GitHub-Event": "push"})
    assert unsigned.status_code == 401
    signature = sign(body, WEBHOOK_SECRET.decode())
    ping = client.post(
        "/api/webhook", content=body, headers={"X-GitHub-Event": "ping", "X-Hub-Signature-256": signature}
    )
    assert (ping.status_code, ping.json()["message"]) == (200, "pong")
    issues = client.post(
        "/api/webhook", content=body, headers={"X-GitHub-Event": "issues", "X-Hub-Signature-256": signature}
    )
    assert issues.status_code == 200 and "ignored" in issues.json()["message"]
    unknown = client.post("/api/webhook", content=body)
    assert unknown.status_code == 400
    junk = b"not json"
    response = client.post(
        "/api/webhook",
        content=junk,
        headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(junk, WEBHOOK_SECRET.decode())},
    )
    assert response.status_code == 400
    assert apps.refreshed == []


def test_runs_and_logs_are_read_from_the_store(client: TestClient, store: Store) -> None:
    manifest = {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {"name": "build-1"},
        "status": {},
    }
    store.put("PipelineRun", "build-1", {"manifest": manifest}, labels={"tekton.dev/pipeline": "build"})
    store.put(
        "TaskRun",
        "build-1-t",
        {"manifest": {"kind": "TaskRun"}},
        labels={"tekton.dev/pipelineRun": "build-1"},
    )
    store.append_log("build-1", "t/step", ["hello", "world"])
    listed = client.get("/api/pipelineruns").json()
    assert listed["kind"] == "PipelineRunList" and listed["items"] == [manifest]
    assert client.get("/api/pipelineruns/build-1").json() == manifest
    assert client.get("/api/pipelineruns/build-1/taskruns").json()["items"] == [{"kind": "TaskRun"}]
    lines = client.get("/api/pipelineruns/build-1/logs").json()["lines"]
    assert [line["text"] for line in lines] == ["hello", "world"]
    assert client.get("/api/pipelineruns/build-1/logs?format=text").text == "[t/step] hello\n[t/step] world\n"
    assert client.get("/api/pipelineruns/build-1/logs?after=1").json()["lines"][0]["text"] == "world"
    missing = client.get("/api/pipelineruns/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["message"]


def test_applications_refresh_and_sync(client: TestClient, apps: FakeApps) -> None:
    names = [item["metadata"]["name"] for item in client.get("/api/applications").json()["items"]]
    assert names == ["dev", "head", "other", "prod"]
    assert client.get("/api/applications/dev").json()["status"]["health"]["status"] == "Healthy"
    assert client.get("/api/applications/nope").status_code == 404
    assert client.post("/api/applications/dev/refresh").status_code == 202
    assert client.post("/api/applications/dev/refresh?wait=true").status_code == 200
    assert apps.refreshed == [["dev"], ["dev"]]
    started = client.post(
        "/api/applications/dev/sync", json={"prune": True, "resources": ["apps:Deployment:web"]}
    )
    assert started.status_code == 202
    name, request = apps.synced[0]
    assert (name, request.prune, [str(r) for r in request.resources]) == (
        "dev",
        True,
        ["apps:Deployment:web"],
    )
    assert client.post("/api/applications/dev/sync?wait=true").json()["phase"] == "Succeeded"
    apps.busy.add("dev")
    assert client.post("/api/applications/dev/sync").status_code == 409
    bad = client.post("/api/applications/dev/sync", json={"prune": "maybe"})
    assert bad.status_code == 400 and bad.json()["message"] == "invalid request"


def test_trace_health_and_metrics(client: TestClient, launcher: FakeLauncher) -> None:
    body = github_push()
    assert _hook(client, body, github_headers(body))[0] == 202
    trace = client.get(f"/api/trace/{SHA[:8]}").json()
    assert trace["sourceCommit"] == SHA
    assert [h["hop"] for h in trace["hops"]] == ["commit", "push", "pipelinerun"]
    assert client.get("/api/trace/ffffffff").status_code == 404
    assert client.get("/api/trace/zz").status_code == 400
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["listeners"] == ["github", "gitlab"]
    metrics = client.get("/metrics").text
    assert 'gitloop_webhook_requests_total{code="202",endpoint="hooks"} 1.0' in metrics


def test_an_api_token_guards_the_api_but_not_the_webhooks(server: Server, launcher: FakeLauncher) -> None:
    from gitloop.api.app import create_app

    guarded = dataclasses.replace(server, api_token=b"t0ken", access_control=None)  # the config's defaults
    with TestClient(create_app(guarded)) as client:
        assert client.get("/api/pipelineruns").status_code == 401
        assert client.get("/metrics").status_code == 401
        assert client.get("/api/pipelineruns", headers={"Authorization": "Bearer t0ken"}).status_code == 200
        body = github_push()
        assert client.post("/hooks/github", content=body, headers=github_headers(body)).status_code == 202
        assert client.get("/healthz").status_code == 200


def test_secrets_and_bodies_never_reach_the_log(client: TestClient, caplog) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    body = github_push(message="the body says hunter2")
    client.post("/hooks/github", content=body, headers=github_headers(body))
    client.post("/hooks/github", content=body, headers=github_headers(body, secret="wrong"))
    gitlab = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "my-leaked-token"}
    client.post("/hooks/gitlab", content=body, headers=gitlab)
    text = caplog.text
    assert "hook github: 202" in text and "hook github: 401" in text
    for secret in ("hunter2", "github-hook-secret", "gitlab-hook-token", "my-leaked-token", sign(body)):
        assert secret not in text


def test_bad_queries_and_oversized_bodies_on_any_route(client: TestClient) -> None:
    assert client.get("/api/pipelineruns?limit=0").status_code == 400
    assert client.get("/api/pipelineruns/x/logs?format=xml").status_code == 400
    big = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    response = client.post(
        "/api/applications/dev/sync", content=big, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert client.post("/api/webhook", content=big).status_code == 413
    assert client.get("/no/such/route").json() == {"message": "Not Found"}
    assert client.delete("/healthz").status_code == 405
