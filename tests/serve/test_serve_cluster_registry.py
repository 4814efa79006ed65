"""The cluster registry without a cluster: the connection-state rule (tables), configured clusters from a
kubeconfig's contexts with the serve config's labels and ``server``, clusters added and removed through
the registry and ``/api/v1/clusters`` (kept in a real SQLite store without a credential, registered
again at start), and a probe of an API server that refuses connections."""

from __future__ import annotations

import asyncio
import socket
import stat
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from serve_fakes import open_access

from gitloop.api.app import create_app
from gitloop.errors import UsageError
from gitloop.lineage import Lineage
from gitloop.ports import Store
from gitloop.service.clusters import (
    FAILED,
    RECORD_KIND,
    SUCCESSFUL,
    ClusterExists,
    ClusterRegistry,
    ConnectionState,
    connection_state,
    server_version,
)
from gitloop.service.server import Server
from gitloop.spec.argocd import Destination
from gitloop.spec.serveconfig import ClusterConfig
from gitloop.store import open_store

TOKEN = "s3cret-cluster-token"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _kubeconfig(path: Path, contexts: Mapping[str, str], current: str) -> Path:
    """A kubeconfig with one context, cluster and (token) user per name, at the given server URLs."""
    lines = ["apiVersion: v1", "kind: Config", f"current-context: {current}", "contexts:"]
    lines += [f"- {{name: {n}, context: {{cluster: {n}-c, user: {n}-u}}}}" for n in contexts]
    lines += ["clusters:"] + [f"- {{name: {n}-c, cluster: {{server: '{u}'}}}}" for n, u in contexts.items()]
    lines += ["users:"] + [f"- {{name: {n}-u, user: {{token: {TOKEN}}}}}" for n in contexts]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(str(tmp_path / "gitloop.db"))
    yield opened
    opened.close()


@pytest.fixture
def registry(tmp_path: Path, store: Store) -> ClusterRegistry:
    dead = f"https://127.0.0.1:{_closed_port()}"
    base = _kubeconfig(tmp_path / "base.yaml", {"first": dead, "second": "https://10.0.0.2:6443"}, "first")
    configured = [
        ClusterConfig("first", base, "first", labels=(("env", "dev"),), project="team"),
        ClusterConfig("second", base, "second", server="https://prod.example.com"),
    ]
    return ClusterRegistry.served(configured, store, tmp_path / "kube")


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        ({"major": "1", "minor": "29"}, "1.29"),
        ({"major": "1", "minor": "29+", "gitVersion": "v1.29.3-gke.1"}, "1.29"),
        ({"gitVersion": "v1.31.0"}, "1.31"),
        ({"major": "", "minor": "", "gitVersion": "1.30.2"}, "1.30"),
        ({"gitVersion": "unknown"}, ""),
        ({}, ""),
    ],
)
def test_the_server_version_is_major_dot_minor(answer: dict[str, str], shown: str) -> None:
    assert server_version(answer) == shown


@pytest.mark.parametrize(
    ("answer", "error", "expected"),
    [
        ({"major": "1", "minor": "29"}, "", ConnectionState(SUCCESSFUL, "", 5.0, "1.29")),
        (None, "connection refused", ConnectionState(FAILED, "connection refused", 5.0)),
        ({"major": "1", "minor": "29"}, "no answer in 5s", ConnectionState(FAILED, "no answer in 5s", 5.0)),
        ({"kind": "Status"}, "", ConnectionState(FAILED, "the API server's /version names no version", 5.0)),
    ],
)
def test_the_connection_state_rule(
    answer: dict[str, str] | None, error: str, expected: ConnectionState
) -> None:
    assert connection_state(answer, error, 5.0) == expected


def test_configured_clusters_come_from_the_kubeconfig_and_the_serve_config(registry: ClusterRegistry) -> None:
    first, second = registry.refs()
    assert (first.name, dict(first.labels), first.project) == ("first", {"env": "dev"}, "team")
    assert first.server.startswith("https://127.0.0.1:")
    assert (second.name, second.server) == ("second", "https://prod.example.com")
    assert registry.clusters() == registry.refs()
    in_cluster = registry.get("in-cluster")
    assert in_cluster is not None and in_cluster.ref.name == "first"
    by_url = registry.get("https://kubernetes.default.svc")
    assert by_url is not None and by_url.ref.name == "first"
    by_server = registry.get("https://prod.example.com/")
    assert by_server is not None and by_server.ref.name == "second"
    assert registry.get("third") is None
    destinations = [Destination(name="in-cluster"), Destination(name="second"), Destination(name="x")]
    assert registry.counts(destinations) == {"first": 1, "second": 1}
    with pytest.raises(UsageError, match="serve config"):
        asyncio.run(registry.remove("second"))


def test_added_clusters_are_kept_without_credentials_and_registered_again(
    registry: ClusterRegistry, store: Store, tmp_path: Path
) -> None:
    other = _kubeconfig(tmp_path / "other.yaml", {"ctx": "https://10.0.0.3:6443"}, "ctx")
    added = registry.add("third", str(other), "ctx", labels={"env": "prod"}, annotations={"a": "b"})
    assert added.ref.server == "https://10.0.0.3:6443" and added.added
    private = Path(str(added.kubeconfig))
    assert stat.S_IMODE(private.stat().st_mode) == 0o600 and private.is_relative_to(tmp_path / "kube")
    [record] = store.query(RECORD_KIND)
    assert record.doc == {
        "name": "third",
        "kubeconfig": str(other),
        "context": "ctx",
        "labels": {"env": "prod"},
        "annotations": {"a": "b"},
        "project": "",
    }
    assert [r.name for r in registry.refs()] == ["first", "second", "third"]
    with pytest.raises(ClusterExists, match="already"):
        registry.add("third", str(other), "ctx")
    with pytest.raises(ClusterExists, match="serve config"):
        registry.add("first", str(other), "ctx")
    with pytest.raises(ClusterExists, match="third"):
        registry.add("fourth", str(other), "ctx")  # the same server under another name
    replaced = registry.add("third", str(other), "ctx", labels={"env": "qa"}, upsert=True)
    assert dict(replaced.ref.labels) == {"env": "qa"} and not private.exists()

    again = ClusterRegistry.served([], store, tmp_path / "kube-again")
    [restored] = [e for e in again.entries() if e.added]
    assert (restored.ref.name, dict(restored.ref.labels), restored.broken) == ("third", {"env": "qa"}, "")
    asyncio.run(registry.remove("https://10.0.0.3:6443"))
    assert store.query(RECORD_KIND) == [] and registry.get("third") is None


@pytest.mark.parametrize(
    ("path", "context", "message"),
    [
        ("missing.yaml", "ctx", "cannot read the kubeconfig"),
        ("bad.yaml", "ctx", "not a kubeconfig (invalid YAML)"),
        ("other.yaml", "nope", "no context named 'nope'"),
        ("relative", "ctx", "is not an absolute path"),
    ],
)
def test_a_kubeconfig_that_cannot_be_used_is_refused_without_its_content(
    registry: ClusterRegistry, tmp_path: Path, path: str, context: str, message: str
) -> None:
    _kubeconfig(tmp_path / "other.yaml", {"ctx": "https://10.0.0.3:6443"}, "ctx")
    (tmp_path / "bad.yaml").write_text(f"token: {TOKEN}\n  : [\n")
    given = path if path == "relative" else str(tmp_path / path)
    with pytest.raises(UsageError) as caught:
        registry.add("third", given, context)
    assert message in str(caught.value) and TOKEN not in str(caught.value)


def test_an_unreachable_api_server_is_failed_with_the_reason(registry: ClusterRegistry) -> None:
    assert registry.state("first").status == "Unknown"

    async def probe() -> ConnectionState:
        try:
            first = registry.get("first")
            assert first is not None
            return await registry.probe(first, timeout=5.0)
        finally:
            await registry.close()

    state = asyncio.run(probe())
    assert state.status == FAILED and state.message and state.attempted_at is not None
    assert registry.state("first") == state


def _api(registry: ClusterRegistry, store: Store) -> TestClient:
    server = Server(store, {}, Lineage(store), clusters=registry, access_control=open_access(store))
    return TestClient(create_app(server), raise_server_exceptions=False)


def _error(answer: Any, status: int) -> str:
    assert answer.status_code == status, answer.text
    return str(answer.json()["message"])


def test_the_api_registers_lists_relabels_and_removes(
    registry: ClusterRegistry, store: Store, tmp_path: Path
) -> None:
    other = _kubeconfig(tmp_path / "other.yaml", {"ctx": f"https://127.0.0.1:{_closed_port()}"}, "ctx")
    body = {
        "name": "third",
        "labels": {"env": "prod"},
        "config": {"kubeconfig": str(other), "context": "ctx"},
    }
    with _api(registry, store) as client:
        created = client.post("/api/v1/clusters", json=body)
        assert created.status_code == 200, created.text
        shown = created.json()
        assert (shown["name"], shown["labels"], shown["config"]) == ("third", {"env": "prod"}, {})
        assert shown["connectionState"]["status"] == FAILED and shown["info"]["applicationsCount"] == 0
        assert "third" in _error(client.post("/api/v1/clusters", json=body), 409)
        assert client.post("/api/v1/clusters?upsert=true", json=body).status_code == 200
        listed = client.get("/api/v1/clusters").json()
        assert [c["name"] for c in listed["items"]] == ["first", "second", "third"]
        assert all(c["connectionState"]["status"] == FAILED for c in listed["items"][:1])
        server = quote(shown["server"], safe="")
        assert client.get(f"/api/v1/clusters/{server}").json()["name"] == "third"
        relabelled = client.put("/api/v1/clusters/third", json={"labels": {"env": "qa"}}).json()
        assert relabelled["labels"] == {"env": "qa"}
        assert "serve config" in _error(client.put("/api/v1/clusters/first", json={"labels": {}}), 400)
        unreadable = {**body, "name": "x", "config": {"kubeconfig": str(tmp_path / "none"), "context": "c"}}
        assert "cannot read the kubeconfig" in _error(client.post("/api/v1/clusters", json=unreadable), 400)
        assert "kubeconfig" in _error(client.post("/api/v1/clusters", json={"name": "y"}), 400)
        assert "token" in _error(client.post("/api/v1/clusters", json={**body, "token": "t"}), 400)
        assert client.delete(f"/api/v1/clusters/{server}").json() == {}
        assert "third" in _error(client.get("/api/v1/clusters/third"), 404)
        assert "third" in _error(client.delete("/api/v1/clusters/third"), 404)
    text = "\n".join(str(r.doc) for r in store.query(RECORD_KIND))
    assert TOKEN not in text


def test_a_server_without_the_registry_lists_no_cluster(store: Store) -> None:
    server = Server(store, {}, Lineage(store), access_control=open_access(store))
    with TestClient(create_app(server), raise_server_exceptions=False) as client:
        assert client.get("/api/v1/clusters").json() == {"metadata": {}, "items": []}
        assert client.get("/api/v1/clusters/x").status_code == 404


def test_serve_config_cluster_keys(tmp_path: Path) -> None:
    from gitloop.errors import SpecError
    from gitloop.spec.serveconfig import load

    config = tmp_path / "serve.yaml"
    config.write_text(
        textwrap.dedent("""\
            clusters:
              - name: dev
                server: https://dev.example.com
                labels: {env: dev}
                annotations: {team: a}
                project: shop
            """)
    )
    [dev] = load(config).clusters
    assert (dev.server, dev.labels, dev.annotations, dev.project) == (
        "https://dev.example.com",
        (("env", "dev"),),
        (("team", "a"),),
        "shop",
    )
    for text, where in (
        ("clusters:\n  - {name: a, server: dev.example.com}\n", "clusters[0].server"),
        ("clusters:\n  - {name: a, server: 'https://u:p@h'}\n", "clusters[0].server"),
        ("clusters:\n  - {name: a, labels: [x]}\n", "clusters[0].labels"),
        ("clusters:\n  - {name: a, token: x}\n", "clusters[0]"),
    ):
        config.write_text(text)
        with pytest.raises(SpecError) as caught:
            load(config)
        assert f"serve.yaml:2: ServeConfig: {where}" in str(caught.value), str(caught.value)
