"""Benchmark: the whole loop of ``gitloop demo``, source push → app Healthy, hop by hop.

Brings the demo up once (local cluster, git server, ``gitloop serve``, first deployments) in a state
directory of its own, then pushes ``--loops`` changes to app-source one after another (each followed
through dev, staging and the prod proposal before the next), and reports, per leg of the critical path
to web-dev Healthy, the median and the range:

- git push → webhook received, webhook → PipelineRun started (goal < 100 ms), PipelineRun → config
  commit pushed, config commit → sync started, the sync, sync → Healthy (the cluster's rollout);
- push → Healthy; the app's own tests and image build (from the TaskRuns' step times); gitloop's
  overhead = the total without them (goal < 2 s), also without the cluster's rollout.

Anchors: Tekton + Argo CD spend >= 15 s in pod start-up alone (a pod per TaskRun, ~5 s each on kind,
tektoncd/pipeline#10152) and up to 180 s waiting for Argo CD's poll without a webhook.

    .venv/bin/python bench/loop_bench.py [--loops N] [--cluster NAME] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from gitloop.service.demo import Demo, DemoOptions
from gitloop.service.demo.timeline import LoopTimes

ANCHOR_POD_STARTUP_S = 15.0
ANCHOR_POLL_S = 180.0
GOAL_OVERHEAD_S = 2.0
GOAL_WEBHOOK_MS = 100.0


def _row(name: str, values: list[float], unit: str = "s", scale: float = 1.0) -> str:
    shown = [v * scale for v in values]
    med = statistics.median(shown)
    return f"  {name:<40} {med:9.3f}{unit}   [{min(shown):.3f} – {max(shown):.3f}]"


def report(runs: list[LoopTimes]) -> list[str]:
    lines = [f"source push → web-dev Healthy, {len(runs)} loop(s): median [min – max]"]
    for i, leg in enumerate(runs[0].legs):
        lines.append(_row(leg.name, [r.legs[i].seconds for r in runs]))
    lines.append(_row("push → Healthy (total)", [r.total for r in runs]))
    lines.append(_row("the app's own tests and build", [r.own for r in runs]))
    overhead = [r.overhead for r in runs]
    lines.append(_row("gitloop's overhead (total − own)", overhead))
    lines.append(_row("  … without the cluster's rollout", [r.overhead_without_rollout for r in runs]))
    webhook = [r.webhook_to_run for r in runs]
    lines.append(_row("webhook → PipelineRun started", webhook, "ms", 1000.0))
    med_overhead, med_webhook = statistics.median(overhead), statistics.median(webhook) * 1000
    lines.append(
        f"gitloop's overhead {med_overhead:.2f}s (goal < {GOAL_OVERHEAD_S:.0f}s; anchor: Tekton + Argo CD "
        f">= {ANCHOR_POD_STARTUP_S:.0f}s of pod start-up, up to {ANCHOR_POLL_S:.0f}s of polling): "
        + ("met" if med_overhead < GOAL_OVERHEAD_S else "NOT met")
    )
    lines.append(
        f"webhook → PipelineRun started {med_webhook:.1f}ms (goal < {GOAL_WEBHOOK_MS:.0f}ms): "
        + ("met" if med_webhook < GOAL_WEBHOOK_MS else "NOT met")
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--loops", type=int, default=5, help="changes pushed (default 5)")
    parser.add_argument("--cluster", default="bench-loop", help="local cluster name (default bench-loop)")
    parser.add_argument("--keep", action="store_true", help="leave the cluster and git server running")
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="gitloop-loop-bench-"))
    os.environ["GITLOOP_STATE_DIR"] = str(state)  # read when the demo starts: everything goes there
    demo = Demo(DemoOptions(cluster=args.cluster), lambda line: None)
    runs: list[LoopTimes] = []
    try:
        print(f"bringing the demo up in {state} ...", flush=True)
        demo.up()
        for number in range(1, args.loops + 1):
            result = demo.loop()
            if result.times is None:
                sys.exit(f"loop {number}: the trace of {result.source_commit} is incomplete")
            runs.append(result.times)
            print(
                f"loop {number}: push → Healthy {result.times.total:.3f}s, overhead {result.times.overhead:.3f}s",
                flush=True,
            )
    finally:
        demo.close(teardown=not args.keep)
        if not args.keep:
            shutil.rmtree(state, ignore_errors=True)
    print("\n".join(report(runs)))


if __name__ == "__main__":
    main()
