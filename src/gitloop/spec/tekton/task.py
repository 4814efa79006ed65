"""``Task`` (tekton.dev/v1, v1beta1): steps run in order in one pod, with params, results and workspaces.

``parse_task_spec`` reads and checks a spec on its own; ``check_task_references`` then checks the
variables its steps use (a step that references a StepAction: the values of its ``params``). A Task object may only use the params it declares; a spec embedded in a
Pipeline or TaskRun may also use the params propagated to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from gitloop.errors import SpecError
from gitloop.spec.fields import Node, Origin
from gitloop.spec.tekton.meta import ObjectMeta, Source, parse_meta
from gitloop.spec.tekton.params import (
    ParamSpec,
    ResultSpec,
    parse_param_specs,
    parse_results,
    references_in,
)
from gitloop.spec.tekton.steps import (
    Sidecar,
    Step,
    StepTemplate,
    merge_step_template,
    parse_sidecar,
    parse_step,
    parse_step_template,
)
from gitloop.spec.tekton.usage import TASK_CONTEXT, Position, Scope, check_text
from gitloop.spec.tekton.workspaces import WorkspaceDeclaration, parse_workspace_declarations

TASK_SPEC_FIELDS = (
    "params",
    "displayName",
    "description",
    "steps",
    "volumes",
    "stepTemplate",
    "sidecars",
    "workspaces",
    "results",
)


@dataclass(frozen=True)
class TaskSpec:
    steps: tuple[Step, ...]
    params: tuple[ParamSpec, ...] = ()
    results: tuple[ResultSpec, ...] = ()
    workspaces: tuple[WorkspaceDeclaration, ...] = ()
    step_template: StepTemplate | None = None
    sidecars: tuple[Sidecar, ...] = ()
    volumes: tuple[Mapping[str, Any], ...] = ()
    description: str = ""
    display_name: str = ""

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)

    def result(self, name: str) -> ResultSpec | None:
        return next((r for r in self.results if r.name == name), None)

    def merged_steps(self) -> tuple[Step, ...]:
        """The steps with the step template applied."""
        return tuple(merge_step_template(self.step_template, s) for s in self.steps)


@dataclass(frozen=True)
class Task:
    kind: ClassVar[str] = "Task"
    api_version: str
    meta: ObjectMeta
    spec: TaskSpec
    source: Source | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return self.meta.name


def parse_task_spec(node: Node, *, beta: bool = False, extra_fields: tuple[str, ...] = ()) -> TaskSpec:
    """A Task spec, checked on its own: steps, names, workspaces, volumes, results."""
    node.require_map().only((*TASK_SPEC_FIELDS, *extra_fields))
    step_nodes = node.items("steps")
    if not step_nodes:
        raise node.error("required field is missing: a Task needs at least one step", "steps")
    template_node = node.child("stepTemplate")
    spec = TaskSpec(
        steps=tuple(parse_step(s, beta=beta) for s in step_nodes),
        params=parse_param_specs(node),
        results=parse_results(node),
        workspaces=parse_workspace_declarations(node),
        step_template=parse_step_template(template_node, beta=beta) if template_node else None,
        sidecars=tuple(parse_sidecar(s, beta=beta) for s in node.items("sidecars")),
        volumes=tuple(item.require_map().raw_map() for item in node.items("volumes")),
        description=node.string("description"),
        display_name=node.string("displayName"),
    )
    _check_structure(spec, node, step_nodes)
    return spec


def _check_structure(spec: TaskSpec, node: Node, step_nodes: list[Node]) -> None:
    names: set[str] = set()
    declared = {w.name for w in spec.workspaces}
    for step, merged, step_node in zip(spec.steps, spec.merged_steps(), step_nodes, strict=True):
        if step.name and step.name in names:
            raise step_node.error(f"step name {step.name!r} appears more than once", "name")
        names.add(step.name)
        if not merged.image and step.ref is None:
            raise step_node.error("required field is missing (and the stepTemplate has no image)", "image")
        for i, usage in enumerate(step.workspaces):
            if usage.name not in declared:
                raise step_node.error(f"undefined workspace {usage.name!r}", f"workspaces[{i}].name")
    for sidecar, sidecar_node in zip(spec.sidecars, node.items("sidecars"), strict=True):
        if not sidecar.image:
            raise sidecar_node.error("required field is missing", "image")
        for i, usage in enumerate(sidecar.workspaces):
            if usage.name not in declared:
                raise sidecar_node.error(f"undefined workspace {usage.name!r}", f"workspaces[{i}].name")
    volume_names: set[str] = set()
    for i, volume in enumerate(spec.volumes):
        name = str(volume.get("name", ""))
        if not name:
            raise node.error("required field is missing", f"volumes[{i}].name")
        if name in volume_names:
            raise node.error(f"multiple volumes with same name {name!r}", f"volumes[{i}].name")
        volume_names.add(name)
    mounts = {m.mount_path.rstrip("/") for s in spec.merged_steps() for m in s.volume_mounts}
    for i, decl in enumerate(spec.workspaces):
        if decl.path.rstrip("/") in mounts:
            raise node.error(
                f"workspace mount path {decl.path!r} must be unique", f"workspaces[{i}].mountPath"
            )


def check_task_references(
    spec: TaskSpec,
    fail: Callable[[str, str], SpecError],
    path: str,
    propagated: Mapping[str, ParamSpec] | None = None,
) -> None:
    """Check the variables the steps use: declared (or ``propagated``) params, context, results."""
    params = {**(propagated or {}), **{p.name: p for p in spec.params}}
    results = frozenset(r.name for r in spec.results)
    scope = Scope(params=params, context=TASK_CONTEXT)
    for i, step in enumerate(spec.steps):
        at = f"{path}.steps[{i}]"
        for j, param in enumerate(step.params):
            for text in references_in(param.value):
                position: Position = "value" if isinstance(param.value, str) else "element"
                check_text(text, scope, position, _at(fail, f"{at}.params[{j}].value"))
        texts: list[tuple[str, str, Position]] = [
            (step.image, "image", "string"),
            (step.working_dir, "workingDir", "string"),
            *((item, f"command[{j}]", "element") for j, item in enumerate(step.command)),
            *((item, f"args[{j}]", "element") for j, item in enumerate(step.args)),
            *((env.value, f"env[{j}].value", "string") for j, env in enumerate(step.env)),
        ]
        for text, name, position in texts:
            check_text(text, scope, position, _at(fail, f"{at}.{name}"))
        script_scope = Scope(
            params=params,
            context=TASK_CONTEXT,
            results=results,
            step_results=frozenset(r.name for r in step.results),
        )
        check_text(step.script, script_scope, "string", _at(fail, f"{at}.script"))


def _at(fail: Callable[[str, str], SpecError], path: str) -> Callable[[str], SpecError]:
    return lambda message: fail(path, message)


def parse_task(body: Node, api_version: str, source: Source | None = None) -> Task:
    """A ``Task`` document; it may only use the params it declares."""
    body.only(("apiVersion", "kind", "metadata", "spec"))
    meta = parse_meta(body)
    spec_node = body.child("spec")
    if spec_node is None:
        raise body.error("required field is missing", "spec")
    spec = parse_task_spec(spec_node, beta=api_version.endswith("v1beta1"))
    origin: Origin = body.origin
    check_task_references(spec, origin.error, "spec")
    return Task(api_version, meta, spec, source)
