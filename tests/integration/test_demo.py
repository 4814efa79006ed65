"""``gitloop demo`` end to end in a state directory of its own: infrastructure up, the app applied
from git and Healthy, everything stopped again with ``--teardown``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_demo_applies_the_app_from_git_and_tears_down(tmp_path: Path) -> None:
    env = {**os.environ, "GITLOOP_STATE_DIR": str(tmp_path / "state")}
    proc = subprocess.run(
        [sys.executable, "-m", "gitloop", "demo", "--cluster", "demo-test", "--teardown"],
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "apps/Deployment demo/web" in out and "Healthy" in out
    assert "every resource Healthy" in out
    assert "config commit → Healthy" in out
    assert not (tmp_path / "state" / "clusters" / "demo-test").exists(), "--teardown stopped the cluster"
    assert not (tmp_path / "state" / "gitserver" / "state.json").exists(), "--teardown stopped the git server"
