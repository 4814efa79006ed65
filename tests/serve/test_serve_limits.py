"""Requests are bounded and refusals are counted: the serve configuration's read timeouts, the protocol
that bounds the request head, the refusal counter of ``/metrics``, the webhook's log line for a
duplicate delivery. The abuse itself is sent over real sockets to a real ``gitloop serve`` process in
``test_serve_abuse.py``."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_fakes import FakeLauncher, github_headers, github_push, refused_counts
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gitloop.api.metrics import refusal_reason
from gitloop.api.protocol import OVERRIDDEN
from gitloop.errors import SpecError
from gitloop.spec.serveconfig import DEFAULT_READ_BODY_TIMEOUT, DEFAULT_READ_HEADER_TIMEOUT, load


def _load(tmp_path: Path, text: str) -> tuple[float, float]:
    path = tmp_path / "serve.yaml"
    path.write_text(textwrap.dedent(text))
    config = load(path)
    return config.read_header_timeout, config.read_body_timeout


def test_read_timeouts_default_to_10s_and_30s_and_are_read_as_durations(tmp_path: Path) -> None:
    assert _load(tmp_path, "{}\n") == (DEFAULT_READ_HEADER_TIMEOUT, DEFAULT_READ_BODY_TIMEOUT) == (10.0, 30.0)
    assert _load(tmp_path, "readHeaderTimeout: 1m\nreadBodyTimeout: 500ms\n") == (60.0, 0.5)


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("readHeaderTimeout: 0\n", ":1: ServeConfig: readHeaderTimeout", "must be more than 0"),
        ("readBodyTimeout: 0s\n", ":1: ServeConfig: readBodyTimeout", "must be more than 0"),
        ("readHeaderTimeout: -1s\n", ":1: ServeConfig: readHeaderTimeout", ">= 0"),
        ("readBodyTimeout: soon\n", ":1: ServeConfig: readBodyTimeout", "invalid duration"),
        ("readBodyTimeout: 30\n", ":1: ServeConfig: readBodyTimeout", "must be a duration"),
    ],
)
def test_a_read_timeout_must_be_a_positive_duration(
    tmp_path: Path, text: str, where: str, message: str
) -> None:
    with pytest.raises(SpecError) as caught:
        _load(tmp_path, text)
    assert where in str(caught.value) and message in str(caught.value), str(caught.value)


def test_the_protocol_overrides_only_what_uvicorn_has() -> None:
    """The guarded protocol hooks into these methods of uvicorn's; an upgrade that renames one fails
    here instead of silently losing the header timeout."""
    for name in OVERRIDDEN:
        assert callable(getattr(HttpToolsProtocol, name, None)), name


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (200, None),
        (202, None),
        (400, "bad-request"),
        (401, "unauthorized"),
        (404, "not-found"),
        (405, "method-not-allowed"),
        (408, "body-timeout"),
        (409, "conflict"),
        (413, "too-large"),
        (418, "client-error"),
        (499, "aborted"),
        (500, None),
    ],
)
def test_refusal_reasons(code: int, reason: str | None) -> None:
    assert refusal_reason(code) == reason


def test_metrics_count_refused_requests_on_every_route(client: TestClient) -> None:
    body = github_push()
    assert (
        client.post("/hooks/github", content=body, headers=github_headers(body, secret="x")).status_code
        == 401
    )
    junk = b"not json"
    assert client.post("/hooks/github", content=junk, headers=github_headers(junk)).status_code == 400
    big = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    assert client.post("/api/webhook", content=big).status_code == 413
    assert client.get("/no/such/route").status_code == 404
    assert client.get("/hooks/github").status_code == 405
    assert client.post("/hooks/nope", content=body).status_code == 404
    assert client.get("/healthz").status_code == 200
    assert refused_counts(client.get("/metrics").text) == {
        ("unauthorized", "401"): 1.0,
        ("bad-request", "400"): 1.0,
        ("too-large", "413"): 1.0,
        ("not-found", "404"): 2.0,
        ("method-not-allowed", "405"): 1.0,
    }


def test_the_log_line_of_a_duplicate_delivery_says_nothing_was_created(
    client: TestClient, launcher: FakeLauncher, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gitloop.serve")
    body = github_push()
    headers = github_headers(body, delivery="delivered-once")
    assert client.post("/hooks/github", content=body, headers=headers).status_code == 202
    [first] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("hook github")]
    assert f"created PipelineRun/{launcher.names()[0]}" in first
    caplog.clear()
    replay = client.post("/hooks/github", content=body, headers=headers)
    assert replay.json()["message"] == "duplicate delivery"
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("hook github")]
    assert "hook github: 200" in line and "delivery=delivered-once" in line
    assert "duplicate delivery: nothing created" in line
    assert "created PipelineRun" not in line and "PipelineRun/" not in line, line
    assert len(launcher.launched) == 1
