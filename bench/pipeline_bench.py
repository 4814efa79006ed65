"""Benchmark: the CI engine against Tekton's cost per TaskRun, with the local executor.

(a) a 3-task sequential ``echo`` pipeline: wall time of a whole ``gitloop pipeline run`` process,
    interpreter start included (anchor: Tekton on kind, ~5 s per TaskRun, so >= 15 s; goal < 0.5 s);
    ``gitloop --version`` is measured too, the floor any command pays to start. Local steps run in
    the namespace sandbox (bubblewrap, ``--sandbox namespace``; issue 13's goal: still < 0.5 s), and
    the same pipeline in the ``paths`` mode is printed beside it.
(b) engine overhead per task on a 50-task chain (goal < 20 ms): the machines alone on a virtual clock
    (``gitloop.pipeline.simulation``), and a real run of 50 ``true`` steps, where each task also pays
    for its process, its sandbox and the store.
(c) 8 parallel tasks each sleeping 1 s finish in < 1.5 s (the run's wall time, in process).

Each figure is printed beside its anchor.

    .venv/bin/python bench/pipeline_bench.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gitloop.pipeline.plan import ResolvedTask, build_plan
from gitloop.pipeline.simulation import Simulation, StepScript
from gitloop.pipeline.volumes import Objects
from gitloop.service.pipelines import RunRequest, execute, prepare_pipeline_run
from gitloop.spec.tekton import ObjectMeta, Pipeline, PipelineRef, PipelineRun, Task, parse_text

GITLOOP = Path(sys.executable).parent / "gitloop"
ANCHOR_TEKTON_PER_TASKRUN_S = 5.0  # tektoncd/pipeline#10152: ~5 s per TaskRun (a pod each) on kind
GOAL_A_S, GOAL_B_MS, GOAL_C_S = 0.5, 20.0, 1.5

THREE = """\
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: echo}
spec:
  params: [{name: msg}]
  steps: [{name: echo, image: busybox, command: [echo], args: ["$(params.msg)"]}]
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: three}
spec:
  tasks:
    - {name: one, taskRef: {name: echo}, params: [{name: msg, value: one}]}
    - {name: two, taskRef: {name: echo}, params: [{name: msg, value: two}], runAfter: [one]}
    - {name: three, taskRef: {name: echo}, params: [{name: msg, value: three}], runAfter: [two]}
"""


ONLY_PIPELINE_COMMAND = (
    "import sys; from gitloop.cli.pipeline import pipeline; "
    "pipeline.main(sys.argv[1:], prog_name='gitloop pipeline')"
)
"""``gitloop pipeline`` without the other commands' modules: what a lazily loading ``gitloop`` would pay."""


def _chain(n: int) -> str:
    tasks = "".join(
        f"    - {{name: t{i}, taskRef: {{name: step}}"
        + (f", params: [{{name: x, value: $(tasks.t{i - 1}.results.out)}}]" if i else "")
        + "}\n"
        for i in range(n)
    )
    return (
        "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: step}\nspec:\n"
        '  params: [{name: x, default: "0"}]\n  results: [{name: out}]\n'
        "  steps: [{name: s, image: busybox, script: 'printf 1 > $(results.out.path)'}]\n---\n"
        "apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: chain}\nspec:\n  tasks:\n" + tasks
    )


def _wide(n: int) -> str:
    tasks = "".join(
        f"    - {{name: t{i}, taskSpec: {{steps: [{{image: busybox, command: [sleep, '1']}}]}}}}\n"
        for i in range(n)
    )
    return "apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: wide}\nspec:\n  tasks:\n" + tasks


def _median(samples: list[float]) -> str:
    return f"median {statistics.median(samples):.3f} s (min {min(samples):.3f}, max {max(samples):.3f})"


def _wall(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


class _Quiet:
    def log(self, source: str, line: str) -> None:
        return None

    def changed(self, state: object) -> None:
        return None

    def notice(self, message: str) -> None:
        return None


def _run_in_process(path: Path) -> float:
    started = time.perf_counter()
    result = execute(prepare_pipeline_run(RunRequest([path])), _Quiet(), handle_signals=False)
    took = time.perf_counter() - started
    if not result.succeeded:
        raise SystemExit(f"the benchmark pipeline failed: {result.manifest['status']}")
    return took


def _simulated_chain(n: int) -> float:
    objs = parse_text(_chain(n))
    pipeline = next(o for o in objs if isinstance(o, Pipeline))
    task = next(o for o in objs if isinstance(o, Task))
    run = PipelineRun("tekton.dev/v1", ObjectMeta(name="bench"), PipelineRef("chain"))
    tasks = {t.name: ResolvedTask("step", task.spec) for t in pipeline.spec.tasks}
    plan = build_plan(
        run, pipeline.spec, "chain", tasks, objects=Objects(), host_dirs={}, uid="u", name="bench"
    )
    started = time.perf_counter()
    state = Simulation(lambda call: StepScript(results={"out": "1"})).run_pipeline(plan)
    took = time.perf_counter() - started
    assert state.condition.succeeded, state.condition
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gitloop-bench-") as tmp:
        root = Path(tmp)
        os.environ["GITLOOP_STATE_DIR"] = str(root / "state")
        env = {**os.environ}
        three, chain, wide = root / "three.yaml", root / "chain.yaml", root / "wide.yaml"
        three.write_text(THREE)
        chain.write_text(_chain(50))
        wide.write_text(_wide(8))
        env["GITLOOP_SANDBOX"] = "namespace"
        paths_env = {**env, "GITLOOP_SANDBOX": "paths"}
        run: Callable[[], float] = lambda: _wall([str(GITLOOP), "pipeline", "run", "-f", str(three)], env)  # noqa: E731
        run()  # warm the page cache and the .pyc files
        version = [_wall([str(GITLOOP), "--version"], env) for _ in range(args.runs)]
        a = [run() for _ in range(args.runs)]
        paths = [
            _wall([str(GITLOOP), "pipeline", "run", "-f", str(three)], paths_env) for _ in range(args.runs)
        ]
        only = [
            _wall([sys.executable, "-c", ONLY_PIPELINE_COMMAND, "run", "-f", str(three)], env)
            for _ in range(args.runs)
        ]
        anchor_a = 3 * ANCHOR_TEKTON_PER_TASKRUN_S
        print(f"(a) 3-task echo pipeline, `gitloop pipeline run` process, namespace sandbox: {_median(a)}")
        print(f"    the same in the paths mode (no namespace): {_median(paths)}")
        print(
            f"    anchor: Tekton on kind >= {anchor_a:.0f} s (~{ANCHOR_TEKTON_PER_TASKRUN_S:.0f} s/TaskRun); goal < {GOAL_A_S} s;"
        )
        print(
            f"    ratio to anchor {statistics.median(a) / anchor_a:.3f}; `gitloop --version` alone: {_median(version)}"
        )
        print(
            f"    the same with only the pipeline command's module imported (a lazily loading CLI): {_median(only)}"
        )
        simulated = [_simulated_chain(50) / 50 * 1000 for _ in range(args.runs)]
        real = [_run_in_process(chain) / 50 * 1000 for _ in range(max(1, args.runs // 2))]
        print(
            f"(b) 50-task chain, engine alone (virtual clock): median {statistics.median(simulated):.2f} ms/task"
        )
        print(
            f"    50-task chain, real run (process + sandbox + store per task): median {statistics.median(real):.2f} ms/task"
        )
        print(
            f"    anchor: Tekton ~{ANCHOR_TEKTON_PER_TASKRUN_S * 1000:.0f} ms/TaskRun; goal < {GOAL_B_MS:.0f} ms/task"
        )
        c = [_run_in_process(wide) for _ in range(max(1, args.runs // 2))]
        print(f"(c) 8 parallel tasks sleeping 1 s each: {_median(c)}")
        print(
            f"    anchor: 1 s of sleep + Tekton's ~{ANCHOR_TEKTON_PER_TASKRUN_S:.0f} s pod start; goal < {GOAL_C_S} s"
        )


if __name__ == "__main__":
    main()
