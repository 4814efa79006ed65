"""The ``Store`` contract, one suite for every implementation: ``MemoryStore``, ``SqlStore`` on a SQLite
file, and ``SqlStore`` on a real PostgreSQL server.

The PostgreSQL server is Debian's: ``postgres_server`` creates a throw-away cluster in a temporary
directory (as the ``postgres`` user when the tests run as root, since PostgreSQL refuses root), starts
it on 127.0.0.1 with password authentication, gives every test a fresh database, and stops it by its
PID file at the end. Missing server binaries fail the tests; they are never skipped.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from gitloop.errors import GitloopError
from gitloop.ports import Store
from gitloop.store import MemoryStore, open_store

PG_USER = "gitloop"
PG_PASSWORD = "s3cret-for-tests"


# --- a real PostgreSQL server --------------------------------------------------------------------


@dataclass
class PostgresServer:
    """A running throw-away PostgreSQL cluster on 127.0.0.1."""

    port: int
    _databases: Iterator[int]

    def url(self, database: str = "postgres", *, password: str = PG_PASSWORD) -> str:
        return f"postgresql://{PG_USER}:{password}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """The URL of a new, empty database."""
        name = f"contract_{next(self._databases)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _postgres_bindir() -> Path:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not found:
        pytest.fail(
            "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin: "
            "run `apt-get install postgresql`",
            pytrace=False,
        )
    return found[-1].parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_owner(argv: list[str]) -> list[str]:
    """``argv`` run as the cluster's owner: ``postgres`` when we are root (PostgreSQL refuses root)."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _run(argv: list[str], *, cwd: Path, log: Path | None = None) -> None:
    result = subprocess.run(
        _as_owner(argv), cwd=cwd, capture_output=True, text=True, check=False, timeout=120
    )
    if result.returncode != 0:
        server_log = log.read_text(errors="replace")[-4000:] if log and log.exists() else ""
        pytest.fail(
            f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}{result.stderr}{server_log}"
        )


def _stop(pg_ctl: str, data: Path, root: Path) -> None:
    """Stop the server we started, by the PID file it wrote; SIGKILL that PID if it will not stop."""
    pid_file = data / "postmaster.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().split()[0])
    argv = _as_owner([pg_ctl, f"--pgdata={data}", "-m", "fast", "-w", "-t", "60", "stop"])
    if subprocess.run(argv, cwd=root, capture_output=True, check=False, timeout=90).returncode != 0:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = _postgres_bindir()
    as_root = os.geteuid() == 0
    # The postgres user must reach the directory: under /tmp, not under root's private temp dirs.
    root = Path(tempfile.mkdtemp(prefix="gitloop-pg-", dir="/tmp" if as_root else None))
    data, log, pwfile = root / "data", root / "server.log", root / "password"
    pg_ctl = str(bindir / "pg_ctl")
    try:
        pwfile.write_text(PG_PASSWORD + "\n")
        pwfile.chmod(0o600)
        if as_root:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail("no `postgres` system user: run `apt-get install postgresql`", pytrace=False)
            for path in (root, pwfile):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        initdb = [str(bindir / "initdb"), f"--pgdata={data}", f"--username={PG_USER}", f"--pwfile={pwfile}"]
        initdb += ["--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--no-locale"]
        _run([*initdb, "--no-sync"], cwd=root)
        port = _free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} "
            "-c fsync=off -c full_page_writes=off"
        )
        try:
            _run(
                [pg_ctl, f"--pgdata={data}", f"--log={log}", "-w", "-t", "60", "-o", options, "start"],
                cwd=root,
                log=log,
            )
            yield PostgresServer(port, itertools.count())
        finally:
            _stop(pg_ctl, data, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --- one opener per implementation ---------------------------------------------------------------


class TickingClock:
    """A clock that advances one second per reading, so every write has its own time."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self._now += 1.0
            return self._now


Opener = Callable[..., Store]
INTEGRATION = pytest.mark.integration
ALL = ["memory", "sqlite", pytest.param("postgresql", marks=INTEGRATION)]
PERSISTENT = ["sqlite", pytest.param("postgresql", marks=INTEGRATION)]


def _opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens stores on one database (each call a new handle); closes them all afterwards."""
    backend: str = request.param
    if backend == "memory":
        target = None
    elif backend == "sqlite":
        target = str(tmp_path / "state" / "gitloop.db")
    else:
        target = request.getfixturevalue("postgres_server").new_database()
    opened: list[Store] = []

    def open_(clock: Callable[[], float] | None = None) -> Store:
        tick = clock if clock is not None else TickingClock()
        store: Store = MemoryStore(clock=tick) if target is None else open_store(target, clock=tick)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


@pytest.fixture(params=ALL)
def open_any(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    yield from _opener(request, tmp_path)


@pytest.fixture(params=PERSISTENT)
def open_persistent(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    yield from _opener(request, tmp_path)


@pytest.fixture
def store(open_any: Opener) -> Store:
    return open_any()


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
    assert store.read_log("r1") == []
    assert [line.text for line in store.read_log("r2")] == ["kept"]
    assert store.delete("PipelineRun", "r1") is False
    assert store.delete("TaskRun", "r2") is False
    assert [line.text for line in store.read_log("r2")] == ["kept"]
    store.put("PipelineRun", "r1", {})  # a new record of the same name carries no old labels
    assert store.query("PipelineRun", labels={"pipeline": "build"}) == []
    got = store.get("PipelineRun", "r1")
    assert got is not None and got.labels == {}


# --- logs ----------------------------------------------------------------------------------------


def test_logs_are_numbered_from_one_in_append_order(store: Store) -> None:
    store.append_log("run-1", "build/step-a", ["a1", "a2"])
    store.append_log("run-1", "build/step-b", ["b1"])
    store.append_log("run-1", "build/step-a", ["a3"])
    store.append_log("run-2", "build/step-a", ["other run"])
    store.append_log("run-1", "build/step-a", [])
    lines = store.read_log("run-1")
    assert [(line.seq, line.source, line.text) for line in lines] == [
        (1, "build/step-a", "a1"),
        (2, "build/step-a", "a2"),
        (3, "build/step-b", "b1"),
        (4, "build/step-a", "a3"),
    ]
    assert lines[0].time == lines[1].time < lines[2].time < lines[3].time
    assert [line.seq for line in store.read_log("run-2")] == [1]
    assert store.read_log("never") == []


def test_read_log_after_seq_and_per_source(store: Store) -> None:
    store.append_log("r", "s1", ["1", "2"])
    store.append_log("r", "s2", ["3"])
    store.append_log("r", "s1", ["4"])
    assert [line.text for line in store.read_log("r", after_seq=2)] == ["3", "4"]
    assert [line.text for line in store.read_log("r", after_seq=4)] == []
    assert [line.seq for line in store.read_log("r", source="s1")] == [1, 2, 4]
    assert [line.seq for line in store.read_log("r", source="s1", after_seq=1)] == [2, 4]
    assert store.read_log("r", source="s3") == []


def test_log_text_round_trips_except_nul(store: Store) -> None:
    texts = ["", "  indented\ttab", "ünïcödé ✓ 日本", "ends with newline\n", "nul\x00byte", "x" * 100_000]
    store.append_log("r", "s", texts)
    got = [line.text for line in store.read_log("r")]
    assert got == [*texts[:4], "nul\ufffdbyte", texts[5]]


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
    lines = store.read_log("run")
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
