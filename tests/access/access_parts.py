"""What the access tests share: a fake clock, a cheap Argon2 hasher and a real SQLite store.
(Not a conftest.py: other test directories import their own ``conftest`` by that name.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from gitloop.ports import Store
from gitloop.store import open_store

CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
"""Argon2id with the smallest parameters: the tests check behaviour, not strength."""


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'access.db'}")
    try:
        yield opened
    finally:
        opened.close()


def stored_text(store: Store, kinds: tuple[str, ...]) -> str:
    """Every record of ``kinds`` and the audit history, as one string to search for secrets."""
    parts = [repr((r.doc, r.labels)) for kind in kinds for r in store.query(kind)]
    parts += [repr(e.doc) for e in store.history("audit")]
    return "\n".join(parts)
