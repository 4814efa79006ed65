"""The store's tables, and the one place where they are created and migrated.

``ensure_schema`` runs when a store opens: ``create_all`` makes missing tables, then the single row of
``schema_version`` says which version the database is at. A database newer than this code is refused;
an older one is brought forward by ``MIGRATIONS[n]`` (version ``n`` to ``n + 1``), all in the opening
transaction. Tables that a new version adds appear through ``create_all``; migrations only alter
what already exists. On PostgreSQL an advisory lock keeps several replicas from migrating at once.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gitloop.errors import GitloopError
from gitloop.store import codec

SCHEMA_VERSION = 2

# pg_advisory_xact_lock key held while the schema is checked ("gitloop" in ASCII, as an int64).
_SCHEMA_LOCK = 0x6769746C6F6F70

metadata = sa.MetaData()

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite's rowid alias must be INTEGER

objects = sa.Table(
    "objects",
    metadata,
    # Insertion order: breaks ties between records created within the same clock tick.
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("doc", sa.JSON, nullable=False),
    sa.Column("labels", sa.JSON, nullable=False),
    sa.Column("created", sa.Double, nullable=False),
    sa.Column("updated", sa.Double, nullable=False),
    sa.UniqueConstraint("kind", "name", name="uq_objects_kind_name"),
    sa.Index("ix_objects_kind_created", "kind", "created"),
)

# The labels of ``objects`` once more, one row per label, for exact-match filtering in SQL.
object_labels = sa.Table(
    "object_labels",
    metadata,
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index("ix_object_labels_kind_key_value", "kind", "key", "value"),
)

# Step output in chunks of consecutive lines of one source (``first_seq``..``last_seq`` of the run's
# line numbers, ``lines`` a JSON array of their text): one row and its index entries per chunk, not
# per line, so a log costs little more than its text. Chunks of a run never overlap.
log_chunks = sa.Table(
    "log_chunks",
    metadata,
    sa.Column("run", sa.Text, primary_key=True),
    sa.Column("first_seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("time", sa.Double, nullable=False),
    sa.Column("lines", sa.Text, nullable=False),
    sa.Index("ix_log_chunks_run_last_seq", "run", "last_seq"),
    sa.Index("ix_log_chunks_run_source_last_seq", "run", "source", "last_seq"),
)

history = sa.Table(
    "history",
    metadata,
    sa.Column("owner", sa.Text, primary_key=True),
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("time", sa.Double, nullable=False),
    sa.Column("doc", sa.JSON, nullable=False),
)

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),  # always 1: a single row
    sa.Column("version", sa.Integer, nullable=False),
)


def ensure_schema(conn: Connection) -> int:
    """Create missing tables and bring the database to ``SCHEMA_VERSION``; returns the version it had
    (``SCHEMA_VERSION`` for a new database). Call inside a transaction."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_SCHEMA_LOCK)))
    metadata.create_all(conn)
    found = conn.execute(sa.select(schema_version.c.version).where(schema_version.c.id == 1)).scalar()
    if found is None:
        conn.execute(sa.insert(schema_version).values(id=1, version=SCHEMA_VERSION))
        return SCHEMA_VERSION
    start = int(found)
    if start > SCHEMA_VERSION:
        raise GitloopError(
            f"the database is at schema version {start}, newer than this gitloop knows "
            f"({SCHEMA_VERSION}): upgrade gitloop"
        )
    for version in range(start, SCHEMA_VERSION):
        MIGRATIONS[version](conn)
    if start != SCHEMA_VERSION:
        conn.execute(sa.update(schema_version).where(schema_version.c.id == 1).values(version=SCHEMA_VERSION))
    return start


def _logs_into_chunks(conn: Connection) -> None:
    """Version 1 kept one row per log line in ``logs``; version 2 keeps chunks in ``log_chunks``.
    Each run's consecutive lines of one source become one chunk (at most ``_MIGRATED_CHUNK`` lines)."""
    rows = conn.execute(sa.text("SELECT run, seq, source, time, text FROM logs ORDER BY run, seq"))
    batch: list[dict[str, object]] = []
    chunk: list[str] = []
    head: tuple[str, int, str, float] | None = None

    def close_chunk() -> None:
        if head is not None and chunk:
            run, first, source, when = head
            batch.append(
                {
                    "run": run,
                    "first_seq": first,
                    "last_seq": first + len(chunk) - 1,
                    "source": source,
                    "time": when,
                    "lines": codec.encode_lines(chunk),
                }
            )

    for run, seq, source, when, text in rows:
        follows = head is not None and head[0] == run and head[2] == source and head[1] + len(chunk) == seq
        if not follows or len(chunk) >= _MIGRATED_CHUNK:
            close_chunk()
            chunk = []
            head = (run, int(seq), source, float(when))
        chunk.append(text)
        if len(batch) >= _MIGRATED_CHUNK:
            conn.execute(sa.insert(log_chunks), batch)
            batch = []
    close_chunk()
    if batch:
        conn.execute(sa.insert(log_chunks), batch)
    conn.execute(sa.text("DROP TABLE logs"))


_MIGRATED_CHUNK = 1000

# Version n -> the step that brings a database from n to n + 1.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _logs_into_chunks}
