"""Runs whose runner stopped before their end: who runs a run (this process, this machine), and when
the rule for ending such a run (``gitloop.pipeline.records.end_interrupted``) is applied.

Every PipelineRun and TaskRun record carries, while it has not finished, the labels
``gitloop.dev/active: "true"``, ``gitloop.dev/runner-host`` (this machine's name) and
``gitloop.dev/runner`` (``host/pid/start time`` of the gitloop process running it: ``gitloop pipeline
run``, ``gitloop task run`` or ``gitloop serve``). A run whose runner stops before the run's end is
**ended as Failed with reason ``Interrupted``**, not resumed: its steps were stopped or died with the
runner, their output after that is lost, and rerunning steps that already had effects (a push, a
deployment) behind the user's back is worse than saying plainly that the run did not finish. What was
recorded stays: the run's status up to then (its TaskRuns, results, step states; a step still running
is marked ``Interrupted``), its logs and its lineage.

This happens in one of two ways, with the same record (``records.end_interrupted``):

- the runner stops the run itself: ``gitloop pipeline run`` on SIGHUP (its terminal closed) or
  SIGTERM, ``gitloop serve`` when its ``shutdownGracePeriod`` is over; the steps are stopped first;
- the runner died (``kill -9``, a crash, a power cut): its steps' watcher killed them
  (``executors.watcher``), and the next gitloop of this machine that reads the runs (``gitloop
  pipeline list|get``, the API, ``gitloop serve`` as it starts) finds the run active with its runner
  gone (``interrupt_orphans``), ends it, kills anything of its steps still left and removes the run's
  directory. Runs of another machine sharing the store are never judged here.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gitloop.executors.processes import start_time
from gitloop.executors.watcher import kill_leftovers
from gitloop.lineage import Lineage
from gitloop.localinfra.paths import state_dir
from gitloop.pipeline.records import (
    ACTIVE_LABEL,
    INTERRUPTED,
    PARENT_LABEL,
    PIPELINE_RUN,
    RUNNER_HOST_LABEL,
    RUNNER_LABEL,
    TASK_RUN,
    end_interrupted,
    interrupted_manifest,
    interrupted_message,
)
from gitloop.pipeline.state import Condition
from gitloop.ports import Store

log = logging.getLogger(__name__)


def host_name() -> str:
    return socket.gethostname() or "localhost"


def runner_id(pid: int | None = None) -> str:
    """``host/pid/start time`` of a process (default: this one): names it even after its PID is reused."""
    pid = os.getpid() if pid is None else pid
    return f"{host_name()}/{pid}/{start_time(pid)}"


def runner_labels() -> dict[str, str]:
    """The labels naming this process as the runner of the runs it runs."""
    return {RUNNER_HOST_LABEL: host_name(), RUNNER_LABEL: runner_id()}


def runner_alive(runner: str) -> bool:
    """Whether the process ``runner`` names still runs (on this machine; another's is taken as alive)."""
    host, _, rest = runner.partition("/")
    pid_text, _, started = rest.partition("/")
    if host != host_name() or not pid_text.isdigit():
        return True  # another machine's: not ours to judge
    pid = int(pid_text)
    if started:
        return start_time(pid) == started
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def interrupt_run(
    open_store: Callable[[], Store],
    kind: str,
    name: str,
    cause: str,
    shown: dict[str, Any],
    report: Callable[[str], None],
    *,
    close: bool = True,
) -> tuple[dict[str, Any], Condition]:
    """End the run ``name`` that its own runner interrupted: in the store (``end_interrupted``; the
    store is closed after unless ``close`` is false: a lent store), and in what is shown. The manifest
    to show is the stored one, or ``shown`` (the runner's last) ended the same way when the store
    cannot tell (a failure is passed to ``report``); with its condition."""
    now = time.time()
    manifest: dict[str, Any] | None = None
    try:
        store = open_store()
        try:
            manifest = end_interrupted(store, kind, name, cause, now)
        finally:
            if close:
                store.close()
    except Exception as exc:  # the run has ended either way; say why the store does not show it
        report(f"store: the run could not be recorded as {INTERRUPTED}: {exc}")
    if manifest is None:
        manifest = interrupted_manifest(kind, name, shown, cause, now)
    return manifest, Condition("False", INTERRUPTED, interrupted_message(cause, kind), now)


def interrupt_orphans(
    store: Store,
    lineage: Lineage | None = None,
    *,
    runs_dir: Path | None = None,
    clock: Callable[[], float] = time.time,
) -> list[str]:
    """End the runs a dead runner of this machine left unfinished (see the module documentation);
    the names of the PipelineRuns and standalone TaskRuns ended."""
    lineage = lineage if lineage is not None else Lineage(store)
    runs_dir = runs_dir if runs_dir is not None else state_dir() / "runs"
    mine = {ACTIVE_LABEL: "true", RUNNER_HOST_LABEL: host_name()}
    ended: list[str] = []
    for kind in (PIPELINE_RUN, TASK_RUN):  # a PipelineRun's TaskRuns end with it; strays after
        for record in store.query(kind, labels=mine):
            runner = record.labels.get(RUNNER_LABEL, "")
            if runner_alive(runner):
                continue
            now = clock()
            cause = f"the gitloop process running it ({runner}) stopped"
            manifest = end_interrupted(store, kind, record.name, cause, now)
            if manifest is None or record.labels.get(PARENT_LABEL):
                continue
            run_dir = runs_dir / record.name
            killed = kill_leftovers(run_dir / "sandboxes") if run_dir.is_dir() else 0
            shutil.rmtree(run_dir, ignore_errors=True)
            lineage.record_run_finished(record.name, manifest, finished=now)
            log.warning(
                "%s %s was running when its gitloop process %s stopped: ended as %s%s",
                kind,
                record.name,
                runner,
                INTERRUPTED,
                f" ({killed} leftover step process group(s) killed)" if killed else "",
            )
            ended.append(record.name)
    return ended
