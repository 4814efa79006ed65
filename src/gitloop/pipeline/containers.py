"""From a Task's steps and sidecars to ``ContainerRequest``s: substitution, env, scripts. Pure.

Every field Tekton substitutes is substituted (image, command, args, script, workingDir, env values
and the names and keys of their ``valueFrom`` sources, volume mounts, ``onError``, output paths).
A ``script`` without a shebang gets Tekton's default preamble ``#!/bin/sh`` + ``set -e``. ``env``
``valueFrom`` and ``envFrom`` read the ConfigMaps and Secrets of the input files; a missing one that is
not ``optional`` is a ``ContainerConfigError``, which fails the TaskRun as Kubernetes would.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from typing import Any, TypeVar

from gitloop.errors import PipelineError
from gitloop.pipeline.substitution import Context, substitute, substitute_list, substitute_value
from gitloop.pipeline.volumes import Objects
from gitloop.ports import ContainerRequest, MountRequest
from gitloop.spec.tekton import EnvFromSource, EnvVar, KeyRef, Sidecar, Step, StepTemplate, VolumeMount

C = TypeVar("C", Step, Sidecar, StepTemplate)

DEFAULT_PREAMBLE = "#!/bin/sh\nset -e\n"


class ContainerConfigError(PipelineError):
    """A container cannot be configured: a ConfigMap, Secret or key it needs does not exist."""


def step_container_name(step: Step, index: int) -> str:
    """``step-<name>``, or ``step-unnamed-<index>`` for a step without a name."""
    return f"step-{step.name}" if step.name else f"step-unnamed-{index}"


def step_display_name(step: Step, index: int) -> str:
    return step.name or f"unnamed-{index}"


def sidecar_container_name(sidecar: Sidecar, index: int) -> str:
    return f"sidecar-{sidecar.name}" if sidecar.name else f"sidecar-unnamed-{index}"


def with_preamble(script: str) -> str:
    """``script`` as it runs: unchanged with a shebang, else behind ``#!/bin/sh`` and ``set -e``."""
    return script if script.startswith("#!") else DEFAULT_PREAMBLE + script


def _key_ref(ref: KeyRef | None, context: Context, strict: Collection[str], at: str) -> KeyRef | None:
    if ref is None:
        return None
    return replace(
        ref,
        name=substitute(ref.name, context, strict=strict, field=f"{at}.name"),
        key=substitute(ref.key, context, strict=strict, field=f"{at}.key"),
    )


def _env(env: EnvVar, context: Context, strict: Collection[str], at: str) -> EnvVar:
    return replace(
        env,
        value=substitute(env.value, context, strict=strict, field=f"{at}.value"),
        secret_key_ref=_key_ref(env.secret_key_ref, context, strict, f"{at}.valueFrom.secretKeyRef"),
        config_map_key_ref=_key_ref(
            env.config_map_key_ref, context, strict, f"{at}.valueFrom.configMapKeyRef"
        ),
    )


def _mount(mount: VolumeMount, context: Context, strict: Collection[str], at: str) -> VolumeMount:
    return replace(
        mount,
        name=substitute(mount.name, context, strict=strict, field=f"{at}.name"),
        mount_path=substitute(mount.mount_path, context, strict=strict, field=f"{at}.mountPath"),
        sub_path=substitute(mount.sub_path, context, strict=strict, field=f"{at}.subPath"),
    )


def substitute_container(container: C, context: Context, strict: Collection[str], at: str) -> C:
    """``container`` with its variables substituted (``at`` names it in errors: ``steps[0]``)."""
    changes: dict[str, Any] = {
        "image": substitute(container.image, context, strict=strict, field=f"{at}.image"),
        "command": tuple(substitute_list(container.command, context, strict=strict, field=f"{at}.command")),
        "args": tuple(substitute_list(container.args, context, strict=strict, field=f"{at}.args")),
        "working_dir": substitute(container.working_dir, context, strict=strict, field=f"{at}.workingDir"),
        "env": tuple(_env(e, context, strict, f"{at}.env[{i}]") for i, e in enumerate(container.env)),
        "env_from": tuple(
            replace(
                e,
                config_map=substitute(e.config_map, context, strict=strict, field=f"{at}.envFrom[{i}]"),
                secret=substitute(e.secret, context, strict=strict, field=f"{at}.envFrom[{i}]"),
            )
            for i, e in enumerate(container.env_from)
        ),
        "volume_mounts": tuple(
            _mount(m, context, strict, f"{at}.volumeMounts[{i}]")
            for i, m in enumerate(container.volume_mounts)
        ),
        "image_pull_policy": substitute(container.image_pull_policy, context, strict=strict),
        "security_context": substitute_value(container.security_context, context, strict=strict),
    }
    if isinstance(container, Step | Sidecar):
        changes["script"] = substitute(container.script, context, strict=strict, field=f"{at}.script")
    if isinstance(container, Step):
        on_error = substitute(container.on_error, context, strict=strict, field=f"{at}.onError")
        if on_error not in ("continue", "stopAndFail"):
            raise ContainerConfigError(
                f"{at}.onError: {on_error!r} must be continue or stopAndFail after substitution"
            )
        changes["on_error"] = on_error
        changes["stdout_path"] = substitute(
            container.stdout_path, context, strict=strict, field=f"{at}.stdoutConfig"
        )
        changes["stderr_path"] = substitute(
            container.stderr_path, context, strict=strict, field=f"{at}.stderrConfig"
        )
    return replace(container, **changes)


def _lookup(objects: Objects, ref: KeyRef, secret: bool) -> str | None:
    kind = "secret" if secret else "configmap"
    if secret:
        found = objects.secrets.get(ref.name)
        data = {k: v.decode("utf-8", errors="replace") for k, v in found.data.items()} if found else None
    else:
        config = objects.config_maps.get(ref.name)
        data = dict(config.data) if config else None
    if data is None:
        if ref.optional:
            return None
        raise ContainerConfigError(f'{kind} "{ref.name}" not found')
    if ref.key not in data:
        if ref.optional:
            return None
        raise ContainerConfigError(f"couldn't find key {ref.key} in {kind} {ref.name}")
    return data[ref.key]


def _env_from(source: EnvFromSource, objects: Objects) -> dict[str, str]:
    if source.secret:
        secret = objects.secrets.get(source.secret)
        if secret is None:
            if source.optional:
                return {}
            raise ContainerConfigError(f'secret "{source.secret}" not found')
        return {source.prefix + k: v.decode("utf-8", errors="replace") for k, v in secret.data.items()}
    config = objects.config_maps.get(source.config_map)
    if config is None:
        if source.optional:
            return {}
        raise ContainerConfigError(f'configmap "{source.config_map}" not found')
    return {source.prefix + k: v for k, v in config.data.items()}


def resolve_env(container: Step | Sidecar, objects: Objects, field_values: dict[str, str]) -> dict[str, str]:
    """The environment of a container: ``envFrom`` first, then ``env`` in order (later wins).

    ``fieldRef`` reads ``field_values`` (``metadata.name``, ``metadata.namespace``, ...), else ``""``.
    """
    env: dict[str, str] = {}
    for source in container.env_from:
        env.update(_env_from(source, objects))
    for var in container.env:
        if var.secret_key_ref is not None:
            value = _lookup(objects, var.secret_key_ref, secret=True)
        elif var.config_map_key_ref is not None:
            value = _lookup(objects, var.config_map_key_ref, secret=False)
        elif var.field_ref is not None:
            ref = var.field_ref.get("fieldRef")
            path = ref.get("fieldPath", "") if isinstance(ref, dict) else ""
            value = field_values.get(str(path), "")
        else:
            value = var.value
        if value is not None:
            env[var.name] = value
    return env


def container_request(
    container: Step | Sidecar,
    name: str,
    objects: Objects,
    mounts: tuple[MountRequest, ...],
    field_values: dict[str, str],
) -> ContainerRequest:
    """The request for one substituted step or sidecar."""
    stdout, stderr = (
        (container.stdout_path, container.stderr_path) if isinstance(container, Step) else ("", "")
    )
    return ContainerRequest(
        name=name,
        image=container.image,
        command=container.command,
        args=container.args,
        script=with_preamble(container.script) if container.script else "",
        env=resolve_env(container, objects, field_values),
        working_dir=container.working_dir,
        mounts=mounts,
        stdout_path=stdout,
        stderr_path=stderr,
    )
