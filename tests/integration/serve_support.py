"""Helpers of the integration tests that run a real ``gitloop serve`` over a ``CdWorld``: its config file
and environment, and waiting for what the server reports."""

from __future__ import annotations

import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from cd_support import CdWorld

sys.path.insert(0, str(Path(__file__).parents[1] / "serve"))  # the serve tests' process helpers
from serve_process import free_port, serve_env


def serve_config(world: CdWorld, tmp_path: Path, applications: str) -> tuple[Path, dict[str, str]]:
    """A serve config (one ``applications:`` item, YAML flow style; the world's cluster as ``local``)
    and the environment to run it with (its own state and cache directories)."""
    config = tmp_path / "serve.yaml"
    config.write_text(
        textwrap.dedent(f"""\
            listen: 127.0.0.1:{free_port()}
            pollInterval: 10m
            applications:
              - {applications}
            clusters:
              - {{name: local, kubeconfig: {world.cluster.kubeconfig}}}
            """)
    )
    env = serve_env(tmp_path / "state")
    env["GITLOOP_CACHE_DIR"] = str(tmp_path / "cache")
    return config, env


def until(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``check`` until it holds (then the monotonic time it did), failing after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(0.02)
    return time.monotonic()
