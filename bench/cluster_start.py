"""Benchmark: how fast a local control plane comes up, with the binaries already cached.

Prints, for a fresh cluster in a throw-away state directory: seconds until kube-apiserver answers
/readyz, seconds until the hollow node is Ready (the whole ``up``), and the cost of a second ``up``
on the running cluster (the idempotent no-op). Each figure is printed beside its anchor: the
figures LOCAL-INFRA.md measured for the same components started by hand.

    make bench            # or: .venv/bin/python bench/cluster_start.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from gitloop.localinfra import kubebuild
from gitloop.localinfra.cluster import LocalCluster

ANCHOR_API_READY_S = 4.0  # LOCAL-INFRA.md: "apiserver ready in 4 s"
ANCHOR_NODE_READY_S = 15.0  # LOCAL-INFRA.md: "node Ready in 15 s"


def _one(root: Path, index: int) -> tuple[float, float, float]:
    lc = LocalCluster(f"bench-{index}", root=root)
    api_ready: list[float] = []
    started = time.monotonic()

    # Time to /readyz is observed from a side thread while ``up`` runs.
    import threading

    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            try:
                if lc.state_file.exists() and (lc.dir / "pki" / "ca.crt").exists() and lc.kubeconfig.exists():
                    with lc.client() as c:
                        if c.get("/readyz").status_code == 200:
                            api_ready.append(time.monotonic() - started)
                            return
            except (httpx.HTTPError, OSError, ValueError, KeyError, TypeError):
                pass
            time.sleep(0.05)

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    try:
        lc.up(nodes=1, timeout=180)
        node_ready = time.monotonic() - started
        stop.set()
        t.join(2)
        again = time.monotonic()
        lc.up(nodes=1)
        noop = time.monotonic() - again
    finally:
        stop.set()
        lc.down()
    return (api_ready[0] if api_ready else float("nan")), node_ready, noop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    kubebuild.build()
    results = []
    with tempfile.TemporaryDirectory(prefix="gitloop-bench-") as tmp:
        for i in range(args.runs):
            results.append(_one(Path(tmp), i))
    api = statistics.median(r[0] for r in results)
    node = statistics.median(r[1] for r in results)
    noop = statistics.median(r[2] for r in results)
    print(f"cluster start, binaries cached, median of {args.runs} runs")
    print(
        f"  apiserver ready (cold start)  {api:6.2f} s   anchor {ANCHOR_API_READY_S:.0f} s by hand   ratio {api / ANCHOR_API_READY_S:.2f}"
    )
    print(
        f"  node Ready (cold start)       {node:6.2f} s   anchor {ANCHOR_NODE_READY_S:.0f} s by hand  ratio {node / ANCHOR_NODE_READY_S:.2f}"
    )
    print(
        f"  up on a running cluster (warm) {noop * 1000:5.0f} ms  anchor: the cold start above, ratio {noop / node:.4f}"
    )


if __name__ == "__main__":
    main()
