"""Fixtures of the ``gitloop serve`` tests: a Server on a SQLite store with fake engines, its FastAPI
app behind a TestClient, and a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_fakes import FakeApps, FakeLauncher, listeners, open_access
from serve_pg import Postgres, running_postgres

from gitloop.api.app import create_app
from gitloop.lineage import Lineage
from gitloop.ports import Store
from gitloop.service.server import Server
from gitloop.store import open_store

WEBHOOK_SECRET = b"refresh-webhook-secret"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(str(tmp_path / "gitloop.db"))
    yield opened
    opened.close()


@pytest.fixture
def launcher() -> FakeLauncher:
    return FakeLauncher()


@pytest.fixture
def apps() -> FakeApps:
    return FakeApps(
        {
            "dev": [("http://git.example.com/team/app-config.git", "main")],
            "prod": [("git@git.example.com:team/app-config.git", "release")],
            "head": [("https://GIT.example.com/team/app-config", "HEAD")],
            "other": [("http://git.example.com/team/other.git", "main")],
        }
    )


@pytest.fixture
def server(store: Store, launcher: FakeLauncher, apps: FakeApps) -> Server:
    return Server(
        store,
        listeners(launcher),
        Lineage(store),
        apps,
        max_body_bytes=1024 * 1024,
        webhook_secret=WEBHOOK_SECRET,
        access_control=open_access(store),
    )


@pytest.fixture
def client(server: Server) -> Iterator[TestClient]:
    with TestClient(create_app(server), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    with running_postgres() as server:
        yield server
