"""Where gitloop keeps things on this machine: caches that survive (built binaries) and run state."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Slow-to-make things kept across runs: ``$GITLOOP_CACHE_DIR`` or ``~/.cache/gitloop``."""
    env = os.environ.get("GITLOOP_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "gitloop"


def state_dir() -> Path:
    """Run state (PIDs, ports, kubeconfigs, the store, run sandboxes holding secret workspaces):
    ``$GITLOOP_STATE_DIR`` or ``~/.local/state/gitloop``, made private here (created, or narrowed
    to, mode 0700) so nothing under it is readable by other users of the machine."""
    env = os.environ.get("GITLOOP_STATE_DIR")
    path = Path(env) if env else Path.home() / ".local" / "state" / "gitloop"
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.stat().st_mode & 0o077:
            path.chmod(0o700)
    except OSError:
        pass  # not ours to change, or not writable: whoever uses it reports why
    return path
