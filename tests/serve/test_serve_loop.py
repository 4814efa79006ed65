"""``gitloop serve`` wired to the real engines on real infrastructure: the local git server's
post-receive hook announces pushes to the server, the CI engine runs the PipelineRun, the run's image
handoff commits to the config repository, whose push webhook makes the CD engine sync the Application
onto the local cluster — and ``gitloop trace`` shows every hop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from serve_process import GITLOOP, ServeProcess, free_port, serve_env

from gitloop.errors import NotFoundError
from gitloop.kube import KubeCluster
from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitseed import commit_files
from gitloop.localinfra.gitserver import GitServer, Webhook

pytestmark = pytest.mark.integration

SOURCE_SECRET = "source-hook-secret"
REFRESH_SECRET = "refresh-hook-secret"

TRIGGERS = """\
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata: {{name: app-source}}
spec:
  triggers:
    - name: push
      interceptors:
        - ref: {{name: github}}
          params:
            - {{name: secretRef, value: {{secretName: source-hook, secretKey: token}}}}
            - {{name: eventTypes, value: [push]}}
      bindings:
        - {{name: revision, value: $(body.after)}}
      template:
        spec:
          params: [{{name: revision}}]
          resourcetemplates:
            - apiVersion: tekton.dev/v1
              kind: PipelineRun
              metadata: {{generateName: deliver-}}
              spec:
                pipelineRef: {{name: deliver}}
                params: [{{name: revision, value: $(tt.params.revision)}}]
---
apiVersion: v1
kind: Secret
metadata: {{name: source-hook}}
stringData: {{token: {secret}}}
"""

PIPELINE = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {{name: deliver}}
spec:
  params: [{{name: revision}}]
  results:
    - {{name: IMAGE_URL, value: $(tasks.build.results.image)}}
  tasks:
    - name: build
      params: [{{name: revision, value: $(params.revision)}}]
      taskSpec:
        params: [{{name: revision}}]
        results: [{{name: image}}]
        steps:
          - name: build
            image: alpine
            script: printf 'registry.local/app:%s' "$(params.revision)" > $(results.image.path)
    - name: handoff
      runAfter: [build]
      params: [{{name: revision, value: $(params.revision)}}]
      taskSpec:
        params: [{{name: revision}}]
        steps:
          - name: image-set
            image: gitloop
            script: |
              #!/bin/sh
              set -e
              {gitloop} image set --repo {config_url} --file dev/deployment.yaml \\
                --path '.spec.template.spec.containers[0].image' \\
                --image "registry.local/app:$(params.revision)" \\
                --source-commit "$(params.revision)" --pipelinerun "$(context.pipelineRun.name)"
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: registry.local/app:initial
"""


def _git_env() -> dict[str, str]:
    env = serve_env(Path("/nonexistent"))
    env.pop("GITLOOP_STATE_DIR")
    return env


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[str, GitServer, GitServer]]:
    """The serve URL to be, and two git servers announcing pushes to it (source → hooks, config → refresh)."""
    base = f"http://127.0.0.1:{free_port()}"
    source = GitServer(
        tmp_path / "source-repos", webhook=Webhook(f"{base}/hooks/app-source", SOURCE_SECRET), env=_git_env()
    )
    config = GitServer(
        tmp_path / "config-repos", webhook=Webhook(f"{base}/api/webhook", REFRESH_SECRET), env=_git_env()
    )
    with source, config:
        yield base, source, config


def _until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(0.1)


def _write_config(tmp_path: Path, base: str, config_url: str, extra: str = "") -> Path:
    (tmp_path / "triggers.yaml").write_text(TRIGGERS.format(secret=SOURCE_SECRET))
    (tmp_path / "pipeline.yaml").write_text(PIPELINE.format(gitloop=GITLOOP, config_url=config_url))
    (tmp_path / "refresh-secret").write_text(REFRESH_SECRET + "\n")
    config = tmp_path / "serve.yaml"
    config.write_text(
        textwrap.dedent(f"""\
            listen: {base.removeprefix("http://")}
            pollInterval: 10m
            eventListeners:
              - {{name: app-source, triggers: [triggers.yaml], pipelines: [pipeline.yaml]}}
            webhook: {{secretFile: refresh-secret}}
            """)
        + extra
    )
    return config


def _run_of(client: httpx.Client, sha: str) -> dict[str, Any] | None:
    trace = client.get(f"/api/trace/{sha}")
    if trace.status_code != 200:
        return None
    runs = [hop["run"] for hop in trace.json()["hops"] if hop["hop"] == "pipelinerun"]
    if not runs:
        return None
    run = client.get(f"/api/pipelineruns/{runs[0]}").json()
    reason = (run.get("status", {}).get("conditions") or [{}])[0].get("reason")
    return run if reason in ("Succeeded", "Failed", "CouldntGetPipeline") else None


def test_a_push_to_the_local_git_server_starts_a_pipelinerun(
    servers: tuple[str, GitServer, GitServer], tmp_path: Path
) -> None:
    base, source, config_server = servers
    config_url = config_server.create_repo("app-config")
    commit_files(config_url, {"dev/deployment.yaml": DEPLOYMENT}, "initial")
    source_url = source.create_repo("app-source")
    config = _write_config(tmp_path, base, config_url)
    with ServeProcess(config, serve_env(tmp_path / "state")) as serve, serve.client() as client:
        sha = commit_files(source_url, {"app.py": "print('v2')\n"}, "v2")
        run = _until(lambda: _run_of(client, sha), 60, "the PipelineRun of the push")
        assert run["status"]["conditions"][0]["reason"] == "Succeeded", serve.output()
        assert {"name": "IMAGE_URL", "value": f"registry.local/app:{sha}"} in run["status"]["results"]
        trace = client.get(f"/api/trace/{sha}").json()
        push = next(hop for hop in trace["hops"] if hop["hop"] == "push")
        assert push["repo"] == source_url and push["ref"] == "refs/heads/main"
        # The run's handoff pushed a config commit carrying the trailers; its webhook was read.
        config_hop = _until(
            lambda: [
                h for h in client.get(f"/api/trace/{sha}").json()["hops"] if h["hop"] == "config-commit"
            ],
            30,
            "the config commit",
        )[0]
        assert config_hop["image"] == f"registry.local/app:{sha}" and config_hop["seenVia"] == "webhook"
        assert config_hop["pipelineRun"] == run["metadata"]["name"]
        assert serve.stop() == 0
    assert SOURCE_SECRET not in serve.output() and REFRESH_SECRET not in serve.output()


def test_the_whole_loop_push_to_healthy_with_its_trace(
    servers: tuple[str, GitServer, GitServer], local_cluster: LocalCluster, tmp_path: Path
) -> None:
    base, source, config_server = servers
    suffix = uuid.uuid4().hex[:6]
    app, namespace = f"dev-{suffix}", f"loop-{suffix}"
    config_url = config_server.create_repo("app-config")
    commit_files(config_url, {"dev/deployment.yaml": DEPLOYMENT}, "initial")
    source_url = source.create_repo("app-source")
    apps = tmp_path / "apps"
    apps.mkdir()
    (apps / "dev.yaml").write_text(
        textwrap.dedent(f"""\
            apiVersion: argoproj.io/v1alpha1
            kind: Application
            metadata: {{name: {app}, namespace: argocd}}
            spec:
              project: default
              source: {{repoURL: {config_url}, targetRevision: main, path: dev}}
              destination: {{server: https://kubernetes.default.svc, namespace: {namespace}}}
              syncPolicy:
                automated: {{prune: true}}
                syncOptions: [CreateNamespace=true]
            """)
    )
    assert local_cluster.kubeconfig is not None
    extra = f"applications:\n  - files: [apps]\nclusters:\n  - {{name: local, kubeconfig: {local_cluster.kubeconfig}}}\n"
    config = _write_config(tmp_path, base, config_url, extra)
    env = serve_env(tmp_path / "state")
    env["GITLOOP_CACHE_DIR"] = str(tmp_path / "cache")
    database = tmp_path / "state" / "gitloop.db"

    def status() -> dict[str, Any]:
        return dict(client.get(f"/api/applications/{app}").json()["status"])

    def deployed(revision: str) -> bool:
        now = status()
        return (
            now["sync"]["status"] == "Synced"
            and now["sync"]["revisions"][:1] == [revision]
            and now["health"]["status"] == "Healthy"
        )

    with ServeProcess(config, env) as serve, serve.client() as client:
        initial = subprocess.run(
            ["git", "ls-remote", config_url, "refs/heads/main"],
            capture_output=True,
            text=True,
            check=True,
            env=_git_env(),
        ).stdout.split()[0]
        _until(lambda: deployed(initial), 120, "the first sync")

        sha = commit_files(source_url, {"app.py": "print('v3')\n"}, "v3")
        pushed = time.monotonic()
        hops = _until(
            lambda: [
                h for h in client.get(f"/api/trace/{sha}").json().get("hops", []) if h["hop"] == "healthy"
            ],
            120,
            "the Application to be Healthy at the new config commit",
        )
        took = time.monotonic() - pushed
        trace = client.get(f"/api/trace/{sha}").json()
        kinds = [hop["hop"] for hop in trace["hops"]]
        for expected in (
            "commit",
            "push",
            "pipelinerun",
            "pipelinerun-started",
            "pipelinerun-finished",
            "config-commit",
            "sync",
            "healthy",
        ):
            assert expected in kinds, (expected, kinds, serve.output())
        config_hop = next(hop for hop in trace["hops"] if hop["hop"] == "config-commit")
        sync = next(hop for hop in trace["hops"] if hop["hop"] == "sync")
        assert config_hop["image"] == f"registry.local/app:{sha}"
        assert (
            sync["app"] == app and sync["revision"] == config_hop["commit"] and sync["phase"] == "Succeeded"
        )
        assert hops[0]["app"] == app and deployed(config_hop["commit"])
        assert trace["leadTime"] is not None and trace["leadTime"] > 0
        assert took < 60, f"push to Healthy took {took:.1f}s"
        assert serve.stop() == 0, serve.output()

    shown = subprocess.run(
        [GITLOOP, "trace", sha[:10], "--database-url", str(database)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert f"source commit {sha}" in shown and "lead time for the change:" in shown and "healthy" in shown
    as_json = subprocess.run(
        [GITLOOP, "trace", sha, "--database-url", str(database), "-o", "json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert json.loads(as_json)["sourceCommit"] == sha
    asyncio.run(_delete_namespace(local_cluster, namespace))


async def _delete_namespace(cluster: LocalCluster, namespace: str) -> None:
    async with KubeCluster.from_kubeconfig(cluster.kubeconfig) as kube:
        with contextlib.suppress(NotFoundError):
            await kube.delete("v1", "Namespace", namespace, propagation="Background")
