"""What the machines ask the driver to do (actions) and what the driver tells them (observations).

TaskRun level: ``Prepare`` a sandbox, ``StartSidecars``, ``ProbeSidecars`` (their readiness probes),
``RunStep``, ``KillStep``, ``Release``; the driver answers with ``Prepared``/``PrepareFailed``,
``SidecarsStarted``, ``SidecarsReady``, ``StepFinished`` and
``Released``, and passes on ``Cancel``. PipelineRun level: ``StartTaskRun`` and ``CancelTaskRun``;
the driver answers with ``TaskRunChanged`` (a snapshot of the child's state) and passes on
``CancelRun`` (a cancellation request, e.g. from Ctrl-C). All are plain frozen data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from gitloop.ports import ContainerRequest, SandboxPaths, SandboxRequest, StepOutcome
from gitloop.spec.tekton.probes import Probe

if TYPE_CHECKING:
    from gitloop.pipeline.state import TaskRunState
    from gitloop.pipeline.taskrun import TaskRunPlan


@dataclass(frozen=True)
class Prepare:
    request: SandboxRequest
    result_limit: int


@dataclass(frozen=True)
class StartSidecars:
    sandbox: str
    sidecars: tuple[ContainerRequest, ...]


@dataclass(frozen=True)
class SidecarProbe:
    """One sidecar's ``readinessProbe``; ``request`` is what an ``exec`` probe runs in the sandbox."""

    sidecar: str
    probe: Probe
    request: ContainerRequest | None = None


@dataclass(frozen=True)
class ProbeSidecars:
    """Wait until every probe passes (``SidecarsReady``), at most ``limit`` seconds."""

    sandbox: str
    probes: tuple[SidecarProbe, ...]
    limit: float


@dataclass(frozen=True)
class RunStep:
    sandbox: str
    index: int
    step: ContainerRequest


@dataclass(frozen=True)
class KillStep:
    sandbox: str


@dataclass(frozen=True)
class Release:
    sandbox: str


@dataclass(frozen=True)
class Prepared:
    sandbox: str
    paths: SandboxPaths


@dataclass(frozen=True)
class PrepareFailed:
    sandbox: str
    message: str


@dataclass(frozen=True)
class SidecarsStarted:
    sandbox: str
    failure: StepOutcome | None = None


@dataclass(frozen=True)
class SidecarsReady:
    """Every sidecar passed its readiness probe, or ``failure`` says which did not in time."""

    sandbox: str
    failure: str = ""


@dataclass(frozen=True)
class StepFinished:
    sandbox: str
    index: int
    outcome: StepOutcome


@dataclass(frozen=True)
class Released:
    sandbox: str


@dataclass(frozen=True)
class Cancel:
    """Stop the TaskRun: ``TaskRunCancelled`` with ``message``; no more retries."""

    message: str


TaskRunAction: TypeAlias = Prepare | StartSidecars | ProbeSidecars | RunStep | KillStep | Release
TaskRunObservation: TypeAlias = (
    Prepared | PrepareFailed | SidecarsStarted | SidecarsReady | StepFinished | Released | Cancel
)


@dataclass(frozen=True)
class StartTaskRun:
    plan: TaskRunPlan


@dataclass(frozen=True)
class CancelTaskRun:
    name: str
    message: str


@dataclass(frozen=True)
class TaskRunChanged:
    state: TaskRunState


@dataclass(frozen=True)
class CancelRun:
    """A cancellation request: ``Cancelled``, ``CancelledRunFinally`` or ``StoppedRunFinally``."""

    status: str


PipelineRunAction: TypeAlias = StartTaskRun | CancelTaskRun
PipelineRunObservation: TypeAlias = TaskRunChanged | CancelRun
