"""Sealing keys shared by the sealing tests: 2048-bit, so generating them stays fast."""

from __future__ import annotations

import pytest

from gitloop.sealing import SealingKey, generate_key


@pytest.fixture(scope="session")
def old_key() -> SealingKey:
    return generate_key(bits=2048, name="sealed-secrets-key-old")


@pytest.fixture(scope="session")
def new_key(old_key: SealingKey) -> SealingKey:
    key = generate_key(bits=2048, name="sealed-secrets-key-new")
    assert key.created > old_key.created
    return key


@pytest.fixture(scope="session")
def stranger_key() -> SealingKey:
    return generate_key(bits=2048, name="sealed-secrets-key-stranger")
