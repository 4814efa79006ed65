"""The served notifications (``gitloop.service.server.notifications``) without a cluster: a PipelineRun
that ends, told from a worker thread as ``PipelinesLauncher.finished`` tells it, reaches a real HTTP
receiver through the default subscriptions; the worker retries after its backoff and, at shutdown,
leaves what is not due pending in the store."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from notify_receivers import HttpReceiver, serve_http

from gitloop.lineage import Lineage, RunSource
from gitloop.notify.deliveries import PENDING, SENT, DeliveryBook
from gitloop.service.server.notifications import served_url, start_notifications
from gitloop.spec.serveconfig import ServeConfig, load
from gitloop.store.sql import open_store


def _config(tmp_path: Path, url: str, retries: int = 4) -> ServeConfig:
    path = tmp_path / "serve.yaml"
    path.write_text(
        "listen: 127.0.0.1:8089\n"
        "notifications:\n"
        f"  services:\n    hook: {{type: webhook, url: '{url}', retries: {retries}}}\n"
        "  defaultSubscriptions:\n"
        "    - {triggers: [on-pipeline-failed, on-pipeline-succeeded], recipients: ['hook:ci']}\n"
    )
    return load(path)


def _run(name: str, status: str) -> dict[str, Any]:
    condition = {"type": "Succeeded", "status": status, "reason": "Failed", "message": "step build failed"}
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {"name": name},
        "status": {"conditions": [condition]},
    }


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    yield from serve_http(HttpReceiver(statuses=[500, 200]))


def test_pipeline_run_ends_are_delivered_and_retried(tmp_path: Path, receiver: HttpReceiver) -> None:
    config = _config(tmp_path, receiver.url)
    assert served_url(config) == "http://127.0.0.1:8089"
    store = open_store(str(tmp_path / "gitloop.db"))

    async def scenario() -> None:
        served = await start_notifications(config, store, Lineage(store))
        assert served is not None
        source = RunSource("a" * 40)
        told = threading.Thread(
            target=served.run_finished, args=("build-1", _run("build-1", "False"), source)
        )
        told.start()
        told.join()
        served.run_finished("build-1", _run("build-1", "False"), source)  # told twice: sent once
        await asyncio.to_thread(receiver.wait_for, 2, 10.0)  # a 500, then the retry 1 s later
        await served.stop(5.0)

    try:
        asyncio.run(scenario())
        bodies = [r.json() for r in receiver.requests]
        assert [b["trigger"] for b in bodies] == ["on-pipeline-failed", "on-pipeline-failed"]
        assert bodies[0]["recipient"] == "ci" and bodies[0]["title"] == "PipelineRun build-1 failed."
        assert f"Source commit {'a' * 40}." in bodies[0]["body"]
        (delivery,) = DeliveryBook(store, lambda: 0.0).listed()
        assert (delivery.state, delivery.attempts) == (SENT, 2)
    finally:
        store.close()


@pytest.fixture
def refusing() -> Iterator[HttpReceiver]:
    yield from serve_http(HttpReceiver(statuses=[503]))


def test_shutdown_leaves_what_is_not_due_pending(tmp_path: Path, refusing: HttpReceiver) -> None:
    config = _config(tmp_path, refusing.url)
    store = open_store(str(tmp_path / "gitloop.db"))

    async def scenario() -> None:
        served = await start_notifications(config, store, Lineage(store))
        assert served is not None
        served.run_finished("build-2", _run("build-2", "True"), None)
        await asyncio.to_thread(refusing.wait_for, 1, 10.0)
        await served.stop(0.5)

    try:
        asyncio.run(scenario())
        (delivery,) = DeliveryBook(store, lambda: 0.0).listed()
        assert (delivery.trigger, delivery.state, delivery.attempts) == ("on-pipeline-succeeded", PENDING, 1)
        assert "HTTP 503" in delivery.last_error
    finally:
        store.close()


@pytest.fixture
def accepting() -> Iterator[HttpReceiver]:
    yield from serve_http(HttpReceiver(statuses=[200]))


def test_a_pending_delivery_is_sent_after_a_restart_and_no_secret_is_stored(
    tmp_path: Path, refusing: HttpReceiver, accepting: HttpReceiver
) -> None:
    token = "tok-" + "9" * 24
    url_file = tmp_path / "hook-url"
    path = tmp_path / "serve.yaml"

    def config(url: str) -> ServeConfig:
        url_file.write_text(f"{url}?token={token}\n")
        path.write_text(
            "notifications:\n  services:\n    hook: {type: webhook, urlFile: hook-url}\n"
            "  defaultSubscriptions:\n    - {triggers: [on-pipeline-failed], recipients: [hook]}\n"
        )
        return load(path)

    database = tmp_path / "gitloop.db"

    async def serve(url: str, receiver: HttpReceiver, told: bool) -> None:
        store = open_store(str(database))
        try:
            served = await start_notifications(config(url), store, Lineage(store))
            assert served is not None
            if told:
                served.run_finished("build-3", _run("build-3", "False"), None)
            await asyncio.to_thread(receiver.wait_for, 1, 10.0)
            await served.stop(0.2)
        finally:
            store.close()

    asyncio.run(serve(refusing.url, refusing, told=True))  # the first server: 503, then it stops
    asyncio.run(serve(accepting.url, accepting, told=False))  # the next start sends it
    assert [r.json()["trigger"] for r in accepting.requests] == ["on-pipeline-failed"]
    assert accepting.requests[0].path.endswith(token)
    store = open_store(str(database))
    try:
        (delivery,) = DeliveryBook(store, lambda: 0.0).listed()
        assert (delivery.state, delivery.attempts) == (SENT, 2)
    finally:
        store.close()
    for kept in tmp_path.glob("gitloop.db*"):  # the database and any journal beside it
        assert token.encode() not in kept.read_bytes(), kept
