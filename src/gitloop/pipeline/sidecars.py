"""A TaskRun's sidecars as they start, and their readiness probes as the driver runs them
(``ProbeSidecars``). Pure.

An ``exec`` probe runs in the sandbox like its sidecar (same image, env and mounts), its command
alone, as the container ``<sidecar>-probe`` (the sandbox gets a directory for it, as for a step).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from gitloop.pipeline.actions import SidecarProbe
from gitloop.pipeline.containers import container_request, sidecar_container_name, substitute_container
from gitloop.pipeline.substitution import TASK_STRICT, Context
from gitloop.pipeline.volumes import Objects, WorkspaceVolume, mounts_for
from gitloop.ports import ContainerRequest
from gitloop.spec.tekton import Sidecar


def sidecar_requests(
    sidecars: Sequence[Sidecar],
    context: Context,
    objects: Objects,
    workspaces: tuple[WorkspaceVolume, ...],
    field_values: dict[str, str],
) -> tuple[ContainerRequest, ...]:
    """The sidecars as they are started: substituted with the task-level ``context``."""
    requests: list[ContainerRequest] = []
    for i, sidecar in enumerate(sidecars):
        substituted = substitute_container(sidecar, context, TASK_STRICT, f"sidecars[{i}]")
        mounts = mounts_for(substituted, workspaces)
        name = sidecar_container_name(sidecar, i)
        requests.append(container_request(substituted, name, objects, mounts, field_values))
    return tuple(requests)


def probe_containers(sidecars: Sequence[Sidecar]) -> tuple[str, ...]:
    """The containers ``exec`` probes run as."""
    return tuple(
        f"{sidecar_container_name(s, i)}-probe"
        for i, s in enumerate(sidecars)
        if s.readiness is not None and s.readiness.kind == "exec"
    )


def sidecar_probes(
    sidecars: Sequence[Sidecar], requests: Sequence[ContainerRequest]
) -> tuple[SidecarProbe, ...]:
    """The probes of ``sidecars`` (``requests``: each sidecar as it is started)."""
    probes: list[SidecarProbe] = []
    for sidecar, request in zip(sidecars, requests, strict=True):
        probe = sidecar.readiness
        if probe is None:
            continue
        run = None
        if probe.kind == "exec":
            run = replace(
                request,
                name=f"{request.name}-probe",
                command=probe.command,
                args=(),
                script="",
                stdout_path="",
                stderr_path="",
            )
        probes.append(SidecarProbe(request.name, probe, run))
    return tuple(probes)
