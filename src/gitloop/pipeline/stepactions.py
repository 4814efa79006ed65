"""Steps that perform a StepAction become ordinary steps before a run is planned.

``inline_step_actions`` replaces each step with a ``ref`` by the container its StepAction sets (image,
``command``/``args`` or ``script``, ``env``, ``workingDir``, ``volumeMounts``, ``securityContext``)
and the step results it declares, keeping the step's own fields (name, ``onError``, ``timeout``,
``when``, ``workspaces``, output paths, resources). As in Tekton, the StepAction's ``$(params.x)`` take
the values of the step's ``params`` (else their defaults; a param without either is an error naming the
step). A value may itself hold the Task's variables (``$(params.repo)``, ``$(steps.s.results.r)``,
``$(tasks.t.results.r)``): those stay for the pipeline- and task-level passes. A whole array or object
forwarded by reference (``value: $(params.flags)``) keeps the StepAction's accessor
(``$(params.f[*])`` becomes ``$(params.flags[*])``). The ``stepTemplate`` applies afterwards, to the
inlined step, as for any other step. Params are not propagated into a StepAction: it sees only its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from gitloop.errors import SpecError
from gitloop.pipeline.containers import substitute_container
from gitloop.pipeline.resolution import RefSite, Resolver
from gitloop.pipeline.substitution import Value
from gitloop.spec.tekton import Step, TaskSpec
from gitloop.spec.tekton.params import bind_params
from gitloop.spec.tekton.stepaction import StepAction
from gitloop.spec.tekton.steps import StepRef
from gitloop.spec.tekton.variables import Reference, exact_reference, find_references

FindStepAction = Callable[[StepRef, int], StepAction]
"""The StepAction of ``steps[index].ref``; raises ``SpecError`` naming the ref when there is none."""
Fail = Callable[[str, str], SpecError]
"""``fail(field, message)``: a ``SpecError`` at ``field`` (a path under the Task spec)."""


def uses_step_actions(spec: TaskSpec) -> bool:
    return any(step.ref is not None for step in spec.steps)


def inline_step_actions(spec: TaskSpec, find: FindStepAction, fail: Fail, path: str = "spec") -> TaskSpec:
    """``spec`` with every step that references a StepAction replaced by what the StepAction runs."""
    if not uses_step_actions(spec):
        return spec
    steps = tuple(
        step if step.ref is None else inline_step(step, find(step.ref, i), fail, f"{path}.steps[{i}]")
        for i, step in enumerate(spec.steps)
    )
    return replace(spec, steps=steps)


def resolve_step_actions(
    spec: TaskSpec, make_resolver: Callable[[bool], Resolver], site: RefSite
) -> TaskSpec:
    """``spec`` with its StepActions resolved (``make_resolver(git)``: one that can use the git resolver
    when ``git``) and inlined; ``site.field`` is the Task spec's path (``spec.tasks[0].taskSpec``)."""
    if not uses_step_actions(spec):
        return spec
    resolver = make_resolver(any(s.ref is not None and s.ref.resolver == "git" for s in spec.steps))

    def find(ref: StepRef, index: int) -> StepAction:
        return resolver.step_action(ref, replace(site, field=f"{site.field}.steps[{index}].ref"))

    return inline_step_actions(
        spec, find, lambda field, message: replace(site, field=field).error(message), site.field
    )


def inline_step(step: Step, action: StepAction, fail: Fail, at: str) -> Step:
    """One step with its StepAction's container, its params bound to the step's ``params``."""
    declared = {p.name: p for p in action.spec.params}
    bound = bind_params(action.spec.params, step.params, fail, f"{at}.params")
    context: dict[str, Value] = {}
    forwarded: dict[str, Reference] = {}
    for name, value in bound.items():
        if name not in declared:
            continue  # Tekton passes extra params by; the StepAction cannot use them
        ref = exact_reference(value) if isinstance(value, str) else None
        if ref is not None and ref.whole and declared[name].type != "string":
            forwarded[name] = ref
        else:
            context[f"params.{name}"] = value
    spec = action.spec
    container = Step(
        image=spec.image,
        command=spec.command,
        args=spec.args,
        script=spec.script,
        working_dir=spec.working_dir,
        env=spec.env,
        volume_mounts=spec.volume_mounts,
        security_context=spec.security_context,
    )
    try:
        done = substitute_container(container, context, (), at)
    except SpecError as exc:
        raise fail(at, f"StepAction {action.name!r}: {exc}") from exc
    if forwarded:
        done = _forward(done, forwarded)
    return replace(
        step,
        ref=None,
        params=(),
        image=done.image,
        command=done.command,
        args=done.args,
        script=done.script,
        working_dir=done.working_dir,
        env=done.env,
        volume_mounts=done.volume_mounts,
        security_context=done.security_context or step.security_context,
        results=spec.results,
    )


def _rename(text: str, forwarded: Mapping[str, Reference]) -> str:
    """``text`` with each reference to a forwarded param pointing at the variable it was given."""
    parts: list[str] = []
    position = 0
    for ref in find_references(text):
        target = forwarded.get(ref.param or "")
        if target is None:
            continue
        accessor = f".{ref.key}" if ref.key else f"[{ref.index}]" if ref.index is not None else ""
        accessor += "[*]" if ref.star else ""
        parts.append(text[position : ref.start])
        parts.append(f"$({target.name}{accessor})")
        position = ref.end
    parts.append(text[position:])
    return "".join(parts)


def _forward(step: Step, forwarded: Mapping[str, Reference]) -> Step:
    def rename(text: str) -> str:
        return _rename(text, forwarded)

    return replace(
        step,
        image=rename(step.image),
        command=tuple(map(rename, step.command)),
        args=tuple(map(rename, step.args)),
        script=rename(step.script),
        working_dir=rename(step.working_dir),
        env=tuple(replace(e, value=rename(e.value)) for e in step.env),
        volume_mounts=tuple(
            replace(m, name=rename(m.name), mount_path=rename(m.mount_path)) for m in step.volume_mounts
        ),
    )
