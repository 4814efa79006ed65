"""The resumable state of TaskRuns and PipelineRuns: plain dataclasses that round-trip through JSON.

The machines (``taskrun``, ``pipelinerun``) update these in ``decide``; the driver stores
``to_json()`` in the store after every change, so a later process can load a run with ``from_json``
and see exactly where it stood. Times are seconds since the epoch; values of params and results are
JSON values (string, list of strings, object of strings).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, TypeVar, Union

from gitloop.errors import PipelineError

T = TypeVar("T")


@dataclass
class Condition:
    """The ``Succeeded`` condition: ``status`` True, False or Unknown, with Tekton's ``reason``."""

    status: str = "Unknown"
    reason: str = ""
    message: str = ""
    time: float | None = None

    @property
    def done(self) -> bool:
        return self.status != "Unknown"

    @property
    def succeeded(self) -> bool:
        return self.status == "True"


@dataclass
class StepState:
    """One step (or sidecar) of a TaskRun attempt. ``reason`` is Tekton's ``terminationReason``."""

    name: str
    container: str
    phase: str = "waiting"
    """``waiting``, ``running`` or ``terminated``."""
    exit_code: int | None = None
    reason: str = ""
    message: str = ""
    started: float | None = None
    finished: float | None = None


@dataclass
class AttemptRecord:
    """A finished attempt of a retried TaskRun, as ``status.retriesStatus`` shows it."""

    condition: Condition
    start_time: float | None
    completion_time: float | None
    steps: list[StepState] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)


@dataclass
class TaskRunState:
    """One TaskRun, across its attempts (``attempt`` counts retries from 0)."""

    name: str
    task: str
    pipeline_task: str = ""
    display_name: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    attempt: int = 0
    phase: str = "Pending"
    """``Pending``, ``Preparing``, ``StartingSidecars``, ``Running``, ``Releasing`` or ``Done``."""
    sandbox: str = ""
    paths: dict[str, Any] | None = None
    condition: Condition = field(default_factory=Condition)
    start_time: float | None = None
    """When the current attempt started."""
    completion_time: float | None = None
    steps: list[StepState] = field(default_factory=list)
    sidecars: list[str] = field(default_factory=list)
    raw_results: dict[str, str] = field(default_factory=dict)
    step_results: dict[str, dict[str, str]] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    running_step: int | None = None
    stop: str = ""
    """Why the attempt is being stopped: ``""``, ``cancel``, ``timeout`` or ``step-timeout``."""
    stop_message: str = ""
    kill_requested: bool = False
    release_requested: bool = False
    outcome: Condition | None = None
    """The attempt's verdict, decided before its sandbox is released."""
    retries_status: list[AttemptRecord] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.phase == "Done"


@dataclass
class PipelineTaskState:
    """One pipeline task (in ``tasks`` or ``finally``): its fate and the TaskRuns it made."""

    name: str
    final: bool = False
    matrixed: bool = False
    status: str = "Pending"
    """``Pending``, ``Running``, ``Succeeded``, ``Failed``, ``Skipped`` or ``NotRun`` (hard cancel)."""
    skip_reason: str = ""
    when: list[dict[str, Any]] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    display_names: list[str] = field(default_factory=list)


@dataclass
class PipelineRunState:
    """One PipelineRun; its TaskRuns are kept in ``children`` by name."""

    name: str
    pipeline: str
    namespace: str = "default"
    uid: str = ""
    condition: Condition = field(default_factory=Condition)
    start_time: float | None = None
    completion_time: float | None = None
    finally_start_time: float | None = None
    cancel: str = ""
    """A cancellation request: ``Cancelled``, ``CancelledRunFinally`` or ``StoppedRunFinally``."""
    pipeline_timed_out: bool = False
    tasks_timed_out: bool = False
    finally_timed_out: bool = False
    cancel_sent: list[str] = field(default_factory=list)
    """TaskRuns already asked to cancel."""
    failure: Condition | None = None
    """A permanent failure (a bad result reference, a param of the wrong type) that ends the run."""
    tasks: dict[str, PipelineTaskState] = field(default_factory=dict)
    children: dict[str, TaskRunState] = field(default_factory=dict)
    results: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False


def to_json(state: Any) -> dict[str, Any]:
    """A state dataclass as JSON-compatible data."""
    data: dict[str, Any] = dataclasses.asdict(state)
    return data


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _load(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _load(inner[0], value) if len(inner) == 1 else value
    if origin is list:
        return [_load(args[0], v) for v in value]
    if origin is dict:
        return {k: _load(args[1], v) for k, v in value.items()}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return from_json(hint, value)
    return value


def from_json(cls: type[T], data: dict[str, Any]) -> T:
    """A state dataclass from what ``to_json`` made."""
    if not isinstance(data, dict):
        raise PipelineError(f"stored {cls.__name__} is not an object")
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values = {k: _load(hints[k], v) for k, v in data.items() if k in names}
    return cls(**values)
