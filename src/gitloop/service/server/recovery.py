"""What a killed ``gitloop serve`` left behind, settled when the next one starts.

Every PipelineRun and TaskRun a server runs carries, while it has not finished, the labels
``gitloop.dev/active: "true"``, ``gitloop.dev/runner-host`` (this machine's name) and
``gitloop.dev/runner`` (``host/pid/start time`` of the server process). When a server starts, the
unfinished runs of this machine whose server process is gone (``kill -9``, a crash, a power cut) are
**ended as Failed with reason ``Interrupted``** — not resumed: their steps' processes died with the
server or were cut off from it, their output after the crash is lost, and rerunning steps that already
had effects (a push, a deployment) behind the user's back is worse than saying plainly that the run
did not finish. What was recorded stays: the run's status up to then (its TaskRuns, results, step
states), its logs and its lineage; the lineage gets the run's end. Steps still running from the dead
server (the local executor records their process groups) are killed and the run's directory removed.
Runs queued but never started are not touched here: they are started again (see ``ci``).

A sync operation interrupted the same way is resumed instead, by the CD engine (it is persisted after
every step and idempotent: server-side apply of the same manifests).
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

from gitloop.executors.local import kill_leftovers
from gitloop.executors.processes import start_time
from gitloop.localinfra.paths import state_dir
from gitloop.ports import Store, StoredObject
from gitloop.service.lineage import Lineage
from gitloop.service.pipelines import ACTIVE_LABEL, PIPELINE_RUN, TASK_RUN

log = logging.getLogger(__name__)

RUNNER_LABEL = "gitloop.dev/runner"
RUNNER_HOST_LABEL = "gitloop.dev/runner-host"
REASON_LABEL = "gitloop.dev/reason"
INTERRUPTED = "Interrupted"


def host_name() -> str:
    return socket.gethostname() or "localhost"


def runner_id(pid: int | None = None) -> str:
    """``host/pid/start time`` of a process (default: this one): names it even after its PID is reused."""
    pid = os.getpid() if pid is None else pid
    return f"{host_name()}/{pid}/{start_time(pid)}"


def runner_labels() -> dict[str, str]:
    """The labels a server puts on the runs it runs."""
    return {RUNNER_HOST_LABEL: host_name(), RUNNER_LABEL: runner_id()}


def runner_alive(runner: str) -> bool:
    """Whether the server process ``runner`` names still runs (on this machine)."""
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


def _timestamp(value: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(value))


def interrupted_doc(record: StoredObject, message: str, now: float) -> dict[str, object]:
    """The record of a run ended as ``Interrupted``: its manifest's ``Succeeded`` condition False, its
    completion time, and the engine state marked done; everything else as it was."""
    doc: dict[str, Any] = dict(record.doc)
    found = doc.get("manifest")
    manifest: dict[str, Any] = dict(found) if isinstance(found, dict) else {}
    status: dict[str, Any] = dict(manifest.get("status") or {})
    condition = {
        "type": "Succeeded",
        "status": "False",
        "reason": INTERRUPTED,
        "message": message,
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
        state["condition"] = {"status": "False", "reason": INTERRUPTED, "message": message, "time": now}
        state["completion_time"] = now
        if "done" in state:
            state["done"] = True
        if "phase" in state:
            state["phase"] = "Done"
        doc["state"] = state
    doc["interrupted"] = {"at": now, "runner": record.labels.get(RUNNER_LABEL, "")}
    return doc


def _labels(record: StoredObject) -> dict[str, str]:
    labels = {k: v for k, v in record.labels.items() if k != ACTIVE_LABEL}
    labels[REASON_LABEL] = INTERRUPTED
    return labels


def interrupt_orphans(
    store: Store, lineage: Lineage, *, runs_dir: Path | None = None, clock: Callable[[], float] = time.time
) -> list[str]:
    """End the runs a dead server of this machine left unfinished (see the module documentation);
    the names of the PipelineRuns (and standalone TaskRuns) ended."""
    runs_dir = runs_dir if runs_dir is not None else state_dir() / "runs"
    mine = {ACTIVE_LABEL: "true", RUNNER_HOST_LABEL: host_name()}
    ended: list[str] = []
    for kind in (PIPELINE_RUN, TASK_RUN):
        for record in store.query(kind, labels=mine):
            runner = record.labels.get(RUNNER_LABEL, "")
            if runner_alive(runner):
                continue
            now = clock()
            message = (
                f"gitloop serve ({runner}) stopped while this {kind} was running; it was not resumed. "
                "Its status and logs up to then are kept; run it again to finish the work."
            )
            doc = interrupted_doc(record, message, now)
            store.put(kind, record.name, doc, labels=_labels(record))
            parent = record.labels.get("tekton.dev/pipelineRun", "")
            if kind == TASK_RUN and parent:
                continue  # its PipelineRun is ended (and its directory cleaned) on its own
            run_dir = runs_dir / record.name
            killed = kill_leftovers(run_dir / "sandboxes") if run_dir.is_dir() else 0
            shutil.rmtree(run_dir, ignore_errors=True)
            manifest: Any = doc.get("manifest")
            lineage.record_run_finished(
                record.name, manifest if isinstance(manifest, dict) else {}, finished=now
            )
            log.warning(
                "%s %s was running when gitloop serve %s stopped: ended as %s%s",
                kind,
                record.name,
                runner,
                INTERRUPTED,
                f" ({killed} leftover step process group(s) killed)" if killed else "",
            )
            ended.append(record.name)
    return ended
