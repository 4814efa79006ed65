"""``kill -9`` of a real ``gitloop serve`` process, then a restart on the same store.

During a PipelineRun: the step dies with the server (its watcher kills it), and the next server ends
the run as Failed with reason ``Interrupted`` (not resumed), and keeps everything recorded before the
kill — the TaskRun that had finished, the logs, the lineage. During a sync: the next server resumes the very same
sync operation (same id) from where it was, and it completes; the history has it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from serve_fakes import TESTDATA, github_headers, github_push
from serve_process import ServeProcess, serve_env

from gitloop.errors import NotFoundError
from gitloop.gitops.history import history_owner
from gitloop.gitops.operation import STORE_KIND, SyncOperation
from gitloop.kube import KubeCluster
from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitseed import commit_files
from gitloop.localinfra.gitserver import GitServer
from gitloop.store import open_store

pytestmark = pytest.mark.integration

LONG = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {{name: build}}
spec:
  params: [{{name: revision}}, {{name: url}}]
  tasks:
    - name: first
      taskSpec:
        steps:
          - {{name: hello, image: alpine, script: "echo first task done"}}
    - name: long
      runAfter: [first]
      taskSpec:
        steps:
          - name: wait
            image: alpine
            script: |
              #!/bin/sh
              echo "long step started"
              echo $$ > {pid_file}
              exec sleep 120
"""


def _until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(0.05)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    return True


def _condition(doc: dict[str, Any]) -> dict[str, Any]:
    conditions = doc.get("status", {}).get("conditions") or [{}]
    return dict(conditions[0])


def test_kill_9_during_a_pipelinerun_ends_it_interrupted(tmp_path: Path) -> None:
    pid_file = tmp_path / "step.pid"
    pipeline = tmp_path / "long.yaml"
    pipeline.write_text(LONG.format(pid_file=pid_file))
    config = tmp_path / "serve.yaml"
    config.write_text(
        textwrap.dedent(f"""\
            listen: 127.0.0.1:0
            eventListeners:
              - name: github
                triggers: [{TESTDATA / "listeners.yaml"}]
                pipelines: [{pipeline}]
                secrets: [{TESTDATA / "secrets.yaml"}]
            """)
    )
    env = serve_env(tmp_path / "state")
    revision = "c" * 40
    with ServeProcess(config, env) as serve, serve.client() as client:
        body = github_push(after=revision)
        answer = client.post("/hooks/github", content=body, headers=github_headers(body))
        assert answer.status_code == 202, answer.text
        name = answer.json()["created"][0]["name"]
        logs = f"/api/pipelineruns/{name}/logs?format=text"
        _until(lambda: pid_file.exists() and "long step started" in client.get(logs).text, 60, "the step")
        step = int(pid_file.read_text())
        os.kill(serve.process.pid, signal.SIGKILL)
        serve.process.wait(10)
    _until(lambda: not _alive(step), 10, "the dead server's step to die with it (its watcher kills it)")
    assert (tmp_path / "state" / "runs" / name).is_dir()

    with ServeProcess(config, env) as again, again.client() as client:
        run = client.get(f"/api/pipelineruns/{name}").json()
        assert _condition(run)["status"] == "False" and _condition(run)["reason"] == "Interrupted", run
        assert "was not resumed" in _condition(run)["message"]
        children = {
            tr["metadata"]["labels"]["tekton.dev/pipelineTask"]: tr
            for tr in client.get(f"/api/pipelineruns/{name}/taskruns").json()["items"]
        }
        assert _condition(children["first"])["reason"] == "Succeeded", "what finished is kept"
        assert _condition(children["long"])["reason"] == "Interrupted"
        text = client.get(logs).text
        assert "first task done" in text and "long step started" in text, text
        trace = client.get(f"/api/trace/{revision}").json()
        finished = [h for h in trace["hops"] if h["hop"] == "pipelinerun-finished"]
        assert [h["reason"] for h in finished] == ["Interrupted"]
        assert [h["hop"] for h in trace["hops"]][:4] == [
            "commit",
            "push",
            "pipelinerun",
            "pipelinerun-started",
        ]
        assert "ended as Interrupted" in again.output()
        assert client.get("/healthz").json()["status"] == "ok"
        assert again.stop() == 0
    _until(lambda: not _alive(step), 10, "the leftover step to be killed")
    assert not (tmp_path / "state" / "runs" / name).exists()


def _slow_deployment(name: str) -> str:
    # minReadySeconds keeps wave 0 Progressing for a few seconds after its pod is Ready.
    return textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: {name}, annotations: {{argocd.argoproj.io/sync-wave: "0"}}}}
        spec:
          minReadySeconds: 6
          replicas: 1
          selector: {{matchLabels: {{app: {name}}}}}
          template:
            metadata: {{labels: {{app: {name}}}}}
            spec:
              containers: [{{name: web, image: "localhost/{name}:1"}}]
        """)


def _stored(database: Path, app: str) -> SyncOperation | None:
    if not database.exists():
        return None
    store = open_store(str(database))
    try:
        found = store.get(STORE_KIND, app)
        return None if found is None else SyncOperation.from_dict(found.doc)
    finally:
        store.close()


async def _live(cluster: LocalCluster, namespace: str, name: str) -> bool:
    async with KubeCluster.from_kubeconfig(cluster.kubeconfig) as kube:
        try:
            await kube.get("v1", "ConfigMap", name, namespace)
        except NotFoundError:
            return False
        return True


async def _delete(cluster: LocalCluster, namespace: str) -> None:
    async with KubeCluster.from_kubeconfig(cluster.kubeconfig) as kube:
        with contextlib.suppress(NotFoundError):
            await kube.delete("v1", "Namespace", namespace, propagation="Background")


def test_kill_9_during_a_sync_resumes_the_operation(local_cluster: LocalCluster, tmp_path: Path) -> None:
    git_env = serve_env(tmp_path / "git")
    git_env.pop("GITLOOP_STATE_DIR")
    with GitServer(tmp_path / "repos", env=git_env) as git_server:
        _sync_killed_and_resumed(local_cluster, git_server, tmp_path)


def _sync_killed_and_resumed(local_cluster: LocalCluster, git_server: GitServer, tmp_path: Path) -> None:
    suffix = uuid.uuid4().hex[:6]
    app, namespace = f"kill-{suffix}", f"kill-{suffix}"
    repo = git_server.create_repo(f"kill-config-{suffix}")
    wave1 = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: after, annotations: {argocd.argoproj.io/sync-wave: '1'}}\ndata: {v: '1'}\n"
    commit_files(repo, {"k8s/a-slow.yaml": _slow_deployment("slow"), "k8s/b-after.yaml": wave1}, "app")
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "app.yaml").write_text(
        textwrap.dedent(f"""\
            apiVersion: argoproj.io/v1alpha1
            kind: Application
            metadata: {{name: {app}, namespace: argocd}}
            spec:
              project: default
              source: {{repoURL: {repo}, targetRevision: main, path: k8s}}
              destination: {{server: https://kubernetes.default.svc, namespace: {namespace}}}
              syncPolicy:
                automated: {{prune: true}}
                syncOptions: [CreateNamespace=true]
            """)
    )
    config = tmp_path / "serve.yaml"
    config.write_text(
        f"listen: 127.0.0.1:0\npollInterval: 10m\napplications:\n  - files: [apps]\n"
        f"clusters:\n  - {{name: local, kubeconfig: {local_cluster.kubeconfig}}}\n"
    )
    env = serve_env(tmp_path / "state")
    env["GITLOOP_CACHE_DIR"] = str(tmp_path / "cache")
    database = tmp_path / "state" / "gitloop.db"
    try:
        with ServeProcess(config, env) as serve:

            def in_wave_0() -> bool:
                stored = _stored(database, app)
                return stored is not None and stored.state is not None and bool(stored.times)

            _until(in_wave_0, 60, "the sync operation to be under way")
            os.kill(serve.process.pid, signal.SIGKILL)
            serve.process.wait(10)
        interrupted = _stored(database, app)
        assert interrupted is not None and interrupted.phase.value == "Running"
        assert not asyncio.run(_live(local_cluster, namespace, "after")), "wave 1 waits for wave 0"

        with ServeProcess(config, env) as again, again.client() as client:
            done = _until(
                lambda: (op := _stored(database, app)) is not None and op.completed and op, 90, "the resume"
            )
            assert done.id == interrupted.id, "the same operation was resumed, not a new one started"
            assert done.phase.value == "Succeeded", done.summary().message
            assert asyncio.run(_live(local_cluster, namespace, "after"))
            status: dict[str, Any] = _until(
                lambda: (
                    (s := client.get(f"/api/applications/{app}").json()["status"])["health"]["status"]
                    == "Healthy"
                    and s
                ),
                60,
                "Healthy",
            )
            assert status["sync"]["status"] == "Synced"
            assert again.stop() == 0
        store = open_store(str(database))
        try:
            assert [e.doc["operation"] for e in store.history(history_owner(app))] == [interrupted.id]
        finally:
            store.close()
    finally:
        asyncio.run(_delete(local_cluster, namespace))
