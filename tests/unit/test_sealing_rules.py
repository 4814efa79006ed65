"""The serve config's ``sealedSecrets`` key (gitloop.spec.serve_sealing) and the key renewal rule
(gitloop.service.sealing.renew_due), table-driven."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitloop.errors import SpecError
from gitloop.sealing import SealingKey
from gitloop.service.sealing import RENEW_CHECK, renew_due
from gitloop.spec.serve_sealing import DEFAULT_KEY_RENEW_PERIOD
from gitloop.spec.serveconfig import load

DAY = 86400.0

CONFIGS: list[tuple[str, str, Any]] = [
    ("absent: defaults", "{}\n", (None, DEFAULT_KEY_RENEW_PERIOD)),
    ("a Go duration", "sealedSecrets: {keyRenewPeriod: 24h}\n", (None, DAY)),
    ("0 disables", "sealedSecrets: {keyRenewPeriod: 0}\n", (None, 0.0)),
    ("a key directory", "sealedSecrets: {keysDirectory: keys}\n", ("keys", DEFAULT_KEY_RENEW_PERIOD)),
    ("not a duration", "sealedSecrets: {keyRenewPeriod: monthly}\n", "sealedSecrets.keyRenewPeriod"),
    ("negative", "sealedSecrets: {keyRenewPeriod: -1h}\n", "keyRenewPeriod: -1h should be >= 0"),
    ("unknown key", "sealedSecrets: {keyRotation: 1h}\n", "keyRotation"),
    ("a file as the directory", "sealedSecrets: {keysDirectory: afile}\n", "is a file"),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CONFIGS], ids=[c[0] for c in CONFIGS])
def test_sealed_secrets_config(tmp_path: Path, text: str, expected: Any) -> None:
    (tmp_path / "afile").write_text("x")
    path = tmp_path / "serve.yaml"
    path.write_text(text)
    if isinstance(expected, str):
        with pytest.raises(SpecError, match=expected) as caught:
            load(path)
        assert str(path) in str(caught.value)
        return
    config = load(path).sealed_secrets
    directory, period = expected
    assert config.keys_directory == (None if directory is None else tmp_path / directory)
    assert config.key_renew_period == period


class Ring:
    """Keys in memory (the rule, not the storage, is tested here: both stores have their own tests)."""

    def __init__(self, created: list[float]) -> None:
        self.made: list[SealingKey] = [SealingKey(f"k{i}", b"", b"", at) for i, at in enumerate(created)]
        self.rotated = 0

    def keys(self) -> list[SealingKey]:
        return sorted(self.made, key=lambda key: key.created, reverse=True)

    def ensure(self) -> SealingKey:
        return self.keys()[0]

    def rotate(self) -> SealingKey:
        self.rotated += 1
        key = SealingKey(f"new{self.rotated}", b"", b"", NOW)
        self.made.append(key)
        return key


NOW = 1_000 * DAY
RENEWALS: list[tuple[str, list[float], float, int, float]] = [
    # name, keys' creation times, period, rotations expected, next check in
    ("no key: none is made", [], 30 * DAY, 0, RENEW_CHECK),
    ("renewal disabled", [NOW - 400 * DAY], 0.0, 0, float("inf")),
    ("newest is older than the period", [NOW - 31 * DAY, NOW - 90 * DAY], 30 * DAY, 1, RENEW_CHECK),
    ("newest is young enough", [NOW - 10 * DAY, NOW - 90 * DAY], 30 * DAY, 0, RENEW_CHECK),
    ("due within the check interval", [NOW - 30 * DAY + 60], 30 * DAY, 0, 60.0),
    ("exactly the period", [NOW - 3600.0], 3600.0, 1, RENEW_CHECK),
    ("a short period after renewal", [NOW - 7200.0], 120.0, 1, 120.0),
]


@pytest.mark.parametrize(
    ("created", "period", "rotations", "wait"), [r[1:] for r in RENEWALS], ids=[r[0] for r in RENEWALS]
)
def test_renew_due(created: list[float], period: float, rotations: int, wait: float) -> None:
    ring = Ring(created)
    assert renew_due(ring, period, NOW) == pytest.approx(wait)
    assert ring.rotated == rotations
