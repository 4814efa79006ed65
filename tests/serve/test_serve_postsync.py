"""Acceptance scenario 6 with a real ``gitloop serve``, cluster and git server: a successful sync starts the
Application's post-sync pipeline, which receives the synced revision, the image tags, the source commit
and the app name as params (the "how do I pass the commit SHA into the PipelineRun" problem of the Argo
CD PostSync-Job pattern); it runs once per sync operation, a restart does not run it again, and the
lineage of the source commit shows it. An Application naming an unknown pipeline stops the start."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from serve_process import GITLOOP, ServeProcess, serve_env

from gitloop.errors import NotFoundError
from gitloop.kube import KubeCluster
from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitseed import commit_files
from gitloop.localinfra.gitserver import GitServer

pytestmark = pytest.mark.integration

SOURCE = "5" * 40

REPORT = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: report}
spec:
  params:
    - {name: app-name}
    - {name: revision}
    - {name: image}
    - {name: images, type: array}
    - {name: source-commit}
    - {name: note}
  results:
    - {name: seen, value: $(tasks.report.results.seen)}
  tasks:
    - name: report
      params:
        - {name: line, value: "$(params.app-name) $(params.revision) $(params.image) $(params.source-commit) $(params.note)"}
        - {name: images, value: ["$(params.images[*])"]}
      taskSpec:
        params: [{name: line}, {name: images, type: array}]
        results: [{name: seen}]
        steps:
          - name: report
            image: alpine
            args: ["$(params.images[*])"]
            script: |
              #!/bin/sh
              printf '%s images=%s' "$(params.line)" "$*" | tee $(results.seen.path)
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
        - {name: web, image: "registry.local/app:v1"}
        - {name: side, image: "registry.local/side:2"}
"""


def _until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(0.1)
    return found


def _post_sync_runs(client: httpx.Client, app: str) -> list[dict[str, Any]]:
    items = client.get("/api/pipelineruns").json()["items"]
    return [r for r in items if r["metadata"].get("labels", {}).get("gitloop.dev/application") == app]


def _write(tmp_path: Path, app: str, namespace: str, repo: str, cluster: LocalCluster, pipeline: str) -> Path:
    (tmp_path / "apps").mkdir(exist_ok=True)
    (tmp_path / "apps" / "app.yaml").write_text(
        textwrap.dedent(f"""\
            apiVersion: argoproj.io/v1alpha1
            kind: Application
            metadata:
              name: {app}
              namespace: argocd
              annotations:
                gitloop.dev/post-sync-pipeline: {pipeline}
                gitloop.dev/post-sync-param.note: hello
            spec:
              project: default
              source: {{repoURL: {repo}, targetRevision: main, path: k8s}}
              destination: {{server: https://kubernetes.default.svc, namespace: {namespace}}}
              syncPolicy:
                automated: {{prune: true}}
                syncOptions: [CreateNamespace=true]
            """)
    )
    (tmp_path / "post-sync.yaml").write_text(REPORT)
    config = tmp_path / "serve.yaml"
    config.write_text(
        "listen: 127.0.0.1:0\npollInterval: 10m\npostSync: {pipelines: [post-sync.yaml]}\n"
        f"applications:\n  - files: [apps]\nclusters:\n  - {{name: local, kubeconfig: {cluster.kubeconfig}}}\n"
    )
    return config


def test_a_successful_sync_runs_the_post_sync_pipeline_with_what_was_synced(
    local_cluster: LocalCluster, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:6]
    app, namespace = f"post-{suffix}", f"post-{suffix}"
    env = serve_env(tmp_path / "state")
    env["GITLOOP_CACHE_DIR"] = str(tmp_path / "cache")
    git_env = dict(env)
    git_env.pop("GITLOOP_STATE_DIR")
    with GitServer(tmp_path / "repos", env=git_env) as git:
        repo = git.create_repo("config")
        message = f"deploy v1\n\nGitloop-Source-Commit: {SOURCE}\nGitloop-Image: registry.local/app:v1\n"
        commit = commit_files(repo, {"k8s/deployment.yaml": DEPLOYMENT}, message)

        bad = _write(tmp_path, app, namespace, repo, local_cluster, "nope")
        refused = subprocess.run(
            [GITLOOP, "serve", "--config", str(bad)], env=env, capture_output=True, text=True
        )
        assert refused.returncode == 2 and "no Pipeline 'nope' (known: report)" in refused.stderr

        config = _write(tmp_path, app, namespace, repo, local_cluster, "report")
        try:
            with ServeProcess(config, env) as serve, serve.client() as client:
                (run,) = _until(lambda: _post_sync_runs(client, app), 90, "the post-sync PipelineRun")
                name = run["metadata"]["name"]
                done = _until(
                    lambda: (
                        (r := client.get(f"/api/pipelineruns/{name}").json())["status"]["conditions"][0][
                            "reason"
                        ]
                        in ("Succeeded", "Failed")
                        and r
                    ),
                    60,
                    "the post-sync run to end",
                )
                assert done["status"]["conditions"][0]["reason"] == "Succeeded", serve.output()
                params = {p["name"]: p["value"] for p in done["spec"]["params"]}
                images = ["registry.local/app:v1", "registry.local/side:2"]
                assert params == {
                    "app-name": app,
                    "revision": commit,
                    "image": images[0],
                    "images": images,
                    "source-commit": SOURCE,
                    "note": "hello",
                }
                (seen,) = done["status"]["results"]
                expected = f"{app} {commit} {images[0]} {SOURCE} hello images={' '.join(images)}"
                assert seen == {"name": "seen", "value": expected}
                status = client.get(f"/api/applications/{app}").json()["status"]
                assert (
                    done["metadata"]["annotations"]["gitloop.dev/operation"] == status["operationState"]["id"]
                )

                trace = client.get(f"/api/trace/{SOURCE}").json()
                kinds = [h["hop"] for h in trace["hops"]]
                for kind in ("sync", "healthy", "post-sync", "post-sync-started", "post-sync-finished"):
                    assert kind in kinds, (kind, kinds)
                assert kinds.index("healthy") < kinds.index("post-sync")
                assert serve.stop() == 0

            with ServeProcess(config, env) as again, again.client() as client:
                _until(
                    lambda: (
                        client.get(f"/api/applications/{app}").json()["status"]["health"]["status"]
                        == "Healthy"
                    ),
                    60,
                    "Healthy after the restart",
                )
                time.sleep(2)
                assert [r["metadata"]["name"] for r in _post_sync_runs(client, app)] == [name], (
                    "once per sync"
                )
                assert again.stop() == 0
        finally:
            asyncio.run(_delete(local_cluster, namespace))


async def _delete(cluster: LocalCluster, namespace: str) -> None:
    async with KubeCluster.from_kubeconfig(cluster.kubeconfig) as kube:
        with contextlib.suppress(NotFoundError):
            await kube.delete("v1", "Namespace", namespace, propagation="Background")
