"""From files and flags to a checked run: load the YAML, pick or build the run, resolve its Tasks.

``load_inputs`` reads every ``-f`` path (files or directories) into Tasks, Pipelines, runs, ConfigMaps
and Secrets, refusing two objects of one kind with one name, and keeps each file's objects as YAML with
every Secret redacted (``gitloop.spec.redact``): what the store may hold of the input, as the files
themselves may not be kept. ``pipeline_run_for`` picks the
PipelineRun to run (the one in the files, or one built from ``--pipeline`` with ``-p``/``-w``, which
also override a PipelineRun's own). Tasks and Pipelines are resolved by ``gitloop.pipeline.resolution``
(the files, ``--catalog`` directories, the built-in catalog, ``git`` — through the ``GitFiles`` the
composition layer gives — and ``hub`` resolvers); resolver params may use the run's params. Everything here raises ``SpecError``/``UsageError`` before anything
runs.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gitloop.errors import SpecError, UsageError
from gitloop.pipeline.plan import ResolvedTask
from gitloop.pipeline.resolution import GitFiles, RefSite, Resolver, substitute_ref
from gitloop.pipeline.stepactions import resolve_step_actions
from gitloop.pipeline.substitution import Value, params_context
from gitloop.pipeline.volumes import HOST_PATH, Objects
from gitloop.spec.redact import SecretMask, redacted_yaml
from gitloop.spec.tekton import (
    ConfigMap,
    ObjectMeta,
    Param,
    ParamSpec,
    Pipeline,
    PipelineRef,
    PipelineRun,
    PipelineSpec,
    Secret,
    Task,
    TaskRef,
    TaskRun,
    WorkspaceBinding,
)
from gitloop.spec.tekton.cluster_objects import ClusterOnlyObject, PersistentVolumeClaim
from gitloop.spec.tekton.documents import parse_document
from gitloop.spec.tekton.names import dns1123_subdomain_problem
from gitloop.spec.tekton.stepaction import StepAction
from gitloop.spec.yaml import load_json
from gitloop.spec.yaml.documents import Document, load_file, load_text, yaml_files

GitFilesFactory = Callable[[], GitFiles]
"""Makes the ``GitFiles`` of the ``git`` resolver, called only when a ref uses it."""


@dataclass(frozen=True)
class KeptSource:
    """One input file as the store may keep it: its path and its objects with Secrets redacted."""

    path: str
    text: str


@dataclass
class Inputs:
    """The objects of the input files, by kind and name."""

    tasks: dict[str, Task] = field(default_factory=dict)
    pipelines: dict[str, Pipeline] = field(default_factory=dict)
    pipeline_runs: list[PipelineRun] = field(default_factory=list)
    task_runs: list[TaskRun] = field(default_factory=list)
    config_maps: dict[str, ConfigMap] = field(default_factory=dict)
    secrets: dict[str, Secret] = field(default_factory=dict)
    claims: dict[str, PersistentVolumeClaim] = field(default_factory=dict)
    cluster_only: list[ClusterOnlyObject] = field(default_factory=list)
    """ServiceAccounts and RBAC objects: read, noted, not applied."""
    step_actions: dict[str, StepAction] = field(default_factory=dict)
    sources: list[KeptSource] = field(default_factory=list)
    """Every file read, redacted, in the order read."""

    @property
    def objects(self) -> Objects:
        return Objects(self.config_maps, self.secrets)

    def secret_mask(self) -> SecretMask:
        """Masks the values of the files' Secrets (what steps may print of them)."""
        return SecretMask(value for secret in self.secrets.values() for value in secret.data.values())


def _add(index: dict[str, Any], obj: Any) -> None:
    previous = index.get(obj.name)
    if previous is not None:
        raise SpecError(
            f"{obj.kind} {obj.name!r} is defined twice (also at {previous.source})",
            file=str(obj.source) if obj.source else None,
            obj=f"{obj.kind}/{obj.name}",
            field="metadata.name",
        )
    index[obj.name] = obj


def load_inputs(paths: Sequence[Path], *, resources: Sequence[Mapping[str, Any]] = ()) -> Inputs:
    """Every object of ``resources`` (objects already in memory, read as the JSON documents they are,
    each named ``<kind>/<name>`` as its source), then of the files and directories in ``paths``."""
    if not paths and not resources:
        raise UsageError("give at least one file or directory with -f")
    inputs = Inputs()
    for resource in resources:
        name = f"{resource.get('kind', '')}/{(resource.get('metadata') or {}).get('name', '')}"
        _read(inputs, load_text(json.dumps(resource), name), name)
    for path in paths:
        for file in yaml_files(Path(path)):
            _read(inputs, load_file(file), str(file))
    return inputs


def _read(inputs: Inputs, documents: Sequence[Document], source: str) -> None:
    for document in documents:
        _index(inputs, parse_document(document))
    inputs.sources.append(KeptSource(source, redacted_yaml(d.body for d in documents)))


def _index(inputs: Inputs, obj: object) -> None:
    if isinstance(obj, Task):
        _add(inputs.tasks, obj)
    elif isinstance(obj, Pipeline):
        _add(inputs.pipelines, obj)
    elif isinstance(obj, PipelineRun):
        inputs.pipeline_runs.append(obj)
    elif isinstance(obj, TaskRun):
        inputs.task_runs.append(obj)
    elif isinstance(obj, StepAction):
        _add(inputs.step_actions, obj)
    elif isinstance(obj, ConfigMap):
        _add(inputs.config_maps, obj)
    elif isinstance(obj, PersistentVolumeClaim):
        _add(inputs.claims, obj)
    elif isinstance(obj, ClusterOnlyObject):
        inputs.cluster_only.append(obj)
    else:
        _add(inputs.secrets, obj)


GENERATED_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
"""The characters of the API server's ``generateName`` suffix: no vowels (no words), no 0/1/3 (no look-alikes)."""


def run_name(meta: ObjectMeta, fallback: str) -> str:
    """``metadata.name``, or ``generateName`` (or ``fallback``) plus five random characters, as the
    Kubernetes API server names it: the prefix cut to 58 characters so the name fits in 63."""
    if meta.name:
        return meta.name
    prefix = (meta.generate_name or fallback)[: 63 - 5]
    return prefix + "".join(secrets.choice(GENERATED_SUFFIX_ALPHABET) for _ in range(5))


def _param_value(text: str, spec: ParamSpec | None) -> Any:
    kind = spec.type if spec is not None else "string"
    if kind == "string":
        return text
    if text.startswith(("[", "{")):
        try:
            value = load_json(text, source=f"-p {spec.name if spec else ''}")
        except json.JSONDecodeError as exc:
            raise UsageError(f"-p {spec.name if spec else ''}: invalid JSON: {exc.msg}") from exc
        if kind == "array" and isinstance(value, list):
            return tuple(str(v) for v in value)
        if kind == "object" and isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        raise UsageError(f"-p {spec.name if spec else ''}: expected a JSON {kind}")
    if kind == "array":
        return tuple(part.strip() for part in text.split(",")) if text else ()
    pairs = [part.split(":", 1) for part in text.split(",") if part.strip()]
    if any(len(p) != 2 for p in pairs):
        raise UsageError(f"-p {spec.name if spec else ''}: an object is key:value,key:value or JSON")
    return {k.strip(): v.strip() for k, v in pairs}


def parse_params(flags: Sequence[str], specs: Sequence[ParamSpec]) -> list[Param]:
    """``-p name=value`` flags; arrays as ``a,b`` or JSON, objects as ``k:v,k:v`` or JSON."""
    declared = {p.name: p for p in specs}
    params: list[Param] = []
    for flag in flags:
        name, sep, text = flag.partition("=")
        if not sep or not name:
            raise UsageError(f"-p {flag!r}: expected name=value")
        params.append(Param(name, _param_value(text, declared.get(name))))
    return params


def parse_workspaces(flags: Sequence[str]) -> list[WorkspaceBinding]:
    """``-w name=DIR`` (a host directory), ``name=emptyDir``, ``name=secret:S``, ``name=configMap:C``,
    ``name=pvc:CLAIM`` (a DNS-1123 subdomain, as Kubernetes names claims)."""
    bindings: list[WorkspaceBinding] = []
    for flag in flags:
        name, sep, value = flag.partition("=")
        if not sep or not name or not value:
            raise UsageError(f"-w {flag!r}: expected name=DIR or name=emptyDir")
        kind, _, ref = value.partition(":")
        if value == "emptyDir":
            bindings.append(WorkspaceBinding(name, "emptyDir"))
        elif kind == "secret" and ref:
            bindings.append(WorkspaceBinding(name, "secret", {"secretName": ref}))
        elif kind == "configMap" and ref:
            bindings.append(WorkspaceBinding(name, "configMap", {"name": ref}))
        elif kind == "pvc" and ref:
            if problem := dns1123_subdomain_problem(ref):
                raise UsageError(f"-w {flag!r}: invalid claim name: {problem}")
            bindings.append(WorkspaceBinding(name, "persistentVolumeClaim", {"claimName": ref}))
        else:
            bindings.append(
                WorkspaceBinding(name, HOST_PATH, {"path": str(Path(value).expanduser().resolve())})
            )
    return bindings


def _merge(old: Sequence[Any], new: Sequence[Any]) -> tuple[Any, ...]:
    names = {n.name for n in new}
    return tuple(o for o in old if o.name not in names) + tuple(new)


def pipeline_run_for(
    inputs: Inputs,
    pipeline: str | None,
    params: Sequence[str],
    workspaces: Sequence[str],
    catalog_dirs: Sequence[Path] = (),
    git_files: GitFilesFactory | None = None,
    pick: int | None = None,
) -> tuple[PipelineRun, PipelineSpec, str, str | None]:
    """The PipelineRun to run (the ``pick``-th of the files when given), its Pipeline spec, the
    Pipeline's name and where the Pipeline was read."""
    if pick is not None:
        run = inputs.pipeline_runs[pick]
    elif pipeline is None and len(inputs.pipeline_runs) == 1:
        run = inputs.pipeline_runs[0]
    elif pipeline is None and inputs.pipeline_runs:
        names = ", ".join(r.name or f"{r.meta.generate_name}*" for r in inputs.pipeline_runs)
        raise UsageError(
            f"the files hold several PipelineRuns ({names}); keep one, or run a Pipeline with --pipeline"
        )
    else:
        if pipeline is None:
            if len(inputs.pipelines) != 1:
                raise UsageError("no PipelineRun in the files: name the Pipeline to run with --pipeline")
            pipeline = next(iter(inputs.pipelines))
        if pipeline not in inputs.pipelines:
            known = ", ".join(sorted(inputs.pipelines)) or "none"
            raise UsageError(f"no Pipeline named {pipeline!r} in the files (Pipelines: {known})")
        run = PipelineRun(
            "tekton.dev/v1", ObjectMeta(generate_name=f"{pipeline}-run-"), PipelineRef(pipeline)
        )
    spec, name, source = _pipeline_of(run, inputs, catalog_dirs, git_files)
    extra_params = parse_params(params, spec.params)
    extra_workspaces = parse_workspaces(workspaces)
    run = replace(
        run, params=_merge(run.params, extra_params), workspaces=_merge(run.workspaces, extra_workspaces)
    )
    return run, spec, name, source


def _uses_git(refs: Sequence[TaskRef | PipelineRef | None]) -> bool:
    return any(ref is not None and ref.resolver == "git" for ref in refs)


def resolver_for(
    inputs: Inputs, catalog_dirs: Sequence[Path], git_files: GitFilesFactory | None, *, git: bool
) -> Resolver:
    """The resolver of one run: the files' Tasks and Pipelines, ``--catalog`` directories, the built-in
    catalog, and (when a ref uses ``resolver: git``) the ``GitFiles`` that ``git_files`` makes."""
    files = git_files() if git and git_files is not None else None
    return Resolver(
        tasks=inputs.tasks,
        pipelines=inputs.pipelines,
        catalog_dirs=catalog_dirs,
        git=files,
        step_actions=inputs.step_actions,
    )


def _pipeline_of(
    run: PipelineRun, inputs: Inputs, catalog_dirs: Sequence[Path], git_files: GitFilesFactory | None
) -> tuple[PipelineSpec, str, str | None]:
    if run.pipeline_spec is not None:
        return run.pipeline_spec, run.name or run.meta.generate_name.rstrip("-") or "pipeline", None
    assert run.pipeline_ref is not None
    resolver = resolver_for(inputs, catalog_dirs, git_files, git=_uses_git([run.pipeline_ref]))
    found = resolver.pipeline(run.pipeline_ref, RefSite.run(run))
    return found.spec, found.name, str(found.source) if found.source else None


def _ref_context(run: PipelineRun, spec: PipelineSpec) -> dict[str, Value]:
    """What resolver params may use: the run's params over the Pipeline's defaults."""
    values = {p.name: p.default for p in spec.params if p.default is not None}
    values.update({p.name: p.value for p in run.params})
    return params_context(values)


def _task_site(task: Task) -> RefSite:
    """Where the steps of a Task object stand, for errors about their StepActions."""
    return RefSite(str(task.source) if task.source else None, f"Task/{task.name}", "spec")


def resolve_pipeline_tasks(
    run: PipelineRun,
    spec: PipelineSpec,
    pipeline: str,
    source: str | None,
    inputs: Inputs,
    catalog_dirs: Sequence[Path],
    git_files: GitFilesFactory | None = None,
) -> dict[str, ResolvedTask]:
    """The Task of every pipeline task."""
    refs = [t.task_ref for t in (*spec.tasks, *spec.finally_tasks)]
    resolver = resolver_for(inputs, catalog_dirs, git_files, git=_uses_git(refs))
    context = _ref_context(run, spec)
    resolved: dict[str, ResolvedTask] = {}

    def make_resolver(git: bool) -> Resolver:
        return resolver_for(inputs, catalog_dirs, git_files, git=git)

    obj = f"Pipeline/{pipeline}" if source or run.pipeline_spec is None else f"PipelineRun/{run.name}"
    prefix = "spec.pipelineSpec" if run.pipeline_spec is not None else "spec"
    file = source if run.pipeline_spec is None else (str(run.source) if run.source else None)
    for section, tasks in (("tasks", spec.tasks), ("finally", spec.finally_tasks)):
        for i, task in enumerate(tasks):
            if task.task_spec is not None:
                site = RefSite(file, obj, f"{prefix}.{section}[{i}].taskSpec")
                spec_of = resolve_step_actions(task.task_spec, make_resolver, site)
                resolved[task.name] = ResolvedTask(task.name, spec_of, embedded=True)
                continue
            assert task.task_ref is not None
            site = RefSite(file, obj, f"{prefix}.{section}[{i}].taskRef")
            ref = substitute_ref(task.task_ref, context) if task.task_ref.resolver else task.task_ref
            found = resolver.task(ref, site)
            spec_of = resolve_step_actions(found.spec, make_resolver, _task_site(found))
            resolved[task.name] = ResolvedTask(found.name, spec_of)
    return resolved


def task_run_for(
    inputs: Inputs,
    task: str | None,
    params: Sequence[str],
    workspaces: Sequence[str],
    catalog_dirs: Sequence[Path],
    git_files: GitFilesFactory | None = None,
    pick: int | None = None,
) -> tuple[TaskRun, ResolvedTask]:
    """The TaskRun to run (from the files, the ``pick``-th when given, or built for ``--task``) and
    its Task."""
    if pick is not None:
        run = inputs.task_runs[pick]
    elif task is None and len(inputs.task_runs) == 1:
        run = inputs.task_runs[0]
    elif task is None and inputs.task_runs:
        raise UsageError("the files hold several TaskRuns; keep one, or run a Task with --task")
    else:
        if task is None:
            if len(inputs.tasks) != 1:
                raise UsageError("no TaskRun in the files: name the Task to run with --task")
            task = next(iter(inputs.tasks))
        run = TaskRun("tekton.dev/v1", ObjectMeta(generate_name=f"{task}-run-"), TaskRef(name=task))

    def make_resolver(git: bool) -> Resolver:
        return resolver_for(inputs, catalog_dirs, git_files, git=git)

    if run.task_spec is not None:
        site = replace(RefSite.run(run), field="spec.taskSpec")
        resolved = ResolvedTask(
            run.name or "task", resolve_step_actions(run.task_spec, make_resolver, site), embedded=True
        )
    else:
        assert run.task_ref is not None
        resolver = resolver_for(inputs, catalog_dirs, git_files, git=_uses_git([run.task_ref]))
        found = resolver.task(run.task_ref, RefSite.run(run))
        spec = resolve_step_actions(found.spec, make_resolver, _task_site(found))
        resolved = ResolvedTask(found.name, spec, source=str(found.source) if found.source else None)
    extra_params = parse_params(params, resolved.spec.params)
    run = replace(
        run,
        params=_merge(run.params, extra_params),
        workspaces=_merge(run.workspaces, parse_workspaces(workspaces)),
    )
    return run, resolved
