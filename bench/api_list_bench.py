"""Benchmark: one page of ``GET /api/v1/applications`` out of 10,000 Applications.

Builds ``--apps`` Applications (Application objects, their statuses in an in-memory store; no cluster,
no git) behind the real CD engine seam (``AppsRefresher`` on an ``Engine``, not started) and the real
FastAPI app, served by uvicorn on 127.0.0.1 on an ephemeral port, and measures over real HTTP the
latency of ``--requests`` requests each of:

- the first page, ``?limit=100``;
- a page from the middle of the list (its ``continue`` token);
- a filtered page, ``?limit=100&selector=team=team-3&health=Progressing`` (one Application in 20 matches,
  so the walk reads ~2,000 to fill the page);

printing p50 and p95 beside the target (< 100 ms per page at 10,000 Applications, issue 9). Every
request is authenticated and authorized as a served one is: an API token of the account ``bench``
(``role:readonly`` through the policy), each Application of a page checked against the RBAC policy
(``applications, get, <project>/<name>``) before it may be shown.

    .venv/bin/python bench/api_list_bench.py [--apps N] [--requests N]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import threading
import time
from typing import Any, cast

import httpx
import uvicorn

from gitloop.api.app import create_app
from gitloop.gitops.engine import Engine
from gitloop.gitops.source import ManifestSource
from gitloop.gitops.status import STORE_KIND, AppStatus
from gitloop.lineage import Lineage
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.sync import SyncStatus
from gitloop.service.server import Server
from gitloop.service.server.access import ServedAccess
from gitloop.service.server.cd import AppsRefresher
from gitloop.spec.argocd import Application, AppSet, Destination
from gitloop.spec.argocd.rbac_policy import parse_policy
from gitloop.spec.argocd.source import source_from_raw
from gitloop.spec.serve_auth import AuthConfig, RBACConfig
from gitloop.store.memory import MemoryStore

TARGET_MS = 100.0
POLICY = "g, bench, role:readonly\n"
HEALTHS = [HealthStatus.HEALTHY, HealthStatus.PROGRESSING, HealthStatus.DEGRADED, HealthStatus.MISSING]


def _world(count: int) -> Server:
    store = MemoryStore()
    apps = {}
    for i in range(count):
        name = f"app-{i:05d}"
        source = source_from_raw(
            {
                "repoURL": f"https://git.example.com/team-{i % 10}/config.git",
                "path": name,
                "targetRevision": "main",
            }
        )
        apps[name] = Application(
            name=name,
            sources=(source,),
            destination=Destination("https://kubernetes.default.svc", "", f"ns-{i % 50}"),
            project="default",
            labels={"team": f"team-{i % 10}", "tier": "web" if i % 2 else "worker"},
        )
        status = AppStatus(
            name,
            sync_status=SyncStatus.SYNCED if i % 3 else SyncStatus.OUT_OF_SYNC,
            revisions=("0123456789abcdef0123456789abcdef01234567",),
            health=HealthResult(HEALTHS[i % 4]),
            reconciled_at=time.time(),
            images=(f"registry.local/{name}:1",),
        )
        store.put(STORE_KIND, name, status.to_dict())

    def no_cluster(app: Application) -> Any:
        raise RuntimeError("the benchmark has no cluster")

    engine = Engine(AppSet(apps), cast(ManifestSource, None), no_cluster, store)
    lineage = Lineage(store)
    rbac = RBACConfig(policy_csv=POLICY, lines=parse_policy(POLICY, source="bench"))
    access = ServedAccess.build(store, AuthConfig(), rbac)
    access.accounts.create("bench", None)
    return Server(store, {}, lineage, AppsRefresher(engine, lineage), access_control=access)


def _serve(server: Server) -> tuple[str, uvicorn.Server, threading.Thread]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    web = uvicorn.Server(uvicorn.Config(create_app(server), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=web.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not web.started:
        time.sleep(0.01)
    return f"http://127.0.0.1:{port}", web, thread


def _measure(client: httpx.Client, params: dict[str, Any], requests: int) -> tuple[list[float], int]:
    times, shown = [], 0
    for _ in range(requests):
        started = time.perf_counter()
        answer = client.get("/api/v1/applications", params=params)
        times.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
        shown = len(answer.json()["items"])
    return times, shown


def _line(what: str, times: list[float], shown: int) -> str:
    p50 = statistics.median(times)
    p95 = statistics.quantiles(times, n=20)[18]
    verdict = "met" if p95 < TARGET_MS else "NOT met"
    return f"  {what:<52} {shown:4d} items  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms   (target < {TARGET_MS:.0f} ms: {verdict})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args(argv)
    built = time.perf_counter()
    server = _world(args.apps)
    url, web, thread = _serve(server)
    print(
        f"{args.apps} Applications in memory, served at {url} ({time.perf_counter() - built:.1f}s to build)"
    )
    try:
        _info, token = server.access.tokens.issue("bench", kind="api", expires_in=None)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, timeout=30.0, headers=headers) as client:
            started = time.perf_counter()
            client.get("/api/v1/applications", params={"limit": 100}).raise_for_status()
            print(
                f"  first request (statuses read from the store once): {(time.perf_counter() - started) * 1000:.0f} ms"
            )
            client.get(
                "/api/v1/applications", params={"health": "Unknown"}
            ).raise_for_status()  # every status loaded
            middle = client.get("/api/v1/applications", params={"limit": args.apps // 2}).json()["metadata"][
                "continue"
            ]
            cases = [
                ("GET /api/v1/applications?limit=100", {"limit": 100}),
                ("… the page in the middle (continue)", {"limit": 100, "continue": middle}),
                (
                    "… filtered: selector=team=team-3&health=Progressing",
                    {"limit": 100, "selector": "team=team-3", "health": "Progressing"},
                ),
            ]
            for what, params in cases:
                _measure(client, params, 5)  # warm
                print(_line(what, *_measure(client, params, args.requests)))
    finally:
        web.should_exit = True
        thread.join(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
