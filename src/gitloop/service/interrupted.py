"""Runs whose runner stopped before their end: who runs a run, and the one rule for ending such a run.

Every PipelineRun and TaskRun record carries, while it has not finished, the labels
``gitloop.dev/active: "true"``, ``gitloop.dev/runner-host`` (this machine's name) and
``gitloop.dev/runner`` (``host/pid/start time`` of the gitloop process running it: ``gitloop pipeline
run``, ``gitloop task run`` or ``gitloop serve``). A run whose runner stops before the run's end is
**ended as Failed with reason ``Interrupted``**, not resumed: its steps were stopped or died with the
runner, their output after that is lost, and rerunning steps that already had effects (a push, a
deployment) behind the user's back is worse than saying plainly that the run did not finish. What was
recorded stays: the run's status up to then (its TaskRuns, results, step states; a step still running
is marked ``Interrupted``), its logs and its lineage.

This happens in one of two ways, with the same record (``end_interrupted``):

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
from gitloop.pipeline.state import Condition
from gitloop.ports import Store, StoredObject

log = logging.getLogger(__name__)

PIPELINE_RUN = "PipelineRun"
TASK_RUN = "TaskRun"
ACTIVE_LABEL = "gitloop.dev/active"
"""On the store records of runs that have not finished (``"true"``)."""
RUNNER_LABEL = "gitloop.dev/runner"
RUNNER_HOST_LABEL = "gitloop.dev/runner-host"
REASON_LABEL = "gitloop.dev/reason"
PARENT_LABEL = "tekton.dev/pipelineRun"
INTERRUPTED = "Interrupted"


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


def message(cause: str, kind: str) -> str:
    """The ``Interrupted`` condition's message: ``cause`` (what stopped the runner) and what it means."""
    return (
        f"{cause} while this {kind} was running; it was not resumed. "
        "Its status and logs up to then are kept; run it again to finish the work."
    )


def _timestamp(value: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(value))


def interrupted_doc(record: StoredObject, text: str, now: float) -> dict[str, object]:
    """The record of a run ended as ``Interrupted``: its manifest's ``Succeeded`` condition False with
    ``text`` as message, its completion time, a step still running terminated, and the engine state
    marked done; everything else as it was."""
    doc: dict[str, Any] = dict(record.doc)
    found = doc.get("manifest")
    manifest: dict[str, Any] = dict(found) if isinstance(found, dict) else {}
    status: dict[str, Any] = dict(manifest.get("status") or {})
    condition = {
        "type": "Succeeded",
        "status": "False",
        "reason": INTERRUPTED,
        "message": text,
        "lastTransitionTime": _timestamp(now),
    }
    others = [
        c for c in status.get("conditions") or () if isinstance(c, dict) and c.get("type") != "Succeeded"
    ]
    status["conditions"] = [condition, *others]
    status["completionTime"] = _timestamp(now)
    for step in status.get("steps") or ():
        if isinstance(step, dict) and "running" in step:
            running = step.pop("running") or {}
            step["terminated"] = {
                "exitCode": 1,
                "reason": INTERRUPTED,
                "startedAt": running.get("startedAt"),
                "finishedAt": _timestamp(now),
            }
    manifest["status"] = status
    doc["manifest"] = manifest
    state = doc.get("state")
    if isinstance(state, dict):
        state = dict(state)
        state["condition"] = {"status": "False", "reason": INTERRUPTED, "message": text, "time": now}
        state["completion_time"] = now
        if "done" in state:
            state["done"] = True
        if "phase" in state:
            state["phase"] = "Done"
        doc["state"] = state
    doc["interrupted"] = {"at": now, "runner": record.labels.get(RUNNER_LABEL, "")}
    return doc


def _end(store: Store, record: StoredObject, cause: str, now: float) -> dict[str, object]:
    doc = interrupted_doc(record, message(cause, record.kind), now)
    labels = {k: v for k, v in record.labels.items() if k != ACTIVE_LABEL}
    labels[REASON_LABEL] = INTERRUPTED
    store.put(record.kind, record.name, doc, labels=labels)
    return doc


def end_interrupted(store: Store, kind: str, name: str, cause: str, now: float) -> dict[str, Any] | None:
    """End the run ``name`` and its unfinished TaskRuns as ``Interrupted`` because of ``cause`` (what
    stopped the runner); the run's manifest, ``None`` when it has no record or had finished already."""
    record = store.get(kind, name)
    if record is None or record.labels.get(ACTIVE_LABEL) != "true":
        return None
    if kind == PIPELINE_RUN:
        for child in store.query(TASK_RUN, labels={PARENT_LABEL: name, ACTIVE_LABEL: "true"}):
            _end(store, child, cause, now)
    manifest = _end(store, record, cause, now).get("manifest")
    return manifest if isinstance(manifest, dict) else {}


def interrupt_run(
    open_store: Callable[[], Store],
    kind: str,
    name: str,
    cause: str,
    shown: dict[str, Any],
    report: Callable[[str], None],
) -> tuple[dict[str, Any], Condition]:
    """End the run ``name`` that its own runner interrupted: in the store (``end_interrupted``), and in
    what is shown. The manifest to show is the stored one, or ``shown`` (the runner's last) ended the
    same way when the store cannot tell (a failure is passed to ``report``); with its condition."""
    now = time.time()
    manifest: dict[str, Any] | None = None
    try:
        store = open_store()
        try:
            manifest = end_interrupted(store, kind, name, cause, now)
        finally:
            store.close()
    except Exception as exc:  # the run has ended either way; say why the store does not show it
        report(f"store: the run could not be recorded as {INTERRUPTED}: {exc}")
    text = message(cause, kind)
    if manifest is None:
        found = interrupted_doc(StoredObject(kind, name, {"manifest": shown}, {}, now, now), text, now)
        manifest = found["manifest"] if isinstance(found["manifest"], dict) else shown
    return manifest, Condition("False", INTERRUPTED, text, now)


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
