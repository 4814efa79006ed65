"""The ``Store`` contract, one suite for every implementation: ``MemoryStore``, ``SqlStore`` on a SQLite
file, and ``SqlStore`` on a real PostgreSQL server (see store_backends.py). Logs: test_store_logs.py.
"""

from __future__ import annotations

import itertools
import math
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import store_backends
from store_backends import INTEGRATION, PG_PASSWORD, PG_USER, Opener, PostgresServer

from gitloop.errors import GitloopError
from gitloop.ports import Store
from gitloop.store import open_store

# The fixtures this module's tests use (see store_backends).
postgres_server = store_backends.postgres_server
open_any = store_backends.open_any
open_persistent = store_backends.open_persistent
store = store_backends.store


# --- records -------------------------------------------------------------------------------------


def test_put_then_get_returns_the_record(store: Store) -> None:
    store.put("PipelineRun", "build-1", {"status": "Running"}, labels={"pipeline": "build"})
    got = store.get("PipelineRun", "build-1")
    assert got is not None
    assert (got.kind, got.name, got.doc, got.labels) == (
        "PipelineRun",
        "build-1",
        {"status": "Running"},
        {"pipeline": "build"},
    )
    assert got.created == got.updated
    assert store.get("PipelineRun", "missing") is None
    assert store.get("TaskRun", "build-1") is None  # kinds are separate namespaces


def test_put_replaces_doc_keeps_created_and_keeps_labels_unless_given(store: Store) -> None:
    store.put("PipelineRun", "r", {"status": "Running"}, labels={"pipeline": "build"})
    first = store.get("PipelineRun", "r")
    store.put("PipelineRun", "r", {"status": "Succeeded"})
    second = store.get("PipelineRun", "r")
    assert first is not None and second is not None
    assert second.doc == {"status": "Succeeded"}
    assert second.labels == {"pipeline": "build"}
    assert second.created == first.created
    assert second.updated > first.updated
    store.put("PipelineRun", "r", {"status": "Succeeded"}, labels={"team": "a"})
    assert store.query("PipelineRun", labels={"pipeline": "build"}) == []
    assert [o.name for o in store.query("PipelineRun", labels={"team": "a"})] == ["r"]
    store.put("PipelineRun", "r", {}, labels={})
    third = store.get("PipelineRun", "r")
    assert third is not None and third.labels == {} and third.doc == {}
    assert store.query("PipelineRun", labels={"team": "a"}) == []


def test_query_filters_by_exact_label_matches(store: Store) -> None:
    store.put("TaskRun", "a", {}, labels={"pipeline": "build", "task": "compile"})
    store.put("TaskRun", "b", {}, labels={"pipeline": "build", "task": "test"})
    store.put("TaskRun", "c", {}, labels={"pipeline": "deploy", "task": "compile"})
    store.put("TaskRun", "d", {})
    store.put("PipelineRun", "a", {}, labels={"pipeline": "build"})

    def names(labels: dict[str, str] | None) -> set[str]:
        return {o.name for o in store.query("TaskRun", labels=labels)}

    assert names(None) == {"a", "b", "c", "d"}
    assert names({}) == {"a", "b", "c", "d"}
    assert names({"pipeline": "build"}) == {"a", "b"}
    assert names({"pipeline": "build", "task": "compile"}) == {"a"}
    assert names({"task": "compile"}) == {"a", "c"}
    assert names({"pipeline": "Build"}) == set()
    assert names({"other": "x"}) == set()
    assert store.query("Nothing") == []


def test_query_is_newest_created_first_and_replacing_keeps_the_place(store: Store) -> None:
    for name in ["first", "second", "third"]:
        store.put("PipelineRun", name, {"n": name})
    store.put("PipelineRun", "first", {"n": "updated later"})
    assert [o.name for o in store.query("PipelineRun")] == ["third", "second", "first"]


def test_query_ties_in_creation_time_list_the_later_insert_first(open_any: Opener) -> None:
    store = open_any(clock=lambda: 42.0)
    for name in ["a", "b", "c"]:
        store.put("SyncOperation", name, {})
    assert [o.name for o in store.query("SyncOperation")] == ["c", "b", "a"]


def test_query_limit(store: Store) -> None:
    for i in range(5):
        store.put("PipelineRun", f"r{i}", {"i": i}, labels={"even": str(i % 2 == 0)})
    assert [o.name for o in store.query("PipelineRun", limit=2)] == ["r4", "r3"]
    assert [o.name for o in store.query("PipelineRun", labels={"even": "True"}, limit=2)] == ["r4", "r2"]
    assert store.query("PipelineRun", limit=0) == []
    assert len(store.query("PipelineRun", limit=50)) == 5
    with pytest.raises(ValueError, match="negative"):
        store.query("PipelineRun", limit=-1)


def test_delete_removes_the_record_its_labels_and_its_logs(store: Store) -> None:
    store.put("PipelineRun", "r1", {}, labels={"pipeline": "build"})
    store.put("PipelineRun", "r2", {})
    store.append_log("r1", "build/step-compile", ["one", "two"])
    store.append_log("r2", "build/step-compile", ["kept"])
    assert store.delete("PipelineRun", "r1") is True
    assert store.get("PipelineRun", "r1") is None
    assert list(store.read_log("r1")) == []
    assert [line.text for line in store.read_log("r2")] == ["kept"]
    assert store.delete("PipelineRun", "r1") is False
    assert store.delete("TaskRun", "r2") is False
    assert [line.text for line in store.read_log("r2")] == ["kept"]
    store.put("PipelineRun", "r1", {})  # a new record of the same name carries no old labels
    assert store.query("PipelineRun", labels={"pipeline": "build"}) == []
    got = store.get("PipelineRun", "r1")
    assert got is not None and got.labels == {}


# --- history -------------------------------------------------------------------------------------


def test_history_ids_increase_per_owner_from_zero(store: Store) -> None:
    assert store.history("app-a") == []
    assert [store.append_history("app-a", {"revision": r}) for r in ["r1", "r2", "r3"]] == [0, 1, 2]
    assert store.append_history("app-b", {"revision": "x"}) == 0
    entries = store.history("app-a")
    assert [(e.id, e.owner, e.doc) for e in entries] == [
        (0, "app-a", {"revision": "r1"}),
        (1, "app-a", {"revision": "r2"}),
        (2, "app-a", {"revision": "r3"}),
    ]
    assert entries[0].time < entries[1].time < entries[2].time
    assert [e.id for e in store.history("app-b")] == [0]


# --- documents -----------------------------------------------------------------------------------

NESTED: dict[str, object] = {
    "apiVersion": "tekton.dev/v1",
    "status": {
        "conditions": [{"type": "Succeeded", "status": "True", "reason": "Succeeded"}],
        "childReferences": [{"name": "build-1-compile", "pipelineTaskName": "compile"}],
        "results": [{"name": "digest", "value": "sha256:" + "ab" * 32}],
    },
    "numbers": [0, -1, 2**53, 3.25, 1e-9],
    "flags": [True, False, None],
    "text": 'ünïcödé "quoted" \\ back\nslash\ttab',
    "empty": {"list": [], "map": {}},
    "deep": {"a": {"b": {"c": {"d": {"e": ["f"]}}}}},
}


def test_nested_documents_round_trip(store: Store) -> None:
    store.put("PipelineRun", "r", NESTED)
    store.append_history("app", NESTED)
    got = store.get("PipelineRun", "r")
    assert got is not None and got.doc == NESTED
    assert list(got.doc) == list(NESTED)  # key order too
    assert store.history("app")[0].doc == NESTED


def test_documents_are_copies_and_json_normalised(store: Store) -> None:
    doc: dict[str, object] = {"list": [1, 2], "tuple": (1, 2)}
    store.put("K", "n", doc)
    doc["list"] = "changed after put"
    got = store.get("K", "n")
    assert got is not None and got.doc == {"list": [1, 2], "tuple": [1, 2]}
    got.doc["list"] = "changed after get"
    again = store.get("K", "n")
    assert again is not None and again.doc["list"] == [1, 2]


@pytest.mark.parametrize(
    "doc", [{"set": {1, 2}}, {"nan": math.nan}, {"inf": math.inf}, {"object": object()}], ids=repr
)
def test_documents_that_are_not_json_are_refused(store: Store, doc: dict[str, object]) -> None:
    with pytest.raises(GitloopError, match="not JSON-compatible"):
        store.put("K", "n", doc)
    with pytest.raises(GitloopError, match="not JSON-compatible"):
        store.append_history("owner", doc)
    assert store.get("K", "n") is None
    assert store.history("owner") == []


def test_closed_store_refuses_calls(open_any: Opener) -> None:
    store = open_any()
    store.put("K", "n", {})
    store.close()
    with pytest.raises(GitloopError, match="closed"):
        store.get("K", "n")
    with pytest.raises(GitloopError, match="closed"):
        store.append_log("n", "s", ["x"])


# --- concurrency and durability ------------------------------------------------------------------

THREADS, ROUNDS = 10, 15


def _hammer(stores: list[Store]) -> None:
    """THREADS threads, each appending ROUNDS log batches and history entries through ``stores``."""
    barrier = threading.Barrier(THREADS)

    def worker(n: int) -> None:
        store = stores[n % len(stores)]
        barrier.wait()
        for r in range(ROUNDS):
            store.append_log("run", f"thread-{n}", [f"{n}:{r}:a", f"{n}:{r}:b"])
            store.append_history("app", {"thread": n, "round": r})
            store.put("Counter", f"thread-{n}", {"round": r}, labels={"thread": str(n)})

    with ThreadPoolExecutor(THREADS) as pool:
        for future in [pool.submit(worker, n) for n in range(THREADS)]:
            future.result()


def _check_hammered(store: Store) -> None:
    lines = list(store.read_log("run"))
    assert [line.seq for line in lines] == list(range(1, THREADS * ROUNDS * 2 + 1))
    for first, second in itertools.pairwise(lines):
        if first.text.endswith(":a"):  # a batch's lines are consecutive
            assert second.text == first.text[:-1] + "b" and second.seq == first.seq + 1
    for n in range(THREADS):
        mine = store.read_log("run", source=f"thread-{n}")
        assert [line.text for line in mine] == [f"{n}:{r}:{x}" for r in range(ROUNDS) for x in "ab"]
    entries = store.history("app")
    assert [e.id for e in entries] == list(range(THREADS * ROUNDS))
    assert len({(e.doc["thread"], e.doc["round"]) for e in entries}) == THREADS * ROUNDS
    assert len(store.query("Counter")) == THREADS
    for n in range(THREADS):
        (only,) = store.query("Counter", labels={"thread": str(n)})
        assert only.doc == {"round": ROUNDS - 1}


def test_concurrent_writers_lose_and_duplicate_nothing(store: Store) -> None:
    _hammer([store])
    _check_hammered(store)


def test_concurrent_writers_through_separate_handles(open_persistent: Opener) -> None:
    """Two handles on one database act like two processes (or two replicas) sharing it."""
    stores = [open_persistent(), open_persistent()]
    _hammer(stores)
    _check_hammered(stores[0])


def test_concurrent_puts_of_one_name_make_one_record(open_persistent: Opener) -> None:
    stores = [open_persistent(), open_persistent()]
    barrier = threading.Barrier(THREADS)

    def worker(n: int) -> None:
        barrier.wait()
        stores[n % 2].put("SyncOperation", "app", {"by": n}, labels={"app": "app"})

    with ThreadPoolExecutor(THREADS) as pool:
        for future in [pool.submit(worker, n) for n in range(THREADS)]:
            future.result()
    (only,) = stores[1].query("SyncOperation", labels={"app": "app"})
    assert only.doc["by"] in range(THREADS)


def test_data_survives_close_and_reopen(open_persistent: Opener) -> None:
    store = open_persistent()
    store.put("PipelineRun", "r", NESTED, labels={"pipeline": "build"})
    store.append_log("r", "s", ["kept"])
    store.append_history("app", {"revision": "abc"})
    store.close()
    reopened = open_persistent()
    got = reopened.get("PipelineRun", "r")
    assert got is not None and got.doc == NESTED and got.labels == {"pipeline": "build"}
    assert [o.name for o in reopened.query("PipelineRun", labels={"pipeline": "build"})] == ["r"]
    assert [line.text for line in reopened.read_log("r")] == ["kept"]
    assert reopened.append_history("app", {"revision": "def"}) == 1
    reopened.append_log("r", "s", ["next"])
    assert [line.seq for line in reopened.read_log("r")] == [1, 2]


# --- PostgreSQL specifics ------------------------------------------------------------------------


@INTEGRATION
@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
def test_postgres_url_schemes_are_accepted(postgres_server: PostgresServer, scheme: str) -> None:
    url = postgres_server.new_database().replace("postgresql://", f"{scheme}://", 1)
    store = open_store(url)
    try:
        store.put("K", "n", {"scheme": scheme})
        assert store.get("K", "n") is not None
    finally:
        store.close()


@INTEGRATION
def test_postgres_errors_never_show_the_password(postgres_server: PostgresServer) -> None:
    wrong = "wrong-Pa55word"
    with pytest.raises(GitloopError) as caught:
        open_store(postgres_server.url(password=wrong))
    message = str(caught.value)
    assert wrong not in message and PG_PASSWORD not in message
    assert f"{PG_USER}:***@127.0.0.1:{postgres_server.port}" in message
    assert "password authentication failed" in message
    assert caught.value.__cause__ is not None

    with pytest.raises(GitloopError) as missing:
        open_store(postgres_server.url("no_such_database"))
    assert PG_PASSWORD not in str(missing.value) and "no_such_database" in str(missing.value)
