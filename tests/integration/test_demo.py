"""The issue's acceptance test of ``make demo``: ``gitloop demo --once --teardown`` in a state directory of
its own, then the store, the repositories and ``gitloop trace`` are asked what happened.

The source commit the demo pushed produced a PipelineRun that Succeeded; a config commit sets, in the
dev overlay, the image that run built; a sync operation of web-dev ran at that config commit and
web-dev is Synced and Healthy; ``gitloop trace`` shows the whole chain. The promotion went on: web-dev's
post-sync pipeline put the image into staging (synced, Healthy), web-staging's proposed it to prod,
which waits OutOfSync for an approval. Everything the demo started is stopped again. The demo's client
authenticated with a token of ``admin``, whose generated password is in a 0600 file the demo names (and
never prints), and which logs in.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitloop.access.accounts import Accounts
from gitloop.access.tokens import Tokens
from gitloop.lineage import Lineage
from gitloop.store import open_store

pytestmark = pytest.mark.integration


def _gitloop(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gitloop", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _show(repo: Path, commit: str, path: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(repo), "show", f"{commit}:{path}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout


@pytest.mark.timeout(900)
def test_demo_once_runs_the_whole_loop_and_tears_down(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = {**os.environ, "GITLOOP_STATE_DIR": str(state)}
    proc = _gitloop(env, "demo", "--once", "--teardown", "--cluster", "demo-e2e", timeout=840)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "commit pushed → web-dev Healthy:" in out and "gitloop’s overhead" in out, out
    password_file = state / "demo" / "admin-password"
    assert f"--username admin --password-file {password_file}" in out, out
    assert password_file.stat().st_mode & 0o777 == 0o600
    password = password_file.read_text().strip()
    assert len(password) >= 16 and password not in out

    store = open_store(str(state / "gitloop.db"))
    try:
        assert Accounts(store).login("admin", password).name == "admin"
        (client,) = [t for t in Tokens(store).list(subject="admin") if t.description == "gitloop demo"]
        assert client.last_used is not None, "the demo's client sent its token"
        lineage = Lineage(store)
        (source,) = [record.name for record in store.query("LineageSource")]
        trace = lineage.trace(source)
        hops: list[dict[str, Any]] = trace.hops

        def of(kind: str, **fields: str) -> list[dict[str, Any]]:
            return [h for h in hops if h["hop"] == kind and all(h.get(k) == v for k, v in fields.items())]

        # The source commit produced a PipelineRun that Succeeded.
        (queued,) = of("pipelinerun")
        run = store.get("PipelineRun", queued["run"])
        assert run is not None
        manifest = run.doc["manifest"]
        assert manifest["status"]["conditions"][0]["reason"] == "Succeeded"
        params = {p["name"]: p["value"] for p in manifest["spec"]["params"]}
        assert params["git-revision"] == source
        results = {r["name"]: r["value"] for r in manifest["status"]["results"]}
        built = results["IMAGE_URL"]
        assert built == f"localhost/gitloop-demo/web:{source[:7]}"

        # A config commit whose image tag equals the built image, in the dev overlay.
        (dev_commit,) = of("config-commit", file="overlays/dev/kustomization.yaml")
        assert dev_commit["image"] == built and dev_commit["pipelineRun"] == queued["run"]
        assert results["config-commit"] == dev_commit["commit"]
        repo = state / "demo" / "gitserver" / "repos" / "app-config.git"
        overlay = _show(repo, dev_commit["commit"], "overlays/dev/kustomization.yaml")
        # A short SHA can look like a number (8986e07), so the edit may quote it: compare the value.
        images = yaml.safe_load(overlay)["images"]
        assert [i["newTag"] for i in images if i["name"] == "localhost/gitloop-demo/web"] == [source[:7]], (
            overlay
        )

        # A sync operation of web-dev at that config commit; web-dev Synced and Healthy.
        (sync,) = of("sync", app="web-dev", revision=dev_commit["commit"])
        assert sync["phase"] == "Succeeded"
        assert of("healthy", app="web-dev", revision=dev_commit["commit"])
        dev = store.get("Application", "web-dev")
        assert dev is not None
        assert dev.doc["sync"]["status"] == "Synced" and dev.doc["health"]["status"] == "Healthy"
        assert dev.doc["operationState"]["revisions"] == [dev_commit["commit"]]
        assert dev.doc["operationState"]["phase"] == "Succeeded"
        assert trace.lead_time is not None and trace.lead_time > 0

        # Promotion: dev's post-sync pipeline -> staging (synced, Healthy) -> proposed to prod.
        assert [h["reason"] for h in of("post-sync-finished", app="web-dev")] == ["Succeeded"]
        (staging_commit,) = of("config-commit", file="overlays/staging/kustomization.yaml")
        assert staging_commit["image"] == built
        assert of("healthy", app="web-staging", revision=staging_commit["commit"])
        (prod_commit,) = of("config-commit", file="overlays/prod/kustomization.yaml")
        assert prod_commit["image"] == built
        prod = store.get("Application", "web-prod")
        assert prod is not None and prod.doc["sync"]["status"] == "OutOfSync", "prod waits for an approval"
        assert not of("sync", app="web-prod")
    finally:
        store.close()

    shown = _gitloop(env, "trace", source[:10])
    assert shown.returncode == 0, shown.stderr
    for label in (
        "pushed",
        "run queued",
        "run started",
        "run finished",
        "config commit",
        "synced",
        "healthy",
    ):
        assert label in shown.stdout, (label, shown.stdout)
    assert f"source commit {source}" in shown.stdout and "lead time for the change:" in shown.stdout

    podman = shutil.which("podman")
    if podman:  # the image the demo's pipeline built (podman is used when installed)
        subprocess.run([podman, "rmi", "-f", built], capture_output=True, check=False, timeout=60)

    # --teardown stopped everything the demo started.
    assert "gitloop serve: stopped" in (state / "demo" / "serve.log").read_text()
    assert not (state / "clusters" / "demo-e2e").exists(), "--teardown stopped the cluster"
    assert not (state / "demo" / "gitserver" / "state.json").exists(), "--teardown stopped the git server"
