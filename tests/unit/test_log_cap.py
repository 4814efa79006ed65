"""What the store keeps of a step's output: the per-step cap and the cut of long lines, case by case
from testdata/log-cap.yaml, and the ``StoreWriter`` that applies them per step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gitloop.model.sizes import format_size, parse_size
from gitloop.pipeline.log_cap import StepLogCap
from gitloop.pipeline.store_writer import StoreWriter
from gitloop.store import MemoryStore

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "testdata" / "log-cap.yaml").read_text()
)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_step_log_cap(case: dict[str, Any]) -> None:
    cap = StepLogCap(case["limit"], case["max_line"])
    kept = [cap.admit(line) for line in case["lines"]]
    assert [k if k is not None else "~" for k in kept] == case["kept"]
    assert cap.end() == case["end"]


def test_a_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        StepLogCap(-1)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("0", 0),
        ("4194304", 4 << 20),
        ("4Mi", 4 << 20),
        ("512Ki", 512 << 10),
        ("1Gi", 1 << 30),
        ("10M", 10**7),
    ],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "-1", "4 MB", "1.5Mi", "4Ti", "lots"])
def test_bad_sizes_say_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match="Ki, Mi, Gi"):
        parse_size(text)


def test_format_size() -> None:
    assert [format_size(n) for n in (4 << 20, 1536 << 10, 1000, 0)] == ["4Mi", "1536Ki", "1000", "0"]


class KeptMemoryStore(MemoryStore):
    """A ``MemoryStore`` that stays readable after the writer closes it."""

    def close(self) -> None:
        return None


def test_the_writer_caps_each_step_and_marks_it_at_the_step_end() -> None:
    store = KeptMemoryStore()
    writer = StoreWriter(lambda: store, log_limit=30)
    for i in range(10):
        writer.log("run", "build/compile", f"compile {i}")  # 10 bytes each: 3 kept
        writer.log("run", "build/test", f"t{i}")  # 3 bytes each: all kept
    writer.end_log("run", "build/compile")
    writer.log("run", "build/compile", "retry 1")  # a new attempt of the step: a new budget
    writer.close()
    got = [(line.source, line.text) for line in store.read_log("run")]
    assert [t for s, t in got if s == "build/test"] == [f"t{i}" for i in range(10)]
    assert [t for s, t in got if s == "build/compile"] == [
        "compile 0",
        "compile 1",
        "compile 2",
        "[gitloop: log truncated after 30 bytes; 70 more bytes dropped]",
        "retry 1",
    ]


def test_closing_the_writer_marks_every_step_still_open() -> None:
    store = KeptMemoryStore()
    writer = StoreWriter(lambda: store, log_limit=5)
    writer.log("run", "a/s", "1234")
    writer.log("run", "a/s", "dropped")
    writer.log("run", "b/s", "ok")
    writer.close()
    assert [line.text for line in store.read_log("run", source="a/s")] == [
        "1234",
        "[gitloop: log truncated after 5 bytes; 8 more bytes dropped]",
    ]
    assert [line.text for line in store.read_log("run", source="b/s")] == ["ok"]
