"""The ``Store`` port on SQLAlchemy Core: a SQLite file by default, PostgreSQL for several replicas.

One engine (a connection pool) per store, shared by every thread. Each call is one transaction,
committed before it returns. Sequence numbers of log lines and history ids are ``max + 1`` under a
unique key: two writers that pick the same number collide on the key, and the loser retries.
On SQLite, writes take the file's write lock up front (``BEGIN IMMEDIATE``) and a process-wide lock
keeps this process's own threads from queueing on the file; readers never block (WAL journal).
Database errors become ``GitloopError`` naming the database with its password masked.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import ConnectionPoolEntry

from gitloop.errors import GitloopError
from gitloop.ports import HistoryEntry, LogLine, StoredObject
from gitloop.store import codec
from gitloop.store.files import private_file
from gitloop.store.schema import ensure_schema, history, log_chunks, object_labels, objects
from gitloop.store.urls import database_url, masked, scrub

T = TypeVar("T")

# A write that lost a race for a sequence number retries, with a short random pause, this often.
_ATTEMPTS = 60
_WRITE = "gitloop_write"  # execution option: this connection's transaction will write
_SQLITE_BUSY_TIMEOUT = 30.0  # seconds another process may hold the file's write lock
_PG_CONNECT_TIMEOUT = 10  # seconds
# A log chunk (one row) holds up to this many lines and, unless one line is longer, characters;
# read_log fetches this many chunks per read, so reading any log takes well under a few MiB.
_CHUNK_LINES = 2048
_CHUNK_CHARS = 64 * 1024
_PAGE_CHUNKS = 16


class SqlStore:
    """A ``Store`` in a relational database. Safe to share between threads; ``close`` when done."""

    def __init__(self, url: URL, *, clock: Callable[[], float] = time.time) -> None:
        self._url = url
        self._shown = masked(url)
        self._clock = clock
        self._closed = False
        self._sqlite = url.get_backend_name() == "sqlite"
        self._write_lock: contextlib.AbstractContextManager[object] = (
            threading.Lock() if self._sqlite else contextlib.nullcontext()
        )
        self._engine = _create_engine(url)
        try:
            self._write("open", ensure_schema)
        except BaseException:
            self._engine.dispose()
            raise

    @property
    def url(self) -> str:
        """The database, password masked."""
        return self._shown

    def __repr__(self) -> str:
        return f"SqlStore({self._shown!r})"

    # --- records ---------------------------------------------------------------------------------

    def put(
        self, kind: str, name: str, doc: dict[str, object], *, labels: dict[str, str] | None = None
    ) -> None:
        what = f"put {kind}/{name}"
        codec.checked_doc(doc, what=what)
        new_labels = codec.checked_labels(labels, what=what)
        now = self._clock()

        def work(conn: Connection) -> None:
            key = (objects.c.kind == kind) & (objects.c.name == name)
            values: dict[str, Any] = {"doc": doc, "updated": now}
            if new_labels is not None:
                values["labels"] = new_labels
            replaced = conn.execute(sa.update(objects).where(key).values(**values)).rowcount > 0
            if not replaced:
                conn.execute(
                    sa.insert(objects).values(
                        kind=kind, name=name, doc=doc, labels=new_labels or {}, created=now, updated=now
                    )
                )
            if new_labels is not None:
                conn.execute(
                    sa.delete(object_labels).where(
                        (object_labels.c.kind == kind) & (object_labels.c.name == name)
                    )
                )
                if new_labels:
                    conn.execute(
                        sa.insert(object_labels),
                        [{"kind": kind, "name": name, "key": k, "value": v} for k, v in new_labels.items()],
                    )

        self._write(what, work)

    def get(self, kind: str, name: str) -> StoredObject | None:
        stmt = sa.select(objects).where((objects.c.kind == kind) & (objects.c.name == name))
        row = self._read(f"get {kind}/{name}", lambda conn: conn.execute(stmt).first())
        return None if row is None else _stored(row)

    def query(
        self, kind: str, *, labels: dict[str, str] | None = None, limit: int | None = None
    ) -> list[StoredObject]:
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        stmt = sa.select(objects).where(objects.c.kind == kind)
        for key, value in (labels or {}).items():
            stmt = stmt.where(
                sa.exists().where(
                    (object_labels.c.kind == objects.c.kind)
                    & (object_labels.c.name == objects.c.name)
                    & (object_labels.c.key == key)
                    & (object_labels.c.value == value)
                )
            )
        stmt = stmt.order_by(objects.c.created.desc(), objects.c.id.desc())
        if limit is not None:
            stmt = stmt.limit(limit)
        rows = self._read(f"query {kind}", lambda conn: conn.execute(stmt).all())
        return [_stored(row) for row in rows]

    def delete(self, kind: str, name: str) -> bool:
        def work(conn: Connection) -> bool:
            key = (objects.c.kind == kind) & (objects.c.name == name)
            if conn.execute(sa.delete(objects).where(key)).rowcount == 0:
                return False
            conn.execute(
                sa.delete(object_labels).where(
                    (object_labels.c.kind == kind) & (object_labels.c.name == name)
                )
            )
            conn.execute(sa.delete(log_chunks).where(log_chunks.c.run == name))
            return True

        return self._write(f"delete {kind}/{name}", work)

    # --- logs ------------------------------------------------------------------------------------

    def append_log(self, run: str, source: str, lines: list[str]) -> None:
        if not lines:
            return
        texts = [codec.log_text(line) for line in lines]
        chunks = codec.log_chunks(texts, max_chars=_CHUNK_CHARS, max_lines=_CHUNK_LINES)
        now = self._clock()

        def work(conn: Connection) -> None:
            last = conn.execute(
                sa.select(sa.func.max(log_chunks.c.last_seq)).where(log_chunks.c.run == run)
            ).scalar()
            first = 1 if last is None else int(last) + 1
            rows: list[dict[str, object]] = []
            for chunk in chunks:
                rows.append(
                    {
                        "run": run,
                        "first_seq": first,
                        "last_seq": first + len(chunk) - 1,
                        "source": source,
                        "time": now,
                        "lines": codec.encode_lines(chunk),
                    }
                )
                first += len(chunk)
            conn.execute(sa.insert(log_chunks), rows)

        self._write(f"append to the log of {run}", work)

    def read_log(
        self, run: str, *, source: str | None = None, after_seq: int = 0, limit: int | None = None
    ) -> Iterator[LogLine]:
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        self._check_open(f"read the log of {run}")
        return self._log_pages(run, source, after_seq, limit)

    def _log_pages(self, run: str, source: str | None, after: int, limit: int | None) -> Iterator[LogLine]:
        """The lines of ``read_log``, ``_PAGE_CHUNKS`` chunks per short read transaction."""
        left = limit
        while left is None or left > 0:
            stmt = sa.select(
                log_chunks.c.first_seq,
                log_chunks.c.last_seq,
                log_chunks.c.source,
                log_chunks.c.time,
                log_chunks.c.lines,
            ).where((log_chunks.c.run == run) & (log_chunks.c.last_seq > after))
            if source is not None:
                stmt = stmt.where(log_chunks.c.source == source)
            stmt = stmt.order_by(log_chunks.c.last_seq).limit(_PAGE_CHUNKS)
            rows = self._read(f"read the log of {run}", _fetch_all(stmt))
            if not rows:
                return
            for row in rows:
                first = int(row.first_seq)
                texts = codec.decode_lines(row.lines)
                skip = max(0, after - first + 1)
                for offset in range(skip, len(texts)):
                    yield LogLine(
                        seq=first + offset, source=row.source, time=float(row.time), text=texts[offset]
                    )
                    if left is not None:
                        left -= 1
                        if left == 0:
                            return
                after = int(row.last_seq)

    # --- history ---------------------------------------------------------------------------------

    def append_history(self, owner: str, doc: dict[str, object]) -> int:
        what = f"append to the history of {owner}"
        codec.checked_doc(doc, what=what)
        now = self._clock()

        def work(conn: Connection) -> int:
            last = conn.execute(sa.select(sa.func.max(history.c.id)).where(history.c.owner == owner)).scalar()
            entry = 0 if last is None else int(last) + 1
            conn.execute(sa.insert(history).values(owner=owner, id=entry, time=now, doc=doc))
            return entry

        return self._write(what, work)

    def history(self, owner: str) -> list[HistoryEntry]:
        stmt = sa.select(history).where(history.c.owner == owner).order_by(history.c.id)
        rows = self._read(f"read the history of {owner}", lambda conn: conn.execute(stmt).all())
        return [
            HistoryEntry(id=int(r.id), owner=r.owner, time=float(r.time), doc=cast(dict[str, object], r.doc))
            for r in rows
        ]

    def close(self) -> None:
        self._closed = True
        self._engine.dispose()

    # --- transactions ----------------------------------------------------------------------------

    def _write(self, what: str, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one write transaction, again if it lost a race for a unique key."""
        self._check_open(what)
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                with self._write_lock, self._engine.connect() as conn:
                    conn.execution_options(**{_WRITE: True})
                    with conn.begin():
                        return work(conn)
            except sa_exc.IntegrityError as exc:
                if attempt == _ATTEMPTS:
                    raise self._error(what, exc) from exc
                time.sleep(random.uniform(0, 0.001 * attempt))  # noqa: S311 (jitter, not secrecy)
            except sa_exc.SQLAlchemyError as exc:
                raise self._error(what, exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _read(self, what: str, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one read-only transaction."""
        self._check_open(what)
        try:
            with self._engine.connect() as conn:
                return work(conn)
        except sa_exc.SQLAlchemyError as exc:
            raise self._error(what, exc) from exc

    def _check_open(self, what: str) -> None:
        if self._closed:
            raise GitloopError(f"store {self._shown}: {what}: the store is closed")

    def _error(self, what: str, exc: sa_exc.SQLAlchemyError) -> GitloopError:
        orig = getattr(exc, "orig", None)
        reason = str(orig if isinstance(orig, BaseException) else exc).strip() or type(exc).__name__
        return GitloopError(scrub(f"store {self._shown}: {what}: {reason}", self._url))


def open_store(url_or_path: str, *, clock: Callable[[], float] = time.time) -> SqlStore:
    """The store at ``url_or_path``: a SQLite file path (created private: ``store.files``), ``sqlite:///PATH``,
    or ``postgresql://USER:PASSWORD@HOST[:PORT]/DATABASE``. Tables are created or migrated on opening.

    ``UsageError`` for a URL gitloop cannot use, ``GitloopError`` if the database cannot be reached."""
    url = database_url(url_or_path)
    if url.get_backend_name() == "sqlite" and url.database:
        try:
            private_file(Path(url.database))
        except OSError as exc:
            raise GitloopError(f"store {masked(url)}: cannot create {url.database}: {exc}") from exc
    return SqlStore(url, clock=clock)


def _fetch_all(stmt: sa.Select[Any]) -> Callable[[Connection], list[sa.Row[Any]]]:
    return lambda conn: list(conn.execute(stmt).all())


def _stored(row: sa.Row[Any]) -> StoredObject:
    return StoredObject(
        kind=row.kind,
        name=row.name,
        doc=cast(dict[str, object], row.doc),
        labels=cast(dict[str, str], row.labels),
        created=float(row.created),
        updated=float(row.updated),
    )


def _create_engine(url: URL) -> Engine:
    common: dict[str, Any] = {"json_serializer": codec.encode, "json_deserializer": codec.decode}
    # Never put statement parameters (documents, log text) into error messages.
    common["hide_parameters"] = True
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(
            url, pool_pre_ping=True, connect_args={"connect_timeout": _PG_CONNECT_TIMEOUT}, **common
        )
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": _SQLITE_BUSY_TIMEOUT},
        pool_size=5,
        max_overflow=10,
        **common,
    )
    event.listen(engine, "connect", _sqlite_connected)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connected(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
    # gitloop, not the sqlite3 module, says when transactions begin (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # durable when the call returns, even on power loss
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # Writers take the write lock at BEGIN, so a read-then-write transaction never fails to upgrade.
    immediate = conn.get_execution_options().get(_WRITE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
