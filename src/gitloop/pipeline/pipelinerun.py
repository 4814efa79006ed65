"""The PipelineRun state machine: ``decide(plan, state, observations, now) -> actions``. No I/O.

Tasks start when every task they wait for has settled, unless a rule skips them (``scheduling.judge``):
a ``stopAndFail`` failure stops scheduling (the rest are skipped, "PipelineRun was stopping"); a task
skipped by its own ``when`` lets ``runAfter``-only dependants run but skips those needing its results
("Results were missing"); other skips cascade ("Parent Tasks were skipped"). ``onError: continue``
turns a failure into ``FailureIgnored``. Once every task has settled the ``finally`` tasks start,
seeing ``$(tasks.status)`` and ``$(tasks.<t>.status)``. Timeouts (pipeline, tasks, finally) cancel the
running TaskRuns and skip the rest; ``Cancelled`` cancels everything, ``CancelledRunFinally`` cancels
the tasks and runs ``finally``, ``StoppedRunFinally`` lets running tasks finish, then runs ``finally``.
The final condition follows Tekton: Succeeded, Completed (something skipped), Failed, Cancelled,
PipelineRunTimeout, or the reason of a permanent error such as ``InvalidTaskResultReference``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gitloop.pipeline import reasons as R
from gitloop.pipeline.actions import (
    CancelRun,
    CancelTaskRun,
    PipelineRunAction,
    PipelineRunObservation,
    StartTaskRun,
)
from gitloop.pipeline.plan import PipelineRunPlan
from gitloop.pipeline.scheduling import (
    TaskResolutionError,
    judge,
    pipeline_context,
    pipeline_results,
    task_run_plans,
)
from gitloop.pipeline.state import Condition, PipelineRunState, PipelineTaskState
from gitloop.pipeline.taskrun import initial_state as initial_task_run
from gitloop.spec.duration import format_duration

_SETTLED = ("Succeeded", "Failed", "Skipped", "NotRun")


def initial_state(plan: PipelineRunPlan) -> PipelineRunState:
    """A PipelineRun that has not started."""
    tasks = {
        t.name: PipelineTaskState(t.name, final=plan.is_final(t.name), matrixed=t.matrix is not None)
        for t in (*plan.spec.tasks, *plan.spec.finally_tasks)
    }
    return PipelineRunState(plan.name, plan.pipeline_name, plan.namespace, plan.uid, tasks=tasks)


def _settle(plan: PipelineRunPlan, state: PipelineRunState, task: PipelineTaskState) -> None:
    children = [state.children[c] for c in task.children]
    if not children or not all(c.done for c in children):
        return
    if all(c.condition.succeeded for c in children):
        task.status = "Succeeded"
        return
    task.status = "Failed"
    if plan.task(task.name).on_error == "continue":
        for child in children:
            if not child.condition.succeeded and child.condition.reason != R.TR_CANCELLED:
                child.condition.reason = R.TR_FAILURE_IGNORED


def _observe(plan: PipelineRunPlan, state: PipelineRunState, obs: PipelineRunObservation) -> None:
    if isinstance(obs, CancelRun):
        if obs.status in R.CANCEL_REQUESTS and state.cancel != R.CANCELLED:
            state.cancel = obs.status
        return
    child = obs.state
    if child.name not in state.children:
        return
    state.children[child.name] = child
    task = state.tasks.get(child.pipeline_task)
    if task is not None and task.status == "Running":
        _settle(plan, state, task)


def _cancel_children(
    state: PipelineRunState, final: bool | None, message: str, actions: list[PipelineRunAction]
) -> None:
    """Ask the running TaskRuns (of finally tasks, of the others, or all: ``None``) to cancel."""
    for task in state.tasks.values():
        if final is not None and task.final != final:
            continue
        for name in task.children:
            child = state.children[name]
            if not child.done and name not in state.cancel_sent:
                state.cancel_sent.append(name)
                actions.append(CancelTaskRun(name, message))


def _skip_pending(state: PipelineRunState, final: bool | None, reason: str) -> None:
    for task in state.tasks.values():
        if task.status == "Pending" and (final is None or task.final == final):
            task.status, task.skip_reason = ("NotRun", "") if not reason else ("Skipped", reason)


def _dag_done(plan: PipelineRunPlan, state: PipelineRunState) -> bool:
    return all(state.tasks[t.name].status in _SETTLED for t in plan.spec.tasks)


def _stopping(plan: PipelineRunPlan, state: PipelineRunState) -> bool:
    return any(state.tasks[t.name].status == "Failed" and t.on_error != "continue" for t in plan.spec.tasks)


def _deadlines(
    plan: PipelineRunPlan, state: PipelineRunState
) -> tuple[float | None, float | None, float | None]:
    start, finally_start, t = state.start_time, state.finally_start_time, plan.timeouts
    pipeline = start + t.pipeline if start is not None and t.pipeline else None
    tasks = start + t.tasks if start is not None and t.tasks else None
    final = finally_start + t.finally_tasks if finally_start is not None and t.finally_tasks else None
    return pipeline, tasks, final


def next_deadline(plan: PipelineRunPlan, state: PipelineRunState) -> float | None:
    """When ``decide`` must run again for a timeout, if nothing else happens first."""
    if state.done:
        return None
    pipeline, tasks, final = _deadlines(plan, state)
    pending = [
        pipeline if not state.pipeline_timed_out else None,
        tasks if not state.tasks_timed_out and not _dag_done(plan, state) else None,
        final if not state.finally_timed_out else None,
    ]
    found = [d for d in pending if d is not None]
    return min(found) if found else None


def _apply_timeouts(
    plan: PipelineRunPlan, state: PipelineRunState, now: float, actions: list[PipelineRunAction]
) -> None:
    pipeline, tasks, final = _deadlines(plan, state)
    if pipeline is not None and now >= pipeline:
        state.pipeline_timed_out = True
    if tasks is not None and now >= tasks and not _dag_done(plan, state):
        state.tasks_timed_out = True
    if final is not None and now >= final:
        state.finally_timed_out = True
    if state.pipeline_timed_out:
        _cancel_children(state, None, R.TR_CANCELLED_BY_PIPELINE_TIMEOUT, actions)
        _skip_pending(state, None, R.SKIP_PIPELINE_TIMEOUT)
    if state.tasks_timed_out:
        _cancel_children(state, False, R.TR_CANCELLED_BY_PIPELINE_TIMEOUT, actions)
        _skip_pending(state, False, R.SKIP_TASKS_TIMEOUT)
    if state.finally_timed_out:
        _cancel_children(state, True, R.TR_CANCELLED_BY_PIPELINE_TIMEOUT, actions)
        _skip_pending(state, True, R.SKIP_FINALLY_TIMEOUT)


def _apply_cancel(plan: PipelineRunPlan, state: PipelineRunState, actions: list[PipelineRunAction]) -> None:
    if state.cancel == R.CANCELLED or state.failure is not None:
        _cancel_children(state, None, R.TR_CANCELLED_BY_PIPELINE, actions)
        _skip_pending(state, None, "")
    elif state.cancel == R.CANCELLED_RUN_FINALLY:
        _cancel_children(state, False, R.TR_CANCELLED_BY_PIPELINE, actions)
        _skip_pending(state, False, R.SKIP_GRACEFULLY_CANCELLED)
    elif state.cancel == R.STOPPED_RUN_FINALLY:
        _skip_pending(state, False, R.SKIP_GRACEFULLY_STOPPED)
    elif _stopping(plan, state):
        _skip_pending(state, False, R.SKIP_STOPPING)


def _start(
    plan: PipelineRunPlan, state: PipelineRunState, name: str, now: float, actions: list[PipelineRunAction]
) -> bool:
    """Judge one ready task and start or skip it; ``False`` if the run failed permanently instead."""
    task = plan.task(name)
    task_state = state.tasks[name]
    try:
        context = pipeline_context(plan, state, task)
        verdict = judge(plan, state, task, context)
        if verdict.skip:
            task_state.status, task_state.skip_reason = "Skipped", verdict.skip
            task_state.when = list(verdict.when)
            return True
        plans = task_run_plans(plan, state, task, context)
    except TaskResolutionError as exc:
        state.failure = Condition("False", exc.reason, str(exc), now)
        return False
    task_state.status = "Running"
    for child in plans:
        task_state.children.append(child.name)
        task_state.display_names.append(child.display_name)
        state.children[child.name] = initial_task_run(child)
        actions.append(StartTaskRun(child))
    return True


def _schedule(
    plan: PipelineRunPlan, state: PipelineRunState, now: float, actions: list[PipelineRunAction]
) -> None:
    if state.failure is not None or state.cancel == R.CANCELLED or state.pipeline_timed_out:
        return
    progress = True
    while progress:
        progress = False
        _apply_cancel(plan, state, actions)
        for task in plan.spec.tasks:
            task_state = state.tasks[task.name]
            if task_state.status != "Pending":
                continue
            if all(state.tasks[p].status in _SETTLED for p in plan.parents[task.name]):
                if not _start(plan, state, task.name, now, actions):
                    _apply_cancel(plan, state, actions)
                    return
                progress = True
    if not _dag_done(plan, state) or not plan.spec.finally_tasks:
        return
    if state.finally_start_time is None:
        state.finally_start_time = now
        _apply_timeouts(plan, state, now, actions)
    for task in plan.spec.finally_tasks:
        if state.tasks[task.name].status == "Pending" and not _start(plan, state, task.name, now, actions):
            _apply_cancel(plan, state, actions)
            return


@dataclass
class _Counts:
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    ignored: int = 0
    skipped: int = 0
    skipped_timeout: int = 0
    incomplete: int = 0


def _counts(plan: PipelineRunPlan, state: PipelineRunState) -> _Counts:
    counts = _Counts()
    for task in state.tasks.values():
        if task.status == "Succeeded":
            counts.succeeded += 1
        elif task.status == "Failed":
            children = [state.children[c].condition for c in task.children]
            by_user = [
                c
                for c in children
                if c.reason == R.TR_CANCELLED and c.message != R.TR_CANCELLED_BY_PIPELINE_TIMEOUT
            ]
            if by_user and len(by_user) == len([c for c in children if not c.succeeded]):
                counts.cancelled += 1
            elif plan.task(task.name).on_error == "continue":
                counts.ignored += 1
            else:
                counts.failed += 1
        elif task.status == "Skipped":
            counts.skipped += 1
            counts.skipped_timeout += task.skip_reason in R.TIMEOUT_SKIPS
        else:
            counts.incomplete += 1
    return counts


def _final_condition(plan: PipelineRunPlan, state: PipelineRunState, now: float) -> Condition:
    name, t = plan.name, plan.timeouts
    if state.pipeline_timed_out:
        return Condition(
            "False",
            R.PR_TIMEOUT,
            f'PipelineRun "{name}" failed to finish within "{format_duration(t.pipeline or 0)}"',
            now,
        )
    if state.failure is not None:
        return Condition("False", state.failure.reason, state.failure.message, now)
    if state.tasks_timed_out:
        return Condition(
            "False",
            R.PR_TIMEOUT,
            f'PipelineRun "{name}" failed due to tasks failed to finish within "{format_duration(t.tasks or 0)}"',
            now,
        )
    if state.cancel == R.CANCELLED:
        return Condition("False", R.PR_CANCELLED, f'PipelineRun "{name}" was cancelled', now)
    c = _counts(plan, state)
    completed = c.succeeded + c.failed + c.cancelled + c.ignored
    if c.ignored:
        message = (
            f"Tasks Completed: {completed} (Failed: {c.failed + c.ignored} (Ignored: {c.ignored}), "
            f"Cancelled {c.cancelled}), Skipped: {c.skipped}"
        )
    else:
        message = f"Tasks Completed: {completed} (Failed: {c.failed}, Cancelled {c.cancelled}), Skipped: {c.skipped}"
    if c.failed or c.skipped_timeout:
        return Condition("False", R.PR_FAILED, message, now)
    if state.cancel in (R.CANCELLED_RUN_FINALLY, R.STOPPED_RUN_FINALLY):
        return Condition("False", R.PR_CANCELLED, f'PipelineRun "{name}" was cancelled', now)
    if c.cancelled:
        return Condition("False", R.PR_CANCELLED, message, now)
    return Condition("True", R.PR_COMPLETED if c.skipped else R.PR_SUCCEEDED, message, now)


def _running_condition(plan: PipelineRunPlan, state: PipelineRunState, now: float) -> Condition:
    c = _counts(plan, state)
    completed = c.succeeded + c.failed + c.cancelled + c.ignored
    reason = R.PR_RUNNING
    finally_running = _dag_done(plan, state) and bool(plan.spec.finally_tasks)
    if state.tasks_timed_out and finally_running:
        reason = R.PR_TIMEOUT_RUNNING_FINALLY
    elif state.cancel == R.CANCELLED_RUN_FINALLY:
        reason = R.PR_CANCELLED_RUNNING_FINALLY
    elif state.cancel == R.STOPPED_RUN_FINALLY:
        reason = R.PR_STOPPED_RUNNING_FINALLY
    elif state.cancel == R.CANCELLED or c.cancelled or (c.failed and not plan.spec.finally_tasks):
        reason = R.PR_STOPPING
    message = (
        f"Tasks Completed: {completed} (Failed: {c.failed}, Cancelled {c.cancelled}), "
        f"Incomplete: {c.incomplete}, Skipped: {c.skipped}"
    )
    previous = state.condition
    time = previous.time if (previous.reason, previous.message) == (reason, message) else now
    return Condition("Unknown", reason, message, time)


def decide(
    plan: PipelineRunPlan, state: PipelineRunState, observations: Sequence[PipelineRunObservation], now: float
) -> list[PipelineRunAction]:
    """Apply ``observations`` to ``state`` and return the next actions; ``state.done`` once finished."""
    if state.done:
        return []
    for obs in observations:
        _observe(plan, state, obs)
    if state.start_time is None:
        state.start_time = now
    actions: list[PipelineRunAction] = []
    _apply_timeouts(plan, state, now, actions)
    _apply_cancel(plan, state, actions)
    _schedule(plan, state, now, actions)
    running = any(not c.done for c in state.children.values())
    unsettled = any(t.status not in _SETTLED for t in state.tasks.values())
    if running or unsettled:
        state.condition = _running_condition(plan, state, now)
        return actions
    state.condition = _final_condition(plan, state, now)
    state.results = pipeline_results(plan, state)
    state.completion_time = now
    state.done = True
    return actions
