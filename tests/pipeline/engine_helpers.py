"""Helpers for the engine's tests: plans built from YAML text, run on a virtual clock.

``make_plan(yaml)`` builds a checked ``PipelineRunPlan`` from Tasks, a Pipeline and (optionally) a
PipelineRun in one YAML text; ``make_task_plan(yaml)`` does the same for a TaskRun. The simulation
(``gitloop.pipeline.simulation``) stands in for the driver and the executor.
"""

from __future__ import annotations

from typing import Any

from gitloop.pipeline.plan import PipelineRunPlan, ResolvedTask, build_plan, build_task_run_plan
from gitloop.pipeline.taskrun import TaskRunPlan
from gitloop.pipeline.volumes import Objects
from gitloop.spec.tekton import (
    ConfigMap,
    ObjectMeta,
    Pipeline,
    PipelineRef,
    PipelineRun,
    Secret,
    Task,
    TaskRef,
    TaskRun,
    parse_text,
)


def _objects(objs: list[Any]) -> Objects:
    return Objects(
        {o.name: o for o in objs if isinstance(o, ConfigMap)},
        {o.name: o for o in objs if isinstance(o, Secret)},
    )


def build_pipeline_plan(text: str, **run_fields: Any) -> PipelineRunPlan:
    objs = parse_text(text, "test.yaml")
    tasks = {o.name: o for o in objs if isinstance(o, Task)}
    runs = [o for o in objs if isinstance(o, PipelineRun)]
    pipelines = [o for o in objs if isinstance(o, Pipeline)]
    if runs:
        run = runs[0]
    else:
        run = PipelineRun("tekton.dev/v1", ObjectMeta(name="run"), PipelineRef(pipelines[0].name))
    if run_fields:
        from dataclasses import replace

        run = replace(run, **run_fields)
    spec = run.pipeline_spec or next(
        p.spec for p in pipelines if run.pipeline_ref and p.name == run.pipeline_ref.name
    )
    name = run.pipeline_ref.name if run.pipeline_ref else "embedded"
    resolved = {}
    for pt in (*spec.tasks, *spec.finally_tasks):
        if pt.task_spec is not None:
            resolved[pt.name] = ResolvedTask(pt.name, pt.task_spec, embedded=True)
        else:
            assert pt.task_ref is not None
            resolved[pt.name] = ResolvedTask(pt.task_ref.name, tasks[pt.task_ref.name].spec)
    host_dirs = {b.name: f"/host/{b.name}" for b in run.workspaces}
    return build_plan(
        run,
        spec,
        name,
        resolved,
        objects=_objects(objs),
        host_dirs=host_dirs,
        uid="uid-1",
        name=run.name or "run",
    )


def build_task_plan(text: str, **run_fields: Any) -> TaskRunPlan:
    objs = parse_text(text, "test.yaml")
    tasks = {o.name: o for o in objs if isinstance(o, Task)}
    runs = [o for o in objs if isinstance(o, TaskRun)]
    run = (
        runs[0] if runs else TaskRun("tekton.dev/v1", ObjectMeta(name="tr"), TaskRef(name=next(iter(tasks))))
    )
    if run_fields:
        from dataclasses import replace

        run = replace(run, **run_fields)
    if run.task_spec is not None:
        task = ResolvedTask("embedded", run.task_spec, embedded=True)
    else:
        assert run.task_ref is not None
        task = ResolvedTask(run.task_ref.name, tasks[run.task_ref.name].spec)
    host_dirs = {b.name: f"/host/{b.name}" for b in run.workspaces}
    return build_task_run_plan(
        run, task, objects=_objects(objs), host_dirs=host_dirs, uid="uid-2", name=run.name or "tr"
    )


GENERIC_TASK = """\
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: t
spec:
  params:
    - {name: in, default: ""}
    - {name: exit, default: "0"}
    - {name: sleep, default: "1"}
    - {name: write, default: "yes"}
  results:
    - name: r
  steps:
    - name: s
      image: alpine
      script: echo "$(params.in)"
---
"""
"""A Task whose behaviour under ``generic`` its params choose: exit code, duration, result ``r``."""


def generic(call: Any) -> Any:
    """The behaviour of ``GENERIC_TASK``: exit ``params.exit`` after ``params.sleep`` seconds, writing
    ``r`` = ``<pipeline task>-out`` unless ``params.write`` is ``no``. Other Tasks succeed at once."""
    from gitloop.pipeline.simulation import StepScript

    params = call.params
    if "exit" not in params:
        return StepScript()
    results = {"r": f"{call.pipeline_task}-out"} if params.get("write") == "yes" else {}
    return StepScript(int(params["exit"]), float(params["sleep"]), results)


def pipeline_yaml(body: str) -> str:
    """``GENERIC_TASK`` and a Pipeline ``p`` whose ``spec`` is ``body``."""
    indented = "\n".join("  " + line if line else line for line in body.splitlines())
    return (
        GENERIC_TASK + f"apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata:\n  name: p\nspec:\n{indented}\n"
    )
