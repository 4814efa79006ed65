"""Where gitloop keeps things on this machine: caches that survive (built binaries) and run state."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Slow-to-make things kept across runs: ``$GITLOOP_CACHE_DIR`` or ``~/.cache/gitloop``."""
    env = os.environ.get("GITLOOP_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "gitloop"


def state_dir() -> Path:
    """Run state (PIDs, ports, kubeconfigs): ``$GITLOOP_STATE_DIR`` or ``~/.local/state/gitloop``."""
    env = os.environ.get("GITLOOP_STATE_DIR")
    return Path(env) if env else Path.home() / ".local" / "state" / "gitloop"
