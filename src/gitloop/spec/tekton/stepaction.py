"""``StepAction`` (tekton.dev/v1alpha1, v1beta1, v1): the reusable work of one step.

A StepAction sets a step's container (``image``, ``command``/``args`` or ``script``, ``env``,
``workingDir``, ``volumeMounts``, ``securityContext``) and declares the ``params`` it uses and the
``results`` it writes to ``$(step.results.<name>.path)``. As with a Task object, it may only use the
params it declares; a ``volumeMounts[].name`` must be exactly one string param (``$(params.x)``), so the
Task that uses it picks the volume. A step uses it with ``ref`` (see ``steps``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from gitloop.errors import SpecError
from gitloop.spec.fields import Node
from gitloop.spec.tekton.meta import ObjectMeta, Source, parse_meta
from gitloop.spec.tekton.params import ParamSpec, ResultSpec, parse_param_specs, parse_results
from gitloop.spec.tekton.steps import ContainerFields, container_fields
from gitloop.spec.tekton.usage import Position, Scope, check_text
from gitloop.spec.tekton.variables import exact_reference

STEP_ACTION_VERSIONS = ("tekton.dev/v1alpha1", "tekton.dev/v1beta1", "tekton.dev/v1")
STEP_ACTION_FIELDS = (
    "image",
    "command",
    "args",
    "script",
    "env",
    "workingDir",
    "volumeMounts",
    "securityContext",
    "params",
    "results",
    "description",
)


@dataclass(frozen=True)
class StepActionSpec(ContainerFields):
    """The container a step referencing this StepAction runs, with its params and step results."""

    script: str = ""
    params: tuple[ParamSpec, ...] = ()
    results: tuple[ResultSpec, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class StepAction:
    kind: ClassVar[str] = "StepAction"
    api_version: str
    meta: ObjectMeta
    spec: StepActionSpec
    source: Source | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return self.meta.name


def parse_step_action_spec(node: Node) -> StepActionSpec:
    """A StepAction's ``spec``, checked: an image, ``script`` or ``command``, declared params only."""
    node.require_map().only(STEP_ACTION_FIELDS)
    spec = StepActionSpec(
        **container_fields(node),
        script=node.string("script"),
        params=parse_param_specs(node),
        results=parse_results(node, step=True),
        description=node.string("description"),
    )
    if not spec.image:
        raise node.error("required field is missing", "image")
    if spec.script and spec.command:
        raise node.error("script cannot be used with command", "script")
    params = {p.name: p for p in spec.params}
    for i, mount in enumerate(spec.volume_mounts):
        ref = exact_reference(mount.name)
        param = params.get(ref.param or "") if ref is not None and ref.namespace == "params" else None
        if ref is None or param is None or param.type != "string" or ref.key or ref.index is not None:
            raise node.error(
                f"volumeMount name {mount.name!r} must be a single reference to a string param, "
                "such as $(params.config)",
                f"volumeMounts[{i}].name",
            )
    scope = Scope(params=params, step_results=frozenset(r.name for r in spec.results))
    texts: list[tuple[str, str, Position]] = [
        (spec.image, "image", "string"),
        (spec.working_dir, "workingDir", "string"),
        (spec.script, "script", "string"),
        *((item, f"command[{j}]", "element") for j, item in enumerate(spec.command)),
        *((item, f"args[{j}]", "element") for j, item in enumerate(spec.args)),
        *((env.value, f"env[{j}].value", "string") for j, env in enumerate(spec.env)),
        *((m.mount_path, f"volumeMounts[{j}].mountPath", "string") for j, m in enumerate(spec.volume_mounts)),
    ]
    for text, name, position in texts:
        check_text(text, scope, position, _fail_at(node, name))
    return spec


def _fail_at(node: Node, key: str) -> Callable[[str], SpecError]:
    return lambda message: node.error(message, key)


def parse_step_action(body: Node, api_version: str, source: Source | None = None) -> StepAction:
    """A ``StepAction`` document."""
    body.only(("apiVersion", "kind", "metadata", "spec"))
    if api_version not in STEP_ACTION_VERSIONS:
        raise body.error(
            f"unsupported apiVersion {api_version!r} for StepAction; use {', '.join(STEP_ACTION_VERSIONS)}",
            "apiVersion",
        )
    meta = parse_meta(body)
    spec_node = body.child("spec")
    if spec_node is None:
        raise body.error("required field is missing", "spec")
    return StepAction(api_version, meta, parse_step_action_spec(spec_node), source)
