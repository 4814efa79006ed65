"""Workspaces of a TaskRun as volumes an executor provides, and the ConfigMaps and Secrets they read.

A binding's source decides the volume: ``emptyDir`` is a fresh directory for one TaskRun (as in
Tekton, it is not shared between the TaskRuns of a PipelineRun); ``persistentVolumeClaim``,
``volumeClaimTemplate`` and a host directory given on the command line (kind ``hostPath``) bind a
directory of this machine that the driver chose (``host_dirs``); ``secret`` and ``configMap`` project
the keys of an object found in the input files as read-only files. ``projected`` and ``csi`` need a
cluster and are refused.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gitloop.errors import SpecError
from gitloop.ports import MountRequest, VolumeRequest
from gitloop.spec.tekton import ConfigMap, Secret, Step, WorkspaceBinding, WorkspaceDeclaration
from gitloop.spec.tekton.steps import Sidecar

HOST_PATH = "hostPath"
"""The binding kind of ``-w name=DIR``: a directory of this machine, used as it is."""
HOST_DIR_KINDS = ("persistentVolumeClaim", "volumeClaimTemplate", HOST_PATH)
LOCAL_KINDS = ("emptyDir", "secret", "configMap", *HOST_DIR_KINDS)


@dataclass(frozen=True)
class Objects:
    """The ConfigMaps and Secrets of the input files, by name."""

    config_maps: Mapping[str, ConfigMap] = field(default_factory=dict)
    secrets: Mapping[str, Secret] = field(default_factory=dict)


@dataclass(frozen=True)
class BoundWorkspace:
    """A workspace binding resolved for this machine: ``host_path`` for directory kinds."""

    binding: WorkspaceBinding
    host_path: str = ""

    @property
    def claim(self) -> str:
        return self.binding.claim_name


@dataclass(frozen=True)
class WorkspaceVolume:
    """A Task's declared workspace and the volume bound to it (``None``: optional and not bound)."""

    declaration: WorkspaceDeclaration
    volume: VolumeRequest | None
    claim: str = ""
    volume_name: str = ""


def check_binding(binding: WorkspaceBinding, objects: Objects, fail: Callable[[str], SpecError]) -> None:
    """Refuse sources a local run cannot provide, and secrets/configMaps absent from the files."""
    if binding.kind not in LOCAL_KINDS:
        raise fail(
            f"workspace {binding.name!r}: {binding.kind} volumes need a cluster; not supported locally"
        )
    optional = bool(binding.source.get("optional"))
    if binding.kind == "secret" and binding.secret_name not in objects.secrets and not optional:
        raise fail(f"workspace {binding.name!r}: secret {binding.secret_name!r} is not in the input files")
    if binding.kind == "configMap" and binding.config_map_name not in objects.config_maps and not optional:
        raise fail(
            f"workspace {binding.name!r}: configMap {binding.config_map_name!r} is not in the input files"
        )


def _mode(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def projected_files(binding: WorkspaceBinding, objects: Objects) -> tuple[tuple[str, bytes, int], ...]:
    """The files a ``secret``/``configMap`` workspace shows: every key, or the selected ``items``."""
    data: Mapping[str, bytes]
    if binding.kind == "secret":
        secret = objects.secrets.get(binding.secret_name)
        data = secret.data if secret else {}
    else:
        config = objects.config_maps.get(binding.config_map_name)
        data = {**{k: v.encode() for k, v in config.data.items()}, **config.binary_data} if config else {}
    default_mode = _mode(binding.source.get("defaultMode"), 0o644)
    items = binding.items
    if not items:
        return tuple((key, value, default_mode) for key, value in sorted(data.items()))
    files: list[tuple[str, bytes, int]] = []
    for item in items:
        key = str(item.get("key", ""))
        if key not in data:
            if binding.source.get("optional"):
                continue
            raise SpecError(f"workspace {binding.name!r}: key {key!r} not found in {binding.kind}")
        files.append((str(item.get("path") or key), data[key], _mode(item.get("mode"), default_mode)))
    return tuple(files)


def volume_for(
    declaration: WorkspaceDeclaration,
    bound: BoundWorkspace | None,
    objects: Objects,
    *,
    sub_path: str = "",
    volume_name: str = "",
) -> WorkspaceVolume:
    """The volume of one declared workspace; ``bound`` is ``None`` for an unbound optional one."""
    if bound is None:
        return WorkspaceVolume(declaration, None)
    binding = bound.binding
    joined = posixpath.join(binding.sub_path, sub_path) if binding.sub_path and sub_path else None
    path = (joined or binding.sub_path or sub_path).strip("/")
    files = projected_files(binding, objects) if binding.kind in ("secret", "configMap") else ()
    volume = VolumeRequest(
        name=declaration.name,
        mount_path=declaration.path,
        host_path=bound.host_path if binding.kind in HOST_DIR_KINDS else "",
        sub_path=path,
        read_only=declaration.read_only or binding.kind in ("secret", "configMap"),
        files=files,
    )
    claim = binding.claim_name or (f"pvc-{volume_name}" if binding.kind == "volumeClaimTemplate" else "")
    return WorkspaceVolume(declaration, volume, claim, volume_name or f"ws-{declaration.name}")


def mounts_for(container: Step | Sidecar, volumes: tuple[WorkspaceVolume, ...]) -> tuple[MountRequest, ...]:
    """The workspaces a step or sidecar mounts: the ones it lists (``workspaces``), else all bound ones."""
    bound = {v.declaration.name: v for v in volumes if v.volume is not None}
    if container.workspaces:
        chosen = [(u.name, u.mount_path) for u in container.workspaces if u.name in bound]
    else:
        chosen = [(name, "") for name in bound]
    mounts: list[MountRequest] = []
    for name, mount_path in chosen:
        decl = bound[name].declaration
        mounts.append(MountRequest(name, mount_path or decl.path, read_only=decl.read_only))
    for mount in container.volume_mounts:
        mounts.append(
            MountRequest(TASK_VOLUME_PREFIX + mount.name, mount.mount_path, mount.sub_path, mount.read_only)
        )
    return tuple(mounts)


def claim_path(root: Path, claim: str) -> Path:
    """The directory of the claim named ``claim`` under the state directory ``root``: kept between runs,
    as a bound ``PersistentVolumeClaim`` keeps its data. ``claim`` is a checked DNS-1123 name."""
    return root / "volumes" / claim


TASK_VOLUME_PREFIX = "volume-"
"""Names of a Task's own ``volumes`` in a sandbox, apart from its workspaces."""


def task_volumes(volumes: tuple[Mapping[str, object], ...], objects: Objects) -> tuple[VolumeRequest, ...]:
    """A Task's ``spec.volumes`` a local run can provide: ``emptyDir``, ``secret``, ``configMap``."""
    requests: list[VolumeRequest] = []
    for volume in volumes:
        name = str(volume.get("name", ""))
        kind = next((k for k in ("emptyDir", "secret", "configMap") if k in volume), "")
        if not kind:
            raise SpecError(
                f"volume {name!r}: only emptyDir, secret and configMap volumes are supported locally"
            )
        source = volume.get(kind)
        binding = WorkspaceBinding(name, kind, dict(source) if isinstance(source, Mapping) else {})
        files = projected_files(binding, objects) if kind != "emptyDir" else ()
        requests.append(
            VolumeRequest(TASK_VOLUME_PREFIX + name, "", read_only=kind != "emptyDir", files=files)
        )
    return tuple(requests)
