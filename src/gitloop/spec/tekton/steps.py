"""Containers of a Task: steps, the step template and sidecars, with their env and mounts.

The Kubernetes container fields gitloop does not interpret (``securityContext``, ``computeResources``,
probes, ports, ...) are kept as plain data. A step may instead perform a StepAction (``ref`` by
``name`` or ``resolver``, with ``params``); it then may not set the fields the StepAction sets
(``REF_FORBIDDEN``), and ``gitloop.pipeline.stepactions`` inlines the StepAction before the run.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from gitloop.spec.fields import Node
from gitloop.spec.tekton.names import dns1123_label_problem, dns1123_subdomain_problem, local_path_problem
from gitloop.spec.tekton.params import Param, ResultSpec, parse_params, parse_results
from gitloop.spec.tekton.probes import Probe, named_ports, parse_probe
from gitloop.spec.tekton.when import WhenExpression, parse_when
from gitloop.spec.tekton.workspaces import WorkspaceUsage, parse_workspace_usages

OnError = Literal["continue", "stopAndFail"]
ON_ERROR: tuple[OnError, ...] = ("continue", "stopAndFail")

_CONTAINER_FIELDS = (
    "image",
    "command",
    "args",
    "workingDir",
    "env",
    "envFrom",
    "computeResources",
    "volumeMounts",
    "volumeDevices",
    "imagePullPolicy",
    "securityContext",
)
_STEP_FIELDS = (
    "name",
    *_CONTAINER_FIELDS,
    "displayName",
    "script",
    "timeout",
    "workspaces",
    "onError",
    "stdoutConfig",
    "stderrConfig",
    "results",
    "when",
    "ref",
    "params",
)
_SIDECAR_EXTRA = (
    "ports",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "stdin",
    "stdinOnce",
    "tty",
    "restartPolicy",
)
_SIDECAR_FIELDS = ("name", *_CONTAINER_FIELDS, "script", "workspaces", *_SIDECAR_EXTRA)
_V1BETA1_HINT = {"resources": "tekton.dev/v1 calls it computeResources"}
REF_FORBIDDEN = ("image", "command", "args", "script", "workingDir", "env", "volumeMounts", "results")
"""The fields a step that references a StepAction may not set: the StepAction sets them."""


@dataclass(frozen=True)
class KeyRef:
    """One key of a Secret or ConfigMap (``secretKeyRef``/``configMapKeyRef``)."""

    name: str
    key: str
    optional: bool = False


@dataclass(frozen=True)
class EnvVar:
    """An environment variable: a literal ``value`` or one ``valueFrom`` source."""

    name: str
    value: str = ""
    secret_key_ref: KeyRef | None = None
    config_map_key_ref: KeyRef | None = None
    field_ref: Mapping[str, Any] | None = None
    """``fieldRef``/``resourceFieldRef``, kept as plain data under its own key."""


@dataclass(frozen=True)
class EnvFromSource:
    """All keys of a ConfigMap or Secret as variables, each name prefixed with ``prefix``."""

    prefix: str = ""
    config_map: str = ""
    secret: str = ""
    optional: bool = False


@dataclass(frozen=True)
class VolumeMount:
    name: str
    mount_path: str
    sub_path: str = ""
    read_only: bool = False


@dataclass(frozen=True)
class StepRef:
    """A StepAction by ``name`` (from the files), or fetched by a ``resolver`` with ``params``."""

    name: str = ""
    resolver: str = ""
    params: tuple[Param, ...] = ()


@dataclass(frozen=True)
class ContainerFields:
    """The container fields shared by steps, the step template and sidecars."""

    image: str = ""
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    working_dir: str = ""
    env: tuple[EnvVar, ...] = ()
    env_from: tuple[EnvFromSource, ...] = ()
    volume_mounts: tuple[VolumeMount, ...] = ()
    image_pull_policy: str = ""
    security_context: Mapping[str, Any] = field(default_factory=dict)
    compute_resources: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepTemplate(ContainerFields):
    """The base every step of a Task starts from; a step's own fields win."""


@dataclass(frozen=True)
class Step(ContainerFields):
    """One step: a container run to completion, by ``script`` or by ``command``/``args``."""

    name: str = ""
    display_name: str = ""
    script: str = ""
    timeout: float | None = None
    """Seconds; ``None`` is no step timeout."""
    on_error: OnError = "stopAndFail"
    stdout_path: str = ""
    stderr_path: str = ""
    results: tuple[ResultSpec, ...] = ()
    when: tuple[WhenExpression, ...] = ()
    workspaces: tuple[WorkspaceUsage, ...] = ()
    ref: StepRef | None = None
    """The StepAction this step performs; ``None`` once inlined, or for a step of its own."""
    params: tuple[Param, ...] = ()
    """The values given to the StepAction's params."""


@dataclass(frozen=True)
class Sidecar(ContainerFields):
    """A container running beside the steps for the whole TaskRun."""

    name: str = ""
    script: str = ""
    workspaces: tuple[WorkspaceUsage, ...] = ()
    readiness: Probe | None = None
    """The ``readinessProbe``: the steps wait until it passes."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Container fields gitloop keeps without interpreting (ports, probes, lifecycle, ...)."""


def _key_ref(node: Node) -> KeyRef:
    node.require_map().only(("name", "key", "optional"))
    return KeyRef(
        node.string("name", required=True), node.string("key", required=True), node.boolean("optional")
    )


def _env(parent: Node) -> tuple[EnvVar, ...]:
    found: list[EnvVar] = []
    for item in parent.items("env"):
        item.require_map().only(("name", "value", "valueFrom"))
        name = item.string("name", required=True)
        value = item.string("value")
        source = item.child("valueFrom")
        if source is None:
            found.append(EnvVar(name, value))
            continue
        if value:
            raise item.error("may not be specified when value is not empty", "valueFrom")
        source.require_map().only(("secretKeyRef", "configMapKeyRef", "fieldRef", "resourceFieldRef"))
        kinds = list(source.value)
        if len(kinds) != 1:
            raise source.error(
                "must specify exactly one of secretKeyRef, configMapKeyRef, fieldRef, resourceFieldRef"
            )
        secret = source.child("secretKeyRef")
        config = source.child("configMapKeyRef")
        other = None if secret or config else {kinds[0]: source.raw(kinds[0])}
        found.append(
            EnvVar(
                name, "", _key_ref(secret) if secret else None, _key_ref(config) if config else None, other
            )
        )
    return tuple(found)


def _env_from(parent: Node) -> tuple[EnvFromSource, ...]:
    found: list[EnvFromSource] = []
    for item in parent.items("envFrom"):
        item.require_map().only(("prefix", "configMapRef", "secretRef"))
        config, secret = item.child("configMapRef"), item.child("secretRef")
        if (config is None) == (secret is None):
            raise item.error("must specify exactly one of configMapRef, secretRef")
        ref = config or secret
        assert ref is not None
        ref.require_map().only(("name", "optional"))
        name = ref.string("name", required=True)
        found.append(
            EnvFromSource(
                item.string("prefix"), name if config else "", name if secret else "", ref.boolean("optional")
            )
        )
    return tuple(found)


def _volume_mounts(parent: Node) -> tuple[VolumeMount, ...]:
    found: list[VolumeMount] = []
    for item in parent.items("volumeMounts"):
        item.require_map().only(
            (
                "name",
                "mountPath",
                "subPath",
                "readOnly",
                "mountPropagation",
                "subPathExpr",
                "recursiveReadOnly",
            )
        )
        mount = VolumeMount(
            item.string("name", required=True),
            item.string("mountPath", required=True),
            item.string("subPath"),
            item.boolean("readOnly"),
        )
        if problem := local_path_problem(mount.sub_path):
            raise item.error(f"invalid subPath: {problem}", "subPath")
        clean = posixpath.normpath(mount.mount_path)
        if clean.startswith("/tekton/") and not clean.startswith("/tekton/home"):
            raise item.error(
                f"volumeMount cannot be mounted under /tekton/ ({mount.mount_path!r})", "mountPath"
            )
        if mount.name.startswith("tekton-internal-"):
            raise item.error(f"volumeMount name {mount.name!r} cannot start with 'tekton-internal-'", "name")
        found.append(mount)
    return tuple(found)


def container_fields(node: Node, beta: bool = False) -> dict[str, Any]:
    """The ``ContainerFields`` keywords of a container node (a step, a sidecar, a StepAction spec)."""
    return _container(node, beta)


def _container(node: Node, beta: bool) -> dict[str, Any]:
    resources = "resources" if beta and node.has("resources") else "computeResources"
    return {
        "image": node.string("image"),
        "command": node.strings("command"),
        "args": node.strings("args"),
        "working_dir": node.string("workingDir"),
        "env": _env(node),
        "env_from": _env_from(node),
        "volume_mounts": _volume_mounts(node),
        "image_pull_policy": node.string("imagePullPolicy"),
        "security_context": node.raw_map("securityContext"),
        "compute_resources": node.raw_map(resources),
    }


def _output_path(node: Node, key: str) -> str:
    config = node.child(key)
    if config is None:
        return ""
    config.require_map().only(("path",))
    return config.string("path")


def parse_step(node: Node, *, beta: bool = False) -> Step:
    """One step, validated on its own (image presence is checked after the step template merge)."""
    node.require_map().only((*_STEP_FIELDS, *(("resources",) if beta else ())), _V1BETA1_HINT)
    ref_node = node.child("ref")
    if ref_node is not None:
        for key in REF_FORBIDDEN:
            if node.has(key):
                raise node.error(f"{key} cannot be used with ref (the StepAction sets it)", key)
    elif node.has("params"):
        raise node.error("params cannot be used without ref", "params")
    name = node.string("name")
    if name and (problem := dns1123_label_problem(name)):
        raise node.error(f"step name {problem}", "name")
    step = Step(
        **_container(node, beta),
        name=name,
        display_name=node.string("displayName"),
        script=node.string("script"),
        timeout=node.duration("timeout"),
        on_error=node.one_of("onError", ON_ERROR, default="stopAndFail"),
        stdout_path=_output_path(node, "stdoutConfig"),
        stderr_path=_output_path(node, "stderrConfig"),
        results=parse_results(node, step=True),
        when=parse_when(node),
        workspaces=parse_workspace_usages(node),
        ref=parse_step_ref(ref_node) if ref_node is not None else None,
        params=parse_params(node),
    )
    if step.script and step.command:
        raise node.error("script cannot be used with command", "script")
    return step


def parse_step_ref(node: Node) -> StepRef:
    """A step's ``ref``: a StepAction ``name``, or a ``resolver`` with ``params``; not both."""
    node.require_map().only(("name", "resolver", "params"))
    ref = StepRef(node.string("name"), node.string("resolver"), parse_params(node))
    if ref.resolver and ref.name:
        raise node.error("expected exactly one, got both: name, resolver", "name")
    if ref.params and not ref.resolver:
        raise node.error("required field is missing (params need a resolver)", "resolver")
    if not ref.name and not ref.resolver:
        raise node.error("required field is missing (name, or resolver and params)", "name")
    if ref.name and (problem := dns1123_subdomain_problem(ref.name)):
        raise node.error(f"invalid StepAction name: {problem}", "name")
    return ref


def parse_step_template(node: Node, *, beta: bool = False) -> StepTemplate:
    node.require_map().only((*_CONTAINER_FIELDS, *(("resources",) if beta else ())), _V1BETA1_HINT)
    return StepTemplate(**_container(node, beta))


def parse_sidecar(node: Node, *, beta: bool = False) -> Sidecar:
    node.require_map().only((*_SIDECAR_FIELDS, *(("resources",) if beta else ())), _V1BETA1_HINT)
    name = node.string("name")
    if name and (problem := dns1123_label_problem(name)):
        raise node.error(f"sidecar name {problem}", "name")
    extra = {k: node.raw(k) for k in _SIDECAR_EXTRA if node.has(k)}
    probe_node = node.child("readinessProbe")
    sidecar = Sidecar(
        **_container(node, beta),
        name=name,
        script=node.string("script"),
        workspaces=parse_workspace_usages(node),
        readiness=parse_probe(probe_node, named_ports(node)) if probe_node is not None else None,
        extra=extra,
    )
    if sidecar.script and sidecar.command:
        raise node.error("script cannot be used with command", "script")
    return sidecar


def merge_step_template(template: StepTemplate | None, step: Step) -> Step:
    """``step`` on top of ``template``: the step's fields win; ``env`` merges by name, mounts by path."""
    if template is None:
        return step
    step_env = {e.name for e in step.env}
    step_mounts = {m.mount_path for m in step.volume_mounts}
    return replace(
        step,
        image=step.image or template.image,
        command=step.command or template.command,
        args=step.args or template.args,
        working_dir=step.working_dir or template.working_dir,
        env=tuple(e for e in template.env if e.name not in step_env) + step.env,
        env_from=step.env_from or template.env_from,
        volume_mounts=tuple(m for m in template.volume_mounts if m.mount_path not in step_mounts)
        + step.volume_mounts,
        image_pull_policy=step.image_pull_policy or template.image_pull_policy,
        security_context={**template.security_context, **step.security_context},
        compute_resources={**template.compute_resources, **step.compute_resources},
    )
