"""Benchmark: the CD engine on the local cluster and git server.

(a) commit-to-synced latency: one Application of 3 resources (Deployment, Service, ConfigMap) with
    automated sync, reconciled by the loop (``gitloop app watch``'s engine); each run pushes a commit
    changing the ConfigMap, calls the refresh trigger (what a push webhook does) and measures until
    the Application is Synced at the new commit with its sync operation finished. Anchor: Argo CD
    polls git every 120-180 s (3 min default, jittered) and pauses 2 s between sync waves.
(b) N Applications x 10 resources from one repository (N configurable; the issue's figure is 1,000):
    cold sync of all (loop start until every Application is Synced, its operation done), a refresh of
    all with nothing changed (trigger until every Application was reconciled again), and the peak RSS
    of the process running the engine. Anchors: Flux's benchmark, 4 min 13 s for 1,000
    Kustomizations; Argo CD users report reconciliation stalling around 1,250 Applications
    (argo-cd#17818). Goals: cold < 2 min, no-change refresh < 2 s, RSS < 400 MB (at N = 1,000).

    .venv/bin/python bench/cd_bench.py [--runs 20] [--apps 100] [--nodes 2] [--skip-latency|--skip-scale]

Starts its own cluster and git server in a throw-away state directory, and stops them at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from gitloop.gitops.engine import Engine
from gitloop.gitops.status import AppStatus
from gitloop.localinfra import kubebuild
from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitseed import commit_files
from gitloop.localinfra.gitserver import GitServer
from gitloop.model.sync import SyncStatus
from gitloop.service.apps import AppsConfig, open_apps

ANCHOR_POLL_S = (120.0, 180.0)
ANCHOR_FLUX_1000_S = 253.0
GOAL_LATENCY_P50_S = 1.0
GOAL_COLD_S = 120.0
GOAL_REFRESH_S = 2.0
GOAL_RSS_MB = 400.0


def _app(name: str, url: str, path: str, namespace: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {{name: {name}}}
        spec:
          project: default
          source: {{repoURL: {url}, targetRevision: main, path: {path}}}
          destination: {{server: https://kubernetes.default.svc, namespace: {namespace}}}
          syncPolicy:
            automated: {{prune: true, selfHeal: true}}
            syncOptions: [CreateNamespace=true]
        ---
        """)


def _three(version: int) -> dict[str, str]:
    return {
        "web/deployment.yaml": textwrap.dedent("""\
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web}
            spec:
              replicas: 1
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: web}}
                spec: {containers: [{name: web, image: "localhost/web:1", ports: [{containerPort: 8080}]}]}
            """),
        "web/service.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
        "spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}\n",
        "web/config.yaml": f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: web}}\ndata: {{version: '{version}'}}\n",
    }


def _ten(prefix: str) -> str:
    """Ten objects of one Application: a Deployment of 0 replicas, a ServiceAccount, 2 Secrets, 6 ConfigMaps."""
    docs = [
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {prefix}-worker}}\nspec:\n  replicas: 0\n"
        f"  selector: {{matchLabels: {{app: {prefix}}}}}\n  template:\n    metadata: {{labels: {{app: {prefix}}}}}\n"
        f'    spec: {{containers: [{{name: w, image: "localhost/w:1"}}]}}\n',
        f"apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: {prefix}-sa}}\n",
    ]
    docs += [
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: {prefix}-s{i}}}\nstringData: {{k: v{i}}}\n"
        for i in range(2)
    ]
    docs += [
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {prefix}-c{i}}}\ndata: {{k: v{i}}}\n"
        for i in range(6)
    ]
    return "---\n".join(docs)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _until(check: Callable[[], bool], timeout: float, *, poll: float = 0.01) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"not done after {timeout:.0f}s")
        await asyncio.sleep(poll)
    return time.monotonic() - started


def _settled(apps: Engine, name: str, revision: str | None = None) -> bool:
    status = apps.status(name)
    return (
        status.sync_status is SyncStatus.SYNCED
        and (revision is None or status.revision == revision)
        and not apps.operating(name)
        and status.operation is not None
        and status.operation.completed
    )


async def latency(cluster: LocalCluster, server: GitServer, work: Path, runs: int) -> list[float]:
    url = server.create_repo("latency")
    commit_files(url, _three(0), "web v0")
    (work / "latency.yaml").write_text(_app("web", url, "web", "latency"))
    config = AppsConfig(
        paths=(str(work / "latency.yaml"),),
        kubeconfig=str(cluster.kubeconfig),
        database_url=str(work / "latency.db"),
        mirrors=str(work / "mirrors"),
    )
    took: list[float] = []
    async with open_apps(config) as apps:
        stop = asyncio.Event()
        loop = asyncio.create_task(apps.run(stop))
        await _until(lambda: _settled(apps, "web"), 120)
        for run in range(1, runs + 1):
            sha = commit_files(url, {"web/config.yaml": _three(run)["web/config.yaml"]}, f"web v{run}")
            started = time.monotonic()
            apps.trigger(["web"])
            await _until(lambda sha=sha: _settled(apps, "web", sha), 60)  # type: ignore[misc]
            took.append(time.monotonic() - started)
        stop.set()
        await loop
    return took


async def scale(cluster: LocalCluster, server: GitServer, work: Path, count: int) -> tuple[float, float, int]:
    url = server.create_repo("fleet")
    files = {f"apps/app-{i:04d}/objects.yaml": _ten(f"a{i:04d}") for i in range(count)}
    commit_files(url, files, f"{count} apps")
    (work / "fleet.yaml").write_text(
        "".join(_app(f"app-{i:04d}", url, f"apps/app-{i:04d}", f"fleet-{i % 10}") for i in range(count))
    )
    config = AppsConfig(
        paths=(str(work / "fleet.yaml"),),
        kubeconfig=str(cluster.kubeconfig),
        database_url=str(work / "fleet.db"),
        mirrors=str(work / "mirrors"),
    )
    names = [f"app-{i:04d}" for i in range(count)]
    settled: set[str] = set()
    refreshed: set[str] = set()
    async with open_apps(config) as apps:

        def seen(status: AppStatus) -> None:
            # Called on every stored status change: no polling of 1,000 statuses from the benchmark.
            if _settled(apps, status.name):
                settled.add(status.name)

        apps.listeners.append(seen)
        stop = asyncio.Event()
        loop = asyncio.create_task(apps.run(stop))
        cold = await _until(lambda: len(settled) == count, 1800, poll=0.1)
        await asyncio.sleep(2.0)  # let the events of the cold sync die down
        apps.refreshed.append(lambda status: refreshed.add(status.name))
        apps.trigger()
        refresh = await _until(lambda: len(refreshed) == count, 600, poll=0.01)
        renders = apps.sources.renders
        stop.set()
        await loop
    assert set(names) == settled
    return cold, refresh, renders


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20, help="commits for the latency figure")
    parser.add_argument("--apps", type=int, default=100, help="Applications for the scale figure")
    parser.add_argument("--nodes", type=int, default=1, help="hollow nodes")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-scale", action="store_true")
    args = parser.parse_args()

    kubebuild.build()
    with tempfile.TemporaryDirectory(prefix="gitloop-cd-bench-") as tmp:
        work = Path(tmp)
        cluster = LocalCluster("cd-bench", root=work / "state")
        started = time.monotonic()
        cluster.up(nodes=args.nodes, timeout=240)
        print(f"cluster up with {args.nodes} hollow node(s) in {time.monotonic() - started:.1f}s")
        server = GitServer(work / "repos")
        server.start()
        try:
            if not args.skip_latency:
                took = asyncio.run(latency(cluster, server, work, args.runs))
                p50, p90 = statistics.median(took), _pct(took, 0.9)
                print(
                    f"(a) commit-to-synced after a refresh trigger, 3 resources, {len(took)} commits: "
                    f"p50 {p50:.3f}s  p90 {p90:.3f}s  max {max(took):.3f}s  "
                    f"(anchor: Argo CD polls every {ANCHOR_POLL_S[0]:.0f}-{ANCHOR_POLL_S[1]:.0f}s; "
                    f"goal p50 < {GOAL_LATENCY_P50_S:.0f}s; p50/poll-min ratio {p50 / ANCHOR_POLL_S[0]:.4f})"
                )
            if not args.skip_scale:
                cold, refresh, renders = asyncio.run(scale(cluster, server, work, args.apps))
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(
                    f"(b) {args.apps} Applications x 10 resources: cold sync {cold:.1f}s "
                    f"(goal < {GOAL_COLD_S:.0f}s at 1,000; Flux anchor {ANCHOR_FLUX_1000_S:.0f}s at 1,000), "
                    f"no-change refresh of all {refresh:.2f}s (goal < {GOAL_REFRESH_S:.0f}s), "
                    f"renders {renders}, peak RSS {rss:.0f} MB (goal < {GOAL_RSS_MB:.0f} MB)"
                )
        finally:
            server.stop()
            cluster.down()


if __name__ == "__main__":
    main()
