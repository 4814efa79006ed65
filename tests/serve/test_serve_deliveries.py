"""Replay protection in the store: a delivery id is claimed once, atomically, across threads, store
handles and restarts; a released claim can be claimed again."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gitloop.ports import Store
from gitloop.service.server.deliveries import StoreDeliveryLog, delivery_owner
from gitloop.store import MemoryStore, open_store


@pytest.fixture(params=["memory", "sqlite"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens handles on one store (each SQLite call a new handle, as another process would)."""
    shared = MemoryStore()
    opened: list[Store] = []

    def open_one() -> Store:
        if request.param == "memory":
            return shared
        store = open_store(str(tmp_path / "d.db"))
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()


def test_claim_once_release_and_claim_again(opener: Callable[[], Store]) -> None:
    log = StoreDeliveryLog(opener())
    assert log.claim("github", "d-1")
    assert not log.claim("github", "d-1")
    assert log.claim("gitlab", "d-1")  # per listener
    assert log.seen("github", "d-1")
    log.release("github", "d-1")
    assert not log.seen("github", "d-1")
    assert log.claim("github", "d-1")
    assert not log.claim("github", "d-1")


def test_claims_survive_a_restart(opener: Callable[[], Store]) -> None:
    assert StoreDeliveryLog(opener()).claim("github", "d-2")
    assert not StoreDeliveryLog(opener()).claim("github", "d-2")


def _race(logs: list[StoreDeliveryLog], delivery: str, contenders: int) -> list[bool]:
    """``contenders`` threads claim ``delivery`` at the same moment; who won."""
    wins: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(contenders)

    def claim(log: StoreDeliveryLog) -> None:
        barrier.wait()
        won = log.claim("github", delivery)
        with lock:
            wins.append(won)

    threads = [threading.Thread(target=claim, args=(logs[i % len(logs)],)) for i in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return wins


def test_concurrent_claims_have_one_winner(opener: Callable[[], Store]) -> None:
    logs = [StoreDeliveryLog(opener()) for _ in range(4)]
    for round_ in range(5):
        assert sorted(_race(logs, f"race-{round_}", 8)) == [False] * 7 + [True]


def test_a_sender_cannot_grow_keys_without_bound() -> None:
    assert delivery_owner("l", "x" * 10_000) == "delivery/l/" + "x" * 200
