"""What a run looks like in the terminal: prefixed log lines, one line per finished TaskRun, and the
live table (rendered to a string buffer)."""

from __future__ import annotations

import io

from gitloop.cli.run_view import LiveView, PlainView
from gitloop.pipeline.state import Condition, PipelineRunState, PipelineTaskState, StepState, TaskRunState


def _task_run(done: bool) -> TaskRunState:
    state = TaskRunState("run-build", "build", pipeline_task="build", start_time=10.0)
    state.steps = [
        StepState("compile", "step-compile", "terminated", 0, "Completed", started=10.0, finished=11.0)
    ]
    if done:
        state.phase, state.completion_time = "Done", 12.5
        state.condition = Condition("False", "Failed", '"step-compile" exited with code 2', 12.5)
    return state


def test_plain_view_prefixes_lines_and_reports_finished_task_runs() -> None:
    out = io.StringIO()
    view = PlainView(out)
    view.log("build/compile", "compiling")
    view.changed(_task_run(done=False))
    view.changed(_task_run(done=True))
    view.changed(_task_run(done=True))
    assert out.getvalue() == (
        '[build/compile] compiling\nTaskRun run-build Failed 2.5s: "step-compile" exited with code 2\n'
    )


def test_live_view_draws_a_table_of_tasks() -> None:
    out = io.StringIO()
    view = LiveView(out)
    pipeline = PipelineRunState("run", "p", start_time=10.0, completion_time=13.0)
    pipeline.condition = Condition("False", "Failed", "", 13.0)
    pipeline.tasks = {
        "build": PipelineTaskState("build", status="Failed", children=["run-build"], display_names=[""]),
        "deploy": PipelineTaskState("deploy", status="Skipped", skip_reason="PipelineRun was stopping"),
    }
    pipeline.children = {"run-build": _task_run(done=True)}
    view.log("build/compile", "compiling")
    view.changed(pipeline)
    view.close()
    text = out.getvalue()
    assert "[build/compile] compiling" in text
    assert "build" in text and "Failed" in text and "PipelineRun was stopping" in text
