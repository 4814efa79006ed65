"""The server on a real PostgreSQL store: two replicas share replay protection and lineage, and a
``gitloop serve --database-url postgresql://...`` process runs a PipelineRun whose status, logs and
lineage land in PostgreSQL (the password never shown)."""

from __future__ import annotations

import subprocess
import textwrap
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_fakes import (
    SHA,
    TESTDATA,
    FakeApps,
    FakeLauncher,
    github_headers,
    github_push,
    listeners,
    open_access,
)
from serve_pg import PASSWORD, Postgres
from serve_process import GITLOOP, ServeProcess, serve_env

from gitloop.api.app import create_app
from gitloop.lineage import Lineage
from gitloop.service.server import Server
from gitloop.service.server.deliveries import StoreDeliveryLog
from gitloop.store import open_store

pytestmark = pytest.mark.integration


def test_two_replicas_share_deliveries_and_lineage(postgres: Postgres) -> None:
    url = postgres.new_database()
    stores = [open_store(url), open_store(url)]
    launchers = [FakeLauncher(), FakeLauncher()]
    try:
        replicas = [
            Server(
                store, listeners(launcher), Lineage(store), FakeApps({}), access_control=open_access(store)
            )
            for store, launcher in zip(stores, launchers, strict=True)
        ]
        body = github_push()
        headers = github_headers(body, delivery="shared-delivery")
        with TestClient(create_app(replicas[0])) as first, TestClient(create_app(replicas[1])) as second:
            assert first.post("/hooks/github", content=body, headers=headers).status_code == 202
            replay = second.post("/hooks/github", content=body, headers=headers)
            assert (replay.status_code, replay.json()["message"]) == (200, "duplicate delivery")
            trace = second.get(f"/api/trace/{SHA}").json()
            assert [hop["hop"] for hop in trace["hops"]] == ["commit", "push", "pipelinerun"]
        assert len(launchers[0].launched) == 1 and launchers[1].launched == []
    finally:
        for store in stores:
            store.close()


def test_concurrent_claims_on_postgresql_have_one_winner(postgres: Postgres) -> None:
    url = postgres.new_database()
    stores = [open_store(url) for _ in range(4)]
    try:
        logs = [StoreDeliveryLog(store) for store in stores]
        wins: list[bool] = []
        barrier = threading.Barrier(12)

        def claim(log: StoreDeliveryLog) -> None:
            barrier.wait()
            wins.append(log.claim("github", "raced"))

        threads = [threading.Thread(target=claim, args=(logs[i % 4],)) for i in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(wins) == [False] * 11 + [True]
    finally:
        for store in stores:
            store.close()


def test_serve_runs_a_pipeline_with_its_store_on_postgresql(postgres: Postgres, tmp_path: Path) -> None:
    url = postgres.new_database()
    config = tmp_path / "serve.yaml"
    config.write_text(
        textwrap.dedent(f"""\
            listen: 127.0.0.1:0
            eventListeners:
              - name: github
                triggers: [{TESTDATA / "listeners.yaml"}]
                pipelines: [{TESTDATA / "pipeline.yaml"}]
                secrets: [{TESTDATA / "secrets.yaml"}]
            """)
    )
    with (
        ServeProcess(config, serve_env(tmp_path / "state"), "--database-url", url) as serve,
        serve.client() as client,
    ):
        body = github_push()
        response = client.post("/hooks/github", content=body, headers=github_headers(body))
        assert response.status_code == 202, response.text
        name = response.json()["created"][0]["name"]
        deadline = time.monotonic() + 60
        while (
            client.get(f"/api/pipelineruns/{name}").json()["status"]["conditions"][0]["reason"] != "Succeeded"
        ):
            assert time.monotonic() < deadline, serve.output()
            time.sleep(0.1)
        assert serve.stop() == 0
    assert PASSWORD not in serve.output()
    assert not (tmp_path / "state" / "gitloop.db").exists()  # nothing went to the default SQLite file
    store = open_store(url)
    try:
        record = store.get("PipelineRun", name)
        assert record is not None
        assert any("building" in line.text for line in store.read_log(name))
    finally:
        store.close()
    shown = subprocess.run(
        [GITLOOP, "trace", SHA[:8], "--database-url", url],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "run finished" in shown and f"{name} Succeeded" in shown
