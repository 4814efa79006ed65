"""``gitloop pipeline run -f``/``task run -f`` on whole files: the notes the files call for, then one
run (``pipeline._run``) or every run they hold (``service.runfiles``).

Several runs share the terminal as plain prefixed lines (``[run/task/step] line``), each run's status
line is printed when all have ended, and the exit code is the worst: 0 when every run succeeded, 1
when any failed, timed out, was cancelled or interrupted (invalid input is 2 before anything runs).
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from gitloop.pipeline.records import RunView
    from gitloop.pipeline.state import PipelineRunState, TaskRunState
    from gitloop.service.pipelines import PreparedRun, RunRequest, RunResult
    from gitloop.service.runfiles import FileRun


def summary(kind: str, name: str, result: RunResult) -> str:
    """The status line of one ended run: ``PipelineRun name Reason[: message]``."""
    condition = result.condition
    line = f"{result.manifest.get('kind', kind)} {name} {condition.reason}"
    return f"{line}: {condition.message}" if condition.message else line


class LabelledView:
    """One run's view among several on one terminal: log sources and notices carry the run's name,
    and writes from the runs' threads do not interleave within a line."""

    def __init__(self, view: RunView, run: str, lock: threading.Lock) -> None:
        self._view = view
        self._run = run
        self._lock = lock

    def log(self, source: str, line: str) -> None:
        with self._lock:
            self._view.log(f"{self._run}/{source}", line)

    def changed(self, state: PipelineRunState | TaskRunState) -> None:
        with self._lock:
            self._view.changed(state)

    def notice(self, message: str) -> None:
        with self._lock:
            self._view.notice(f"{self._run}: {message}")


def run_files(kind: str, request: RunRequest, output: str | None, one: Callable[[], None]) -> None:
    """Show the files' notes, make their claims' directories, then run: ``one()`` when the request is
    for one run of ``kind`` (``--pipeline``/``--task``, or the files hold just that), else every run."""
    from gitloop.pipeline.records import PIPELINE_RUN, TASK_RUN
    from gitloop.service.runfiles import provision_claims, read_files

    found = read_files(request)
    request.inputs = found.inputs
    for note in (*found.notes, *provision_claims(found.claims)):
        click.echo(f"gitloop: {note}", err=True)
    runs = found.runs
    expected = PIPELINE_RUN if kind == "pipeline" else TASK_RUN
    if request.name is not None or not runs or (len(runs) == 1 and runs[0].kind == expected):
        one()
        return
    _run_all(request, runs, output)


def _run_all(request: RunRequest, runs: list[FileRun], output: str | None) -> None:
    from gitloop.cli.run_view import PlainView
    from gitloop.service.runfiles import prepare_all, run_all

    prepared = prepare_all(request, runs)
    stream = sys.stderr if output else sys.stdout
    lock = threading.Lock()
    plain = PlainView(stream)
    click.echo(f"gitloop: running {len(prepared)} runs of the files: {_names(prepared)}", err=True)

    def view_of(run: PreparedRun) -> RunView:
        return LabelledView(plain, run.name, lock)

    def notice(message: str) -> None:
        with lock, contextlib.suppress(OSError):
            plain.notice(message)

    results = run_all(prepared, view_of, max_parallel=request.max_parallel, notice=notice)
    with contextlib.suppress(OSError):  # the terminal may be gone (SIGHUP)
        plain.close()
        for run, result in zip(prepared, results, strict=True):
            click.echo(summary(run.kind, run.name, result), err=bool(output))
        if output:
            click.echo(_dump([r.manifest for r in results], output), nl=False)
    sys.exit(0 if all(r.succeeded for r in results) else 1)


def _names(prepared: list[PreparedRun]) -> str:
    return ", ".join(f"{run.kind} {run.name}" for run in prepared)


def _dump(manifests: list[dict[str, Any]], output: str) -> str:
    if output == "json":
        return json.dumps(manifests, indent=2)
    import yaml

    return "---\n".join(yaml.safe_dump(m, sort_keys=False, allow_unicode=True) for m in manifests)
