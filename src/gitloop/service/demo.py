"""The demo: a real local cluster and git server, an app's manifests committed to a config repo,
applied from git with server-side apply, and watched until every resource is Healthy.

Each hop is timed; the result is a timeline the CLI prints. The full loop (pipeline, image handoff,
reconciler) builds on this once those engines exist.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gitloop.errors import SyncError
from gitloop.gitops.health import assess, worst
from gitloop.kube import KubeCluster
from gitloop.localinfra import gitseed
from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitdaemon import GitServerDaemon, ServeOptions
from gitloop.localinfra.paths import state_dir
from gitloop.model.health import HealthStatus
from gitloop.model.resources import Manifest, ResourceKey
from gitloop.spec.manifests import load_manifests

NAMESPACE = "demo"
CONFIG_REPO = "app-config"

_MANIFESTS = {
    "k8s/namespace.yaml": f"""apiVersion: v1
kind: Namespace
metadata:
  name: {NAMESPACE}
""",
    "k8s/deployment.yaml": f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: {NAMESPACE}
  labels: {{app: web}}
spec:
  replicas: 2
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
        - name: web
          image: localhost/gitloop-demo/web:0.1.0
          ports:
            - containerPort: 8080
""",
    "k8s/service.yaml": f"""apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: {NAMESPACE}
spec:
  selector: {{app: web}}
  ports:
    - port: 80
      targetPort: 8080
      protocol: TCP
""",
}


@dataclass
class Timeline:
    """Hops of the demo with the seconds each took since the start."""

    started: float = field(default_factory=time.monotonic)
    hops: list[tuple[str, float]] = field(default_factory=list)

    def mark(self, hop: str) -> None:
        self.hops.append((hop, time.monotonic() - self.started))


@dataclass(frozen=True)
class DemoResult:
    cluster: LocalCluster
    git_url: str
    config_commit: str
    resources: list[tuple[ResourceKey, HealthStatus | None, str]]
    timeline: Timeline


def _apply_order(manifest: Manifest) -> tuple[int, str]:
    return (0 if manifest.get("kind") == "Namespace" else 1, str(manifest.get("kind")))


async def _apply_and_wait(
    kubeconfig: Path, manifests: list[Manifest], timeout: float, timeline: Timeline
) -> list[tuple[ResourceKey, HealthStatus | None, str]]:
    async with KubeCluster.from_kubeconfig(kubeconfig) as kc:
        for m in sorted(manifests, key=_apply_order):
            await kc.apply(m)
        timeline.mark(f"applied {len(manifests)} resources (server-side apply, field manager gitloop)")
        deadline = time.monotonic() + timeout
        while True:
            report: list[tuple[ResourceKey, HealthStatus | None, str]] = []
            for m in manifests:
                meta = m["metadata"]
                live = await kc.get(m["apiVersion"], m["kind"], meta["name"], meta.get("namespace"))
                result = assess(live)
                # Kinds without a health rule (Namespace, ConfigMap) have no health, as in Argo CD.
                if result is None:
                    report.append((ResourceKey.of(live), None, "no health check for this kind"))
                else:
                    report.append((ResourceKey.of(live), result.status, result.message))
            if worst(s for _, s, _ in report if s is not None) is HealthStatus.HEALTHY:
                timeline.mark("every resource Healthy")
                return report
            if time.monotonic() > deadline:
                detail = "; ".join(
                    f"{k}: {s.value} {msg}" for k, s, msg in report if s and s is not HealthStatus.HEALTHY
                )
                raise SyncError(f"the demo app did not become Healthy within {timeout:.0f}s: {detail}")
            await asyncio.sleep(0.2)


def run(
    *, cluster_name: str = "demo", nodes: int = 1, timeout: float = 120.0, say: Callable[[str], None] = print
) -> DemoResult:
    """Bring up the infrastructure, commit the app to the config repo, apply it from git, wait Healthy."""
    timeline = Timeline()
    cluster = LocalCluster(cluster_name)
    say(
        f"starting local cluster {cluster_name!r} (etcd, kube-apiserver, controllers, {nodes} hollow node(s))"
    )
    cluster.up(nodes, timeout=timeout)
    timeline.mark("cluster up, nodes Ready")

    daemon = GitServerDaemon()
    info, _ = daemon.up(ServeOptions(root=state_dir() / "gitserver" / "repos"))
    url = daemon.create_repo(CONFIG_REPO, exist_ok=True)
    timeline.mark(f"git server up at {info.url}")

    sha = gitseed.commit_files(url, _MANIFESTS, "Deploy web 0.1.0 to the demo namespace")
    timeline.mark(f"config commit {sha[:12]} pushed to {CONFIG_REPO}")
    say(f"committed the app's manifests to {url} ({sha[:12]})")

    with tempfile.TemporaryDirectory(prefix="gitloop-demo-") as tmp:
        checked_out = gitseed.checkout(url, Path(tmp) / CONFIG_REPO)
        manifests = [m for _, m in load_manifests([Path(tmp) / CONFIG_REPO / "k8s"])]
    timeline.mark(f"rendered {len(manifests)} manifests from git at {checked_out[:12]}")
    say("applying from git and waiting for health")
    report = asyncio.run(_apply_and_wait(cluster.kubeconfig, manifests, timeout, timeline))
    return DemoResult(cluster, info.url, checked_out, report, timeline)


def teardown(cluster_name: str = "demo") -> None:
    """Stop what ``run`` started."""
    LocalCluster(cluster_name).down()
    GitServerDaemon().down()
