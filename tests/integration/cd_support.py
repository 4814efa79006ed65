"""Helpers of the CD integration tests: an Application pointing at a fresh repository of the local git
server, deployed to a fresh namespace of the local cluster, with its own store."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import tempfile
import textwrap
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from lightkube import AsyncClient
from lightkube.config.kubeconfig import KubeConfig
from lightkube.types import PatchType

from gitloop.errors import NotFoundError
from gitloop.kube import KubeCluster
from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitrepos import git_executable
from gitloop.localinfra.gitseed import commit_files
from gitloop.localinfra.gitserver import GitServer
from gitloop.service.apps import AppsConfig

T = TypeVar("T")


def deployment(name: str, replicas: int = 1, annotations: Mapping[str, str] | None = None) -> str:
    notes = f", annotations: {dict(annotations)}" if annotations else ""
    return textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: {name}{notes}}}
        spec:
          replicas: {replicas}
          selector: {{matchLabels: {{app: {name}}}}}
          template:
            metadata: {{labels: {{app: {name}}}}}
            spec:
              containers:
                - name: web
                  image: localhost/{name}:1
                  ports: [{{containerPort: 8080}}]
        """)


def service(name: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: v1
        kind: Service
        metadata: {{name: {name}}}
        spec:
          selector: {{app: {name}}}
          ports: [{{port: 80, targetPort: 8080}}]
        """)


def configmap(name: str, annotations: Mapping[str, str] | None = None, data: str = "v1") -> str:
    notes = f", annotations: {dict(annotations)}" if annotations else ""
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}{notes}}}\ndata: {{version: {data}}}\n"


def job(name: str, annotations: Mapping[str, str], *, fails: bool = False) -> str:
    # The hollow node runs no containers: a Job of zero completions completes at once, and one with a
    # one-second deadline fails (DeadlineExceeded) — both decided by the real Job controller.
    run = ["activeDeadlineSeconds: 1", "backoffLimit: 0"] if fails else ["completions: 0"]
    return (
        f"apiVersion: batch/v1\nkind: Job\nmetadata: {{name: {name}, annotations: {dict(annotations)}}}\nspec:\n"
        + "".join(f"  {line}\n" for line in run)
        + '  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: run, image: "localhost/tool:1"}]\n'
    )


@dataclass
class CdWorld:
    """One test's Application: repository, namespace, apps file, store."""

    cluster: LocalCluster
    app: str
    """The Application's name: unique per test, since it is the tracking identity of its objects."""
    repo_url: str
    namespace: str
    apps_file: Path
    database: Path
    mirrors: Path

    @classmethod
    def create(
        cls,
        local_cluster: LocalCluster,
        git_server: GitServer,
        tmp_path: Path,
        files: Mapping[str, str],
        *,
        policy: str = "",
        name: str = "app",
        path: str = "k8s",
    ) -> CdWorld:
        suffix = uuid.uuid4().hex[:6]
        name = f"{name}-{suffix}"
        url = git_server.create_repo(f"cd-{suffix}")
        commit_files(url, files, "initial manifests")
        namespace = f"cd-{suffix}"
        apps_file = tmp_path / "apps" / "app.yaml"
        apps_file.parent.mkdir(parents=True, exist_ok=True)
        apps_file.write_text(
            textwrap.dedent(f"""\
                apiVersion: argoproj.io/v1alpha1
                kind: Application
                metadata: {{name: {name}, namespace: argocd}}
                spec:
                  project: default
                  source: {{repoURL: {url}, targetRevision: main, path: {path}}}
                  destination: {{server: https://kubernetes.default.svc, namespace: {namespace}}}
                """)
            + textwrap.indent(textwrap.dedent(policy), "  ")
        )
        return cls(
            local_cluster, name, url, namespace, apps_file, tmp_path / "gitloop.db", tmp_path / "mirrors"
        )

    def config(self, **extra: Any) -> AppsConfig:
        return AppsConfig(
            paths=(str(self.apps_file),),
            kubeconfig=str(self.cluster.kubeconfig),
            database_url=str(self.database),
            mirrors=str(self.mirrors),
            **extra,
        )

    def cli_args(self) -> list[str]:
        return [
            "-f",
            str(self.apps_file),
            "--kubeconfig",
            str(self.cluster.kubeconfig),
            "--database-url",
            str(self.database),
        ]

    def commit(self, files: Mapping[str, str | None], message: str = "change") -> str:
        """Commit ``files`` (``None`` deletes a file) and push."""
        kept = {k: v for k, v in files.items() if v is not None}
        removed = [k for k, v in files.items() if v is None]
        if removed:
            return _commit_removal(self.repo_url, kept, removed, message)
        return commit_files(self.repo_url, kept, message)

    async def live(self, api_version: str, kind: str, name: str) -> dict[str, Any] | None:
        async with KubeCluster.from_kubeconfig(self.cluster.kubeconfig) as kc:
            try:
                return await kc.get(api_version, kind, name, self.namespace)
            except NotFoundError:
                return None

    async def scale(self, name: str, replicas: int) -> None:
        """``kubectl scale``: a merge patch of ``spec.replicas`` by another field manager."""
        from lightkube.resources.apps_v1 import Deployment

        client = AsyncClient(KubeConfig.from_file(self.cluster.kubeconfig), field_manager="kubectl-scale")
        try:
            await client.patch(
                Deployment,
                name,
                {"spec": {"replicas": replicas}},
                namespace=self.namespace,
                patch_type=PatchType.MERGE,
            )
        finally:
            await client.close()

    async def cleanup(self) -> None:
        async with KubeCluster.from_kubeconfig(self.cluster.kubeconfig) as kc:
            with contextlib.suppress(NotFoundError):
                await kc.delete("v1", "Namespace", self.namespace, propagation="Background")


def _commit_removal(url: str, files: Mapping[str, str], removed: list[str], message: str) -> str:
    """Clone, remove ``removed``, write ``files``, commit and push; the new commit's SHA."""
    identity = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid"}
    env = {**os.environ, **identity, "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}

    def git(*args: str, cwd: Path | None = None) -> str:
        done = subprocess.run(
            [git_executable(), *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "work"
        git("clone", "--quiet", url, str(work))
        for path in removed:
            git("rm", "--quiet", path, cwd=work)
        for path, text in files.items():
            (work / path).parent.mkdir(parents=True, exist_ok=True)
            (work / path).write_text(text)
        git("add", "--all", cwd=work)
        git("commit", "--quiet", "-m", message, cwd=work)
        git("push", "--quiet", "origin", "HEAD:main", cwd=work)
        return git("rev-parse", "HEAD", cwd=work)


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float, what: str) -> T:
    """Poll ``check`` every 50 ms until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)
