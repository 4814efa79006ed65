"""``gitloop pipeline`` and ``gitloop task``: run Tekton v1 Pipelines and Tasks here, read kept runs.

``pipeline run`` exits 0 when the PipelineRun Succeeded or Completed, 1 when it failed, timed out,
was cancelled (Ctrl-C) or interrupted (SIGHUP, SIGTERM: its steps are stopped and it ends
``Interrupted``), 2 for invalid input (nothing ran). ``task run`` does the same for a TaskRun. Files
holding several runs run them all, with the worst exit code (``run_files``).
``pipeline list|get|logs`` read the runs kept in the store (SQLite at ``<state dir>/gitloop.db``
unless ``--database-url``); a run whose ``pipeline run`` died (``kill -9``) is shown ``Interrupted``.
``pipeline cancel|rerun`` are clients of a ``gitloop serve`` (``--server``/``$GITLOOP_SERVER``,
``--auth-token``/``$GITLOOP_AUTH_TOKEN``), whose launcher runs the run: cancel with Tekton's
``spec.status``, rerun under a new name.
Imports of the engine and store are deferred so ``gitloop`` starts fast.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gitloop.cli.client_tls import client_tls, server_options
from gitloop.cli.run_files import run_files, summary
from gitloop.errors import UsageError

if TYPE_CHECKING:
    from gitloop.cli.run_view import PlainView
    from gitloop.pipeline.state import PipelineRunState, TaskRunState
    from gitloop.service.pipelines import RunRequest


def _duration(_ctx: click.Context, _param: click.Parameter, text: str | None) -> float | None:
    """A Go duration (``1h30m``, ``90s``, ``0``) of zero or more, in seconds; anything else is a usage
    error (exit 2) naming the option."""
    if text is None:
        return None
    from gitloop.spec.duration import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    if seconds < 0:
        raise click.BadParameter(f"{text!r} is negative: give a duration of 0 or more (0 = no timeout)")
    return seconds


def _log_limit(text: str | None) -> int:
    from gitloop.model.sizes import parse_size
    from gitloop.pipeline.log_cap import DEFAULT_LOG_LIMIT

    if text is None:
        return DEFAULT_LOG_LIMIT
    try:
        return parse_size(text)
    except ValueError as exc:
        raise UsageError(f"--log-limit: {exc}") from exc


def _dump(manifest: dict[str, Any], output: str) -> str:
    if output == "json":
        return json.dumps(manifest, indent=2)
    import yaml

    return yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True)


def _run(kind: str, request: RunRequest, output: str | None) -> None:
    from gitloop.cli.run_view import LiveView, PlainView
    from gitloop.service.pipelines import execute, prepare_pipeline_run, prepare_task_run

    prepared = prepare_pipeline_run(request) if kind == "pipeline" else prepare_task_run(request)
    stream = sys.stderr if output else sys.stdout
    view = _TerminalView(LiveView(stream) if stream.isatty() else PlainView(stream))
    try:
        result = execute(prepared, view)
    finally:
        view.close()
    with contextlib.suppress(OSError):  # the terminal may be gone (SIGHUP)
        click.echo(summary(prepared.kind, prepared.name, result), err=bool(output))
        if output:
            click.echo(_dump(result.manifest, output), nl=False)
    sys.exit(0 if result.succeeded else 1)


class _TerminalView:
    """A run's view that goes quiet from the first write that fails: a closed terminal (SIGHUP) must
    not stop the run from stopping its steps and recording its end."""

    def __init__(self, view: PlainView) -> None:
        self._view = view
        self._gone = False

    def _call(self, write: Callable[[], None]) -> None:
        if self._gone:
            return
        try:
            write()
        except OSError:
            self._gone = True

    def log(self, source: str, line: str) -> None:
        self._call(lambda: self._view.log(source, line))

    def changed(self, state: PipelineRunState | TaskRunState) -> None:
        self._call(lambda: self._view.changed(state))

    def notice(self, message: str) -> None:
        self._call(lambda: self._view.notice(message))

    def close(self) -> None:
        self._call(self._view.close)


_files = click.option(
    "-f",
    "--filename",
    "files",
    multiple=True,
    required=True,
    type=click.Path(path_type=Path),
    help="A YAML file or directory of Tasks, Pipelines, runs, ConfigMaps, Secrets; repeatable.",
)
_params = click.option(
    "-p", "--param", "params", multiple=True, metavar="NAME=VALUE", help="A param; arrays a,b or JSON."
)
_workspaces = click.option(
    "-w",
    "--workspace",
    "workspaces",
    multiple=True,
    metavar="NAME=DIR|emptyDir",
    help="Bind a workspace to a host directory, emptyDir, secret:NAME, configMap:NAME or pvc:CLAIM.",
)
_executor = click.option(
    "--executor", type=click.Choice(["local", "podman"]), default="local", show_default=True
)
_sandbox = click.option(
    "--sandbox",
    type=click.Choice(["auto", "namespace", "paths"]),
    envvar="GITLOOP_SANDBOX",
    help="Local steps: namespace (Tekton's /workspace and /tekton paths, bubblewrap), paths (host "
    "directories in $(...path) variables) or auto, the default: namespace where it works.",
)
_timeout = click.option(
    "--timeout",
    metavar="DURATION",
    callback=_duration,
    help="Overrides the run's timeout (Go duration, 0 = none).",
)
_catalog = click.option(
    "--catalog", "catalogs", multiple=True, type=click.Path(path_type=Path), help="A directory of Tasks."
)
_output = click.option(
    "-o", "--output", type=click.Choice(["yaml", "json"]), help="Print the finished run with its status."
)
_database = click.option(
    "--database-url", metavar="URL", help="The store (default: SQLite in the state directory)."
)
_log_limit_option = click.option(
    "--log-limit",
    metavar="SIZE",
    help="Log text the store keeps per step, e.g. 4Mi (the default), 512Ki; 0 keeps everything.",
)
_parallel = click.option(
    "--max-parallel", type=click.IntRange(min=1), help="TaskRuns at once (default max(8, 2×CPUs))."
)


@click.group()
def pipeline() -> None:
    """Run Tekton Pipelines on this machine; list and inspect the runs kept in the store."""


@pipeline.command("run")
@_files
@click.option("--pipeline", "pipeline_name", metavar="NAME", help="Run this Pipeline of the files.")
@_params
@_workspaces
@_executor
@_sandbox
@_timeout
@_catalog
@_output
@_database
@_parallel
@_log_limit_option
def run_pipeline(
    files: tuple[Path, ...],
    pipeline_name: str | None,
    params: tuple[str, ...],
    workspaces: tuple[str, ...],
    executor: str,
    sandbox: str | None,
    timeout: float | None,
    catalogs: tuple[Path, ...],
    output: str | None,
    database_url: str | None,
    max_parallel: int | None,
    log_limit: str | None,
) -> None:
    """Run the PipelineRun of the files, or the Pipeline named by --pipeline."""
    from gitloop.service.pipelines import RunRequest

    request = RunRequest(
        files,
        pipeline_name,
        params,
        workspaces,
        executor,
        timeout,
        catalogs,
        database_url,
        max_parallel,
        log_limit=_log_limit(log_limit),
        sandbox=sandbox or "",
    )
    run_files("pipeline", request, output, lambda: _run("pipeline", request, output))


def _store(database_url: str | None) -> Any:
    from gitloop.service.pipelines import store_opener

    return store_opener(database_url)()


@pipeline.command("list")
@_database
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
def list_pipeline_runs(database_url: str | None, limit: int) -> None:
    """The PipelineRuns kept in the store, newest first."""
    from gitloop.service.pipelines import list_runs

    store = _store(database_url)
    try:
        rows = [("NAME", "PIPELINE", "STATUS", "REASON", "STARTED", "COMPLETED")]
        for run in list_runs(store, limit=limit):
            status = run.manifest.get("status", {})
            condition = (status.get("conditions") or [{}])[0]
            rows.append(
                (
                    run.name,
                    run.manifest.get("spec", {}).get("pipelineRef", {}).get("name", ""),
                    condition.get("status", ""),
                    condition.get("reason", ""),
                    status.get("startTime", ""),
                    status.get("completionTime", ""),
                )
            )
    finally:
        store.close()
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


@pipeline.command("get")
@click.argument("run")
@_database
@click.option("-o", "--output", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
def get_pipeline_run(run: str, database_url: str | None, output: str) -> None:
    """A kept PipelineRun (or TaskRun) with its status, followed by its TaskRuns."""
    from gitloop.service.pipelines import get_run

    store = _store(database_url)
    try:
        found, children = get_run(store, run)
    finally:
        store.close()
    documents = [found.manifest, *(c.manifest for c in children)]
    if output == "json":
        click.echo(json.dumps(documents if children else found.manifest, indent=2))
    else:
        click.echo("---\n".join(_dump(d, "yaml") for d in documents), nl=False)


@pipeline.command("logs")
@click.argument("run")
@_database
@click.option("--task", "task", metavar="TASK", help="Only this pipeline task's lines.")
@click.option("-f", "--follow", is_flag=True, help="Follow the run until it ends; exit 1 if it failed.")
def pipeline_logs(run: str, database_url: str | None, task: str | None, follow: bool) -> None:
    """The kept log lines of a run, prefixed task/step; with -f, new lines as they come until the run
    ends (exit 0 when it succeeded, 1 when it failed, 130 on Ctrl-C)."""
    from gitloop.service.run_logs import RunLog

    store = _store(database_url)
    log = RunLog(store, run, task=task)
    out = sys.stdout
    try:
        for line in log.follow() if follow else log.lines():
            out.write(f"[{line.source}] {line.text}\n")
            if follow:
                out.flush()
        out.flush()
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:  # `| head`: the reader has what it wanted; stop without a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        sys.exit(0)
    finally:
        store.close()
    if follow:
        sys.exit(0 if log.outcome == "True" else 1)


_server = server_options(
    help="The gitloop server that runs the run (default: $GITLOOP_SERVER).", required=True
)


@pipeline.command("cancel")
@click.argument("run")
@click.option(
    "--status",
    type=click.Choice(["Cancelled", "CancelledRunFinally", "StoppedRunFinally"]),
    default="Cancelled",
    show_default=True,
    help="Tekton's spec.status: Cancelled skips the finally tasks, CancelledRunFinally runs them, "
    "StoppedRunFinally also lets the running tasks finish.",
)
@_server
def cancel_pipeline_run(run: str, status: str, server: str, auth_token: str | None) -> None:
    """Cancel a queued or running run of a gitloop server (exit 1 if it has finished)."""
    from gitloop.service.client import ApiClient

    with ApiClient(server, auth_token, tls=client_tls()) as client:
        answer = client.cancel_pipeline_run(run, status)
    click.echo(f"PipelineRun {run}: {answer.get('status', status)}")


@pipeline.command("rerun")
@click.argument("run")
@_server
def rerun_pipeline_run(run: str, server: str, auth_token: str | None) -> None:
    """Run a run of a gitloop server again, under a new name (printed), with the same resource."""
    from gitloop.service.client import ApiClient

    with ApiClient(server, auth_token, tls=client_tls()) as client:
        click.echo(f"PipelineRun started: {client.rerun_pipeline_run(run)}")


@click.group()
def task() -> None:
    """Run Tekton Tasks on this machine."""


@task.command("run")
@_files
@click.option("--task", "task_name", metavar="NAME", help="Run this Task of the files.")
@_params
@_workspaces
@_executor
@_sandbox
@_timeout
@_catalog
@_output
@_database
@_log_limit_option
def run_task(
    files: tuple[Path, ...],
    task_name: str | None,
    params: tuple[str, ...],
    workspaces: tuple[str, ...],
    executor: str,
    sandbox: str | None,
    timeout: float | None,
    catalogs: tuple[Path, ...],
    output: str | None,
    database_url: str | None,
    log_limit: str | None,
) -> None:
    """Run the TaskRun of the files, or the Task named by --task."""
    from gitloop.service.pipelines import RunRequest

    request = RunRequest(
        files,
        task_name,
        params,
        workspaces,
        executor,
        timeout,
        catalogs,
        database_url,
        log_limit=_log_limit(log_limit),
        sandbox=sandbox or "",
    )
    run_files("task", request, output, lambda: _run("task", request, output))
