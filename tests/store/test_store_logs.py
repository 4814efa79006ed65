"""The log half of the ``Store`` contract, on every implementation: numbering, filters, text, and
reading page by page (an iterator that resumes exactly from the ``seq`` of the last line seen)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import store_backends
from store_backends import Opener

from gitloop.ports import Store
from gitloop.store import SqlStore

# The fixtures this module's tests use (see store_backends).
postgres_server = store_backends.postgres_server
open_any = store_backends.open_any
open_persistent = store_backends.open_persistent
store = store_backends.store


def test_logs_are_numbered_from_one_in_append_order(store: Store) -> None:
    store.append_log("run-1", "build/step-a", ["a1", "a2"])
    store.append_log("run-1", "build/step-b", ["b1"])
    store.append_log("run-1", "build/step-a", ["a3"])
    store.append_log("run-2", "build/step-a", ["other run"])
    store.append_log("run-1", "build/step-a", [])
    lines = list(store.read_log("run-1"))
    assert [(line.seq, line.source, line.text) for line in lines] == [
        (1, "build/step-a", "a1"),
        (2, "build/step-a", "a2"),
        (3, "build/step-b", "b1"),
        (4, "build/step-a", "a3"),
    ]
    assert lines[0].time == lines[1].time < lines[2].time < lines[3].time
    assert [line.seq for line in store.read_log("run-2")] == [1]
    assert list(store.read_log("never")) == []


def test_read_log_after_seq_and_per_source(store: Store) -> None:
    store.append_log("r", "s1", ["1", "2"])
    store.append_log("r", "s2", ["3"])
    store.append_log("r", "s1", ["4"])
    assert [line.text for line in store.read_log("r", after_seq=2)] == ["3", "4"]
    assert [line.text for line in store.read_log("r", after_seq=4)] == []
    assert [line.seq for line in store.read_log("r", source="s1")] == [1, 2, 4]
    assert [line.seq for line in store.read_log("r", source="s1", after_seq=1)] == [2, 4]
    assert list(store.read_log("r", source="s3")) == []


def test_log_text_round_trips_except_nul(store: Store) -> None:
    texts = [
        "",
        "  indented\ttab",
        "ünïcödé ✓ 日本",
        "ends with newline\n",
        "a\nb",
        "nul\x00byte",
        "x" * 100_000,
    ]
    store.append_log("r", "s", texts)
    got = [line.text for line in store.read_log("r")]
    assert got == [*texts[:5], "nul\ufffdbyte", texts[6]]


def test_read_log_limit(store: Store) -> None:
    store.append_log("r", "s1", ["1", "2", "3"])
    store.append_log("r", "s2", ["4"])
    store.append_log("r", "s1", ["5"])
    assert [line.seq for line in store.read_log("r", limit=2)] == [1, 2]
    assert [line.seq for line in store.read_log("r", after_seq=2, limit=2)] == [3, 4]
    assert [line.seq for line in store.read_log("r", source="s1", after_seq=2, limit=5)] == [3, 5]
    assert list(store.read_log("r", limit=0)) == []
    with pytest.raises(ValueError, match="negative"):
        store.read_log("r", limit=-1)


def test_a_long_log_reads_whole_in_order_from_any_point(store: Store) -> None:
    """More lines and bytes than one page holds, in batches of both sources, with a few long lines."""
    expected: list[tuple[str, str]] = []
    for batch in range(12):
        source = f"s{batch % 2}"
        texts = [f"{batch}:{i}" + ("y" * 20_000 if i % 997 == 0 else "") for i in range(3_000)]
        store.append_log("r", source, texts)
        expected += [(source, text) for text in texts]
    got = list(store.read_log("r"))
    assert [line.seq for line in got] == list(range(1, len(expected) + 1))
    assert [(line.source, line.text) for line in got] == expected
    for after in (1, 2_047, 2_048, 2_049, 17_999, 35_999):
        assert [line.seq for line in store.read_log("r", after_seq=after, limit=3)] == [
            after + 1,
            after + 2,
            after + 3,
        ][: len(expected) - after]
    odd = [text for source, text in expected if source == "s1"]
    assert [line.text for line in store.read_log("r", source="s1")] == odd


def test_following_a_growing_log_by_the_last_seq_seen(store: Store) -> None:
    """What ``gitloop pipeline logs -f`` does: read to the end, remember the last seq, read again."""
    seen: list[str] = []
    last = 0
    for round_ in range(5):
        store.append_log("r", "s", [f"{round_}:{i}" for i in range(1_500)])
        for line in store.read_log("r", after_seq=last):
            seen.append(line.text)
            last = line.seq
    assert seen == [f"{r}:{i}" for r in range(5) for i in range(1_500)]
    assert last == 7_500


def test_reading_is_lazy_and_survives_appends_meanwhile(open_any: Opener) -> None:
    store = open_any()
    store.append_log("r", "s", [str(i) for i in range(5_000)])
    lines = store.read_log("r")
    first = next(lines)
    assert (first.seq, first.text) == (1, "0")
    store.append_log("r", "s", ["late"])
    rest = [line.seq for line in lines]
    assert rest[:4_999] == list(range(2, 5_001))
    assert rest[4_999:] in ([], [5_001])  # a line appended while reading may or may not be seen


def test_version_1_logs_are_migrated_into_chunks(open_persistent: Opener) -> None:
    """Schema 1 kept one row per line in ``logs``; opening the database moves them into chunks."""
    store = open_persistent()
    assert isinstance(store, SqlStore)
    old = [("r1", 1, "a/s", 10.0, "one"), ("r1", 2, "a/s", 10.0, "two\nlines"), ("r1", 3, "b/s", 11.0, "")]
    old += [("r2", 1, "a/s", 13.0, "other run")] + [("r3", n, "big/s", 14.0, f"{n}") for n in range(1, 2_502)]
    with store._engine.begin() as conn:  # the test builds a version 1 database by hand
        conn.execute(sa.text("DROP TABLE log_chunks"))
        conn.execute(
            sa.text(
                "CREATE TABLE logs (run TEXT NOT NULL, seq BIGINT NOT NULL, source TEXT NOT NULL, "
                "time DOUBLE PRECISION NOT NULL, text TEXT NOT NULL, PRIMARY KEY (run, seq))"
            )
        )
        conn.execute(
            sa.text("INSERT INTO logs VALUES (:run, :seq, :source, :time, :text)"),
            [dict(zip(("run", "seq", "source", "time", "text"), row, strict=True)) for row in old],
        )
        conn.execute(sa.text("UPDATE schema_version SET version = 1"))
    store.close()
    reopened = open_persistent()
    assert isinstance(reopened, SqlStore)
    assert not sa.inspect(reopened._engine).has_table("logs")
    got = [
        (r, line.seq, line.source, line.time, line.text)
        for r in ("r1", "r2", "r3")
        for line in reopened.read_log(r)
    ]
    assert got == old
    reopened.append_log("r1", "a/s", ["four"])
    assert [line.seq for line in reopened.read_log("r1", after_seq=2)] == [3, 4]
