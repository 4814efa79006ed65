"""The issue's acceptance test of ``make demo``: ``gitloop demo --teardown`` in a state directory of its
own, as ``make demo`` runs it (it keeps serving): once it says production waits, the test logs in as
``admin`` and gives the approval with ``gitloop approve``, prod gets the image, then SIGTERM stops the
demo; the store, the repositories and ``gitloop trace`` are asked what happened.

The source commit the demo pushed produced a PipelineRun that Succeeded; a config commit sets, in the
dev overlay, the image that run built; a sync operation of web-dev ran at that config commit and
web-dev is Synced and Healthy; ``gitloop trace`` shows the whole chain. The promotion went on: once
web-dev's post-sync smoke test Succeeded, the PromotionChain ``web`` put the image into staging in a
commit carrying the promotion's trailers (synced, Healthy), and the promotion to prod waits for an
approval, prod untouched; the demo printed the ``gitloop approve`` command that gives it, and giving it
promotes prod in a commit carrying ``Gitloop-Approved-By: admin``. Everything the demo started is
stopped again. The demo's client
authenticated with a token of ``admin``, whose generated password is in a 0600 file the demo names (and
never prints), and which logs in.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
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


class _Demo:
    """``gitloop demo`` running, its output collected as it comes."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gitloop", "demo", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def out(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.out)
            if found:
                return found
            assert self.proc.poll() is None, f"the demo ended ({self.proc.returncode}):\n{self.out}"
            time.sleep(0.2)
        raise AssertionError(f"no {pattern!r} within {timeout}s:\n{self.out}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=180)
        self._reader.join(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return code


def _until(check: Callable[[], bool], what: str, demo: _Demo, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{demo.out}"
        time.sleep(0.5)


@pytest.mark.timeout(900)
def test_demo_runs_the_whole_loop_waits_for_the_approval_and_tears_down(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = {**os.environ, "GITLOOP_STATE_DIR": str(state), "GITLOOP_CONFIG_DIR": str(tmp_path / "client")}
    env.pop("GITLOOP_SERVER", None)
    env.pop("GITLOOP_AUTH_TOKEN", None)
    demo = _Demo(env, "--teardown", "--cluster", "demo-e2e")
    try:
        waiting = demo.wait_for(r"gitloop approve (\S+) --server (http://127\.0\.0\.1:\d+)", timeout=720)
        demo.wait_for(r"Ctrl-C stops it", timeout=60)
        waiting_out = demo.out
        promotion_id, server = waiting.group(1), waiting.group(2)
        password_file = state / "demo" / "admin-password"

        def promotion() -> dict[str, Any]:
            shown = _gitloop(env, "promotion", "get", promotion_id, "--server", server, "-o", "json")
            assert shown.returncode == 0, shown.stdout + shown.stderr
            found: dict[str, Any] = json.loads(shown.stdout)
            return found

        login = _gitloop(
            env, "login", "--server", server, "--username", "admin", "--password-file", str(password_file)
        )
        assert login.returncode == 0, login.stdout + login.stderr
        assert promotion()["state"] == "WaitingApproval"
        approved = _gitloop(env, "approve", promotion_id, "--server", server)
        assert approved.returncode == 0, approved.stdout + approved.stderr
        _until(lambda: promotion()["state"] == "Succeeded", f"{promotion_id} to succeed", demo)
        prod_commit_sha = str(promotion()["configCommit"])

        def prod_runs_it() -> bool:
            shown = _gitloop(env, "app", "get", "web-prod", "--server", server, "-o", "json")
            status = json.loads(shown.stdout).get("status", {}) if shown.returncode == 0 else {}
            synced = status.get("sync", {}).get("revision") == prod_commit_sha
            return synced and status.get("health", {}).get("status") == "Healthy"

        _until(prod_runs_it, "web-prod Synced and Healthy at the approved promotion's commit", demo)
    finally:
        code = demo.stop()
    out = demo.out
    assert code == 0, out
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

        # Promotion: dev's smoke test Succeeded -> the chain promotes to staging (synced, Healthy) ->
        # the promotion to prod waits for an approval; prod still runs what it ran.
        assert [h["reason"] for h in of("post-sync-finished", app="web-dev")] == ["Succeeded"]
        promotions = {r.doc["to_stage"]: r.doc for r in store.query("Promotion", labels={"commit": source})}
        assert sorted(promotions) == ["prod", "staging"], promotions
        staging_promotion, prod_promotion = promotions["staging"], promotions["prod"]
        assert staging_promotion["state"] == "Succeeded" and staging_promotion["chain"] == "web"
        (staging_commit,) = of("config-commit", file="overlays/staging/kustomization.yaml")
        assert staging_commit["image"] == built
        assert staging_commit["commit"] == staging_promotion["config_commit"]
        message = subprocess.run(
            ["git", "--git-dir", str(repo), "log", "-1", "--format=%B", staging_commit["commit"]],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
        assert f"Gitloop-Promotion: {staging_promotion['id']}" in message, message
        assert f"Gitloop-Source-Commit: {source}" in message, message
        assert of("healthy", app="web-staging", revision=staging_commit["commit"])
        # Prod waited (the demo said so, and no prod config commit was made before it did) ...
        assert prod_promotion["id"] == promotion_id
        assert "production waits for an approval" in waiting_out, waiting_out
        assert "overlays/prod/kustomization.yaml" not in waiting_out, waiting_out
        # ... until admin approved: one commit to the prod overlay with the approver, synced, Healthy.
        assert prod_promotion["state"] == "Succeeded"
        assert [a["user"] for a in prod_promotion["approvals"]] == ["admin"]
        (prod_commit,) = of("config-commit", file="overlays/prod/kustomization.yaml")
        assert prod_commit["commit"] == prod_commit_sha and prod_commit["image"] == built
        prod_message = subprocess.run(
            ["git", "--git-dir", str(repo), "log", "-1", "--format=%B", prod_commit_sha],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
        assert "Gitloop-Approved-By: admin" in prod_message, prod_message
        assert f"Gitloop-Promotion: {promotion_id}" in prod_message, prod_message
        assert of("healthy", app="web-prod", revision=prod_commit_sha)
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
