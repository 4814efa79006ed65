"""The ``sealedSecrets`` field of a ``ServeConfig`` (``gitloop.spec.serveconfig``): where ``gitloop serve``
keeps the Sealed Secrets key pairs and how often it makes a new one. The keys themselves are kept by
``gitloop.service.sealing``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gitloop.spec.fields import Node

DEFAULT_KEY_RENEW_PERIOD = 720 * 3600.0
"""The sealed-secrets controller's default ``--key-renew-period`` (30 days)."""


@dataclass(frozen=True)
class SealingConfig:
    """``sealedSecrets``. ``keys_directory`` ``None``: the keys are kept in the default cluster, as the
    sealed-secrets controller keeps them; ``key_renew_period`` (``keyRenewPeriod``, a Go duration): a new
    key when the newest is that old, 0: never."""

    keys_directory: Path | None = None
    key_renew_period: float = DEFAULT_KEY_RENEW_PERIOD


def parse_sealing(node: Node, path_of: Callable[[Node], Path]) -> SealingConfig:
    """``node``'s ``sealedSecrets`` (the defaults without one); ``path_of`` makes a path field absolute
    (relative to the config file)."""
    found = node.child("sealedSecrets")
    if found is None:
        return SealingConfig()
    found.only(("keysDirectory", "keyRenewPeriod"))
    directory = found.child("keysDirectory")
    keys = None if directory is None else path_of(directory)
    if keys is not None and keys.exists() and not keys.is_dir():
        raise found.field("keysDirectory").error(f"{keys} is a file; a directory is expected")
    period = found.duration("keyRenewPeriod")
    return SealingConfig(keys, DEFAULT_KEY_RENEW_PERIOD if period is None else period)
