"""Task and Pipeline resolution: from a ``taskRef``/``pipelineRef`` to the Task or Pipeline it names.

A ref by ``name`` is looked up in the objects of the files given, then in each ``--catalog``
directory, then in gitloop's built-in catalog (``catalog/*.yaml``: ``git-clone``, ``git-cli``,
``kaniko``). A catalog directory holds Task/Pipeline YAML files, or the Tekton catalog's layout
``task/<name>/<version>/<name>.yaml`` (``pipeline/...`` for Pipelines), where the highest version wins.

A ref by ``resolver`` supports Tekton's ``git`` resolver in its anonymous-clone form (params ``url``,
``revision``, ``pathInRepo``), read through the ``GitFiles`` port, and the ``hub`` resolver (``name``,
``kind``, ``version``, ``catalog``, ``type``), answered from the catalog directories and then the
built-in catalog. ``bundles``, ``cluster`` and ``http`` need a registry, a cluster or the network and
are refused with a ``SpecError``, as is anything else. Every error names the file, the object and the
field of the ref (``spec.tasks[2].taskRef``).

A step's ``ref`` names a ``StepAction``: by ``name`` from the files given, or through the ``git``
resolver as above (``Resolver.step_action``).

Resolver params may use pipeline params (``$(params.revision)``); the caller substitutes them first
(``substitute_ref``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Literal, Protocol, TypeAlias, TypeVar

from gitloop.errors import GitError, SpecError, UsageError
from gitloop.pipeline.substitution import Context, substitute_param_value
from gitloop.spec.tekton import Pipeline, PipelineRef, PipelineRun, Task, TaskRef, TaskRun, parse_text
from gitloop.spec.tekton.documents import parse_document
from gitloop.spec.tekton.stepaction import StepAction
from gitloop.spec.tekton.steps import StepRef
from gitloop.spec.tekton.variables import find_references
from gitloop.spec.yaml.documents import load_path

RefKind = Literal["Task", "Pipeline", "StepAction"]
ObjT = TypeVar("ObjT", Task, Pipeline, StepAction)
RefT = TypeVar("RefT", TaskRef, PipelineRef, StepRef)
Ref: TypeAlias = TaskRef | PipelineRef | StepRef

GIT_PARAMS = ("url", "revision", "pathInRepo")
GIT_SCM_PARAMS = ("repo", "org", "token", "tokenKey", "scmType", "serverURL")
HUB_PARAMS = ("name", "kind", "version", "catalog", "type")
DEFAULT_GIT_REVISION = "main"
"""Tekton's git resolver ``default-revision``."""
UNSUPPORTED_RESOLVERS = {
    "bundles": "it pulls Tekton bundles from an OCI registry",
    "cluster": "it reads Tasks and Pipelines from a Kubernetes cluster",
    "http": "it downloads from the network",
}
_LAYOUT_DIRS: dict[RefKind, str] = {"Task": "task", "Pipeline": "pipeline", "StepAction": "stepaction"}


class GitFiles(Protocol):
    """Reads one file of a remote repository at a revision (the git resolver's port)."""

    def read_file(self, url: str, revision: str, path: str) -> str:
        """The text of ``path`` at ``revision`` (branch, tag or commit) of ``url``; ``GitError`` if the
        repository, the revision or the file cannot be read."""
        ...


@dataclass(frozen=True)
class RefSite:
    """Where a ref stands, for error messages: the file (``file:line``), the object, the field path."""

    file: str | None = None
    obj: str | None = None
    field: str = "taskRef"

    @classmethod
    def pipeline_task(cls, pipeline: Pipeline, index: int, *, finally_task: bool = False) -> RefSite:
        """The ``taskRef`` of ``spec.tasks[index]`` (or ``spec.finally[index]``) of a Pipeline."""
        section = "finally" if finally_task else "tasks"
        return cls(_file(pipeline), f"Pipeline/{pipeline.name}", f"spec.{section}[{index}].taskRef")

    @classmethod
    def run(cls, run: PipelineRun | TaskRun) -> RefSite:
        """The ``pipelineRef`` of a PipelineRun or the ``taskRef`` of a TaskRun."""
        field = "spec.pipelineRef" if isinstance(run, PipelineRun) else "spec.taskRef"
        return cls(_file(run), f"{run.kind}/{run.name or run.meta.generate_name + '*'}", field)

    def error(self, message: str, sub: str = "") -> SpecError:
        return SpecError(message, file=self.file, obj=self.obj, field=f"{self.field}{sub}")


def _file(obj: Pipeline | PipelineRun | TaskRun) -> str | None:
    return str(obj.source) if obj.source is not None else None


# -- the built-in catalog -----------------------------------------------------------------------------


@functools.cache
def builtin_tasks() -> Mapping[str, Task]:
    """gitloop's own implementations of common catalog Tasks, by name."""
    found: dict[str, Task] = {}
    for entry in sorted(
        resources.files("gitloop.pipeline").joinpath("catalog").iterdir(), key=lambda e: e.name
    ):
        if entry.name.endswith(".yaml"):
            for obj in parse_text(entry.read_text(encoding="utf-8"), f"gitloop built-in {entry.name}"):
                if isinstance(obj, Task):
                    found[obj.name] = obj
    return found


def builtin_task_names() -> tuple[str, ...]:
    return tuple(sorted(builtin_tasks()))


# -- catalog directories ------------------------------------------------------------------------------


def _version_key(version: str) -> tuple[tuple[int, str], ...]:
    """Orders ``0.9`` < ``0.10`` < ``1.0``; non-numeric parts sort after numeric ones, by text."""
    return tuple((int(p), "") if p.isdigit() else (1 << 30, p) for p in re.split(r"[.\-+]", version))


class CatalogDir:
    """One ``--catalog`` directory: its top-level YAML files, and the Tekton catalog layout beneath it."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise UsageError(f"--catalog {root}: not a directory")
        self.root = root
        self._objects: dict[tuple[RefKind, str], Task | Pipeline] | None = None
        self._versioned: dict[Path, Task | Pipeline] = {}

    def _top_level(self) -> dict[tuple[RefKind, str], Task | Pipeline]:
        if self._objects is None:
            found: dict[tuple[RefKind, str], Task | Pipeline] = {}
            for document in load_path(self.root):
                if document.body.get("kind") not in _LAYOUT_DIRS:
                    continue
                obj = parse_document(document)
                assert isinstance(obj, Task | Pipeline)
                key: tuple[RefKind, str] = ("Task" if isinstance(obj, Task) else "Pipeline", obj.name)
                if key in found:
                    first = found[key].source
                    raise SpecError(
                        f"{obj.kind} {obj.name!r} is defined twice in catalog {self.root}: {first} and "
                        f"{obj.source}"
                    )
                found[key] = obj
            self._objects = found
        return self._objects

    def versions(self, kind: RefKind, name: str) -> dict[str, Path]:
        """The versions of ``name`` in the catalog layout, each with its YAML file."""
        found: dict[str, Path] = {}
        if "/" in name or name in ("", ".", ".."):
            return found
        for base in (self.root / _LAYOUT_DIRS[kind], self.root):
            folder = base / name
            if folder.is_dir():
                for version_dir in folder.iterdir():
                    candidate = version_dir / f"{name}.yaml"
                    if candidate.is_file():
                        found.setdefault(version_dir.name, candidate)
            if found:
                break
        return found

    def find(self, kind: RefKind, name: str, version: str = "") -> Task | Pipeline | None:
        """``name`` from a top-level file (any version, or the one its version label names), else from
        the catalog layout (``version``, else the highest)."""
        obj = self._top_level().get((kind, name))
        if obj is not None and (not version or obj.meta.labels.get("app.kubernetes.io/version") == version):
            return obj
        versions = self.versions(kind, name)
        if not versions:
            return None
        if version and version not in versions:
            listed = ", ".join(sorted(versions, key=_version_key))
            raise SpecError(f"catalog {self.root} has {kind} {name!r} in versions {listed}, not {version!r}")
        path = versions[version or max(versions, key=_version_key)]
        if path not in self._versioned:
            objects = [parse_document(d) for d in load_path(path) if d.body.get("kind") == kind]
            match = [o for o in objects if isinstance(o, Task | Pipeline) and o.name == name]
            if len(match) != 1:
                raise SpecError(f"{path} must hold one {kind} named {name!r}, found {len(match)}")
            self._versioned[path] = match[0]
        return self._versioned[path]


# -- resolution ---------------------------------------------------------------------------------------


def substitute_ref(ref: RefT, context: Context) -> RefT:
    """The ref with ``$(params.x)`` and the like in its resolver params replaced from ``context``."""
    params = tuple(
        replace(p, value=substitute_param_value(p.value, context, field=f"params[{i}].value"))
        for i, p in enumerate(ref.params)
    )
    return replace(ref, params=params)


class Resolver:
    """Resolves refs against the given objects, catalog directories, the built-in catalog and git.

    Files read by the git resolver are kept for the resolver's life, keyed by URL, revision and path,
    so the refs of one run that name the same file read it once; catalog directories are read lazily.
    """

    def __init__(
        self,
        *,
        tasks: Mapping[str, Task] | None = None,
        pipelines: Mapping[str, Pipeline] | None = None,
        catalog_dirs: Sequence[Path] = (),
        git: GitFiles | None = None,
        step_actions: Mapping[str, StepAction] | None = None,
    ) -> None:
        self._tasks = dict(tasks or {})
        self._step_actions = dict(step_actions or {})
        self._pipelines = dict(pipelines or {})
        self._catalogs = [CatalogDir(Path(d)) for d in catalog_dirs]
        self._git = git
        self._fetched: dict[tuple[str, str, str], str] = {}

    def task(self, ref: TaskRef, site: RefSite | None = None) -> Task:
        """The Task ``ref`` names."""
        site = site or RefSite()
        if ref.custom:
            raise site.error(
                f"custom tasks ({ref.api_version} {ref.kind}) are not supported by gitloop", ".apiVersion"
            )
        return self._resolve(ref, "Task", Task, site)

    def pipeline(self, ref: PipelineRef, site: RefSite | None = None) -> Pipeline:
        """The Pipeline ``ref`` names."""
        return self._resolve(ref, "Pipeline", Pipeline, site or RefSite(field="spec.pipelineRef"))

    def step_action(self, ref: StepRef, site: RefSite) -> StepAction:
        """The StepAction a step's ``ref`` names: from the files given, or through ``resolver: git``."""
        if ref.resolver and ref.resolver != "git":
            raise site.error(
                f"resolver {ref.resolver!r} is not supported locally for StepActions; put the StepAction "
                "in a file given with -f, or in a git repository (resolver: git)",
                ".resolver",
            )
        return self._resolve(ref, "StepAction", StepAction, site)

    def pipeline_tasks(self, pipeline: Pipeline) -> dict[str, Task]:
        """The Task of every pipeline task (and finally task) that has a ``taskRef``, by task name."""
        found: dict[str, Task] = {}
        for finally_task, tasks in ((False, pipeline.spec.tasks), (True, pipeline.spec.finally_tasks)):
            for i, task in enumerate(tasks):
                if task.task_ref is not None:
                    site = RefSite.pipeline_task(pipeline, i, finally_task=finally_task)
                    found[task.name] = self.task(task.task_ref, site)
        return found

    def _resolve(self, ref: Ref, kind: RefKind, cls: type[ObjT], site: RefSite) -> ObjT:
        if not ref.resolver:
            return self._by_name(ref.name, kind, cls, site)
        if ref.resolver == "git":
            return self._from_git(ref, kind, cls, site)
        if ref.resolver == "hub":
            return self._from_hub(ref, kind, cls, site)
        if ref.resolver in UNSUPPORTED_RESOLVERS:
            raise site.error(
                f"resolver {ref.resolver!r} is not supported locally ({UNSUPPORTED_RESOLVERS[ref.resolver]}); "
                f"put the {kind} in a file given with -f, in a --catalog directory, or in a git repository "
                "(resolver: git)",
                ".resolver",
            )
        raise site.error(
            f"unknown resolver {ref.resolver!r}; gitloop resolves git and hub "
            "(bundles, cluster and http are not supported locally)",
            ".resolver",
        )

    def _by_name(self, name: str, kind: RefKind, cls: type[ObjT], site: RefSite) -> ObjT:
        if kind == "StepAction":
            action = self._step_actions.get(name)
            if action is None:
                known = ", ".join(sorted(self._step_actions)) or "none"
                raise site.error(
                    f"StepAction {name!r} not found in the files given (StepActions: {known})", ".name"
                )
            assert isinstance(action, cls)
            return action
        given: Mapping[str, Task | Pipeline] = self._tasks if kind == "Task" else self._pipelines
        found = given.get(name) or self._from_catalogs(kind, name, "", site, ".name")
        if found is None and kind == "Task":
            found = builtin_tasks().get(name)
        if found is None:
            searched = ["the files given"] + [f"catalog {c.root}" for c in self._catalogs]
            if kind == "Task":
                searched.append(f"the built-in catalog ({', '.join(builtin_task_names())})")
            raise site.error(f"{kind} {name!r} not found in {', '.join(searched)}", ".name")
        assert isinstance(found, cls)
        return found

    def _from_catalogs(
        self, kind: RefKind, name: str, version: str, site: RefSite, sub: str
    ) -> Task | Pipeline | None:
        for catalog in self._catalogs:
            try:
                found = catalog.find(kind, name, version)
            except SpecError as exc:
                raise site.error(str(exc), sub) from exc
            if found is not None:
                return found
        return None

    def _from_hub(self, ref: Ref, kind: RefKind, cls: type[ObjT], site: RefSite) -> ObjT:
        params = _string_params(ref, HUB_PARAMS, site)
        name = params.get("name", "")
        if not name:
            raise site.error("the hub resolver needs param 'name'", ".params")
        hub_kind = params.get("kind", "task")
        if hub_kind not in ("task", "pipeline"):
            raise site.error(f"hub param kind must be task or pipeline, got {hub_kind!r}", ".params")
        if hub_kind != kind.lower():
            raise site.error(f"hub param kind is {hub_kind!r} but a {kind} is expected here", ".params")
        found = self._from_catalogs(kind, name, params.get("version", ""), site, ".params")
        if found is None and kind == "Task":
            found = builtin_tasks().get(name)
        if found is None:
            if kind == "Pipeline":
                raise site.error(
                    f"hub Pipeline {name!r} not found: gitloop has no built-in Pipelines; "
                    "add a --catalog directory that holds it",
                    ".params",
                )
            raise site.error(
                f"hub Task {name!r} is not in gitloop's built-in catalog "
                f"({', '.join(builtin_task_names())}) nor in a --catalog directory",
                ".params",
            )
        assert isinstance(found, cls)
        return found

    def _from_git(self, ref: Ref, kind: RefKind, cls: type[ObjT], site: RefSite) -> ObjT:
        scm = [p.name for p in ref.params if p.name in GIT_SCM_PARAMS]
        if scm:
            raise site.error(
                f"git resolver params {', '.join(scm)} select the SCM API mode, which gitloop does not "
                "support; use url, revision and pathInRepo (anonymous clone)",
                ".params",
            )
        params = _string_params(ref, GIT_PARAMS, site)
        missing = [p for p in ("url", "pathInRepo") if not params.get(p)]
        if missing:
            raise site.error(f"the git resolver needs param {' and '.join(map(repr, missing))}", ".params")
        url, path = params["url"], params["pathInRepo"].lstrip("/")
        revision = params.get("revision") or DEFAULT_GIT_REVISION
        if self._git is None:
            raise site.error("resolver 'git' is not available here (no git adapter)", ".resolver")
        where = f"{path} at {revision} of {url}"
        key = (url, revision, path)
        text = self._fetched.get(key)
        if text is None:
            try:
                text = self._git.read_file(url, revision, path)
            except GitError as exc:
                raise site.error(f"cannot read {where}: {exc}", ".params") from exc
            self._fetched[key] = text
        try:
            objects = parse_text(text, f"{url}@{revision}:{path}")
        except SpecError as exc:
            raise site.error(f"{where} is not a valid {kind}: {exc}", ".params") from exc
        matches = [o for o in objects if isinstance(o, cls)]
        if len(matches) != 1:
            held = ", ".join(f"{o.kind}/{o.name}" for o in objects) or "nothing"
            raise site.error(f"{where} must hold exactly one {kind}; it holds {held}", ".params")
        return matches[0]


def _string_params(ref: Ref, allowed: Sequence[str], site: RefSite) -> dict[str, str]:
    """The resolver params as strings, after checking names, types and that none is unsubstituted."""
    values: dict[str, str] = {}
    for i, param in enumerate(ref.params):
        at = f".params[{i}]"
        if param.name not in allowed:
            raise site.error(
                f"unknown {ref.resolver} resolver param {param.name!r}; expected {', '.join(allowed)}", at
            )
        if not isinstance(param.value, str):
            raise site.error(f"{ref.resolver} resolver param {param.name!r} must be a string", f"{at}.value")
        if find_references(param.value):
            raise site.error(
                f"{ref.resolver} resolver param {param.name!r} still holds {param.value!r}; substitute "
                "the pipeline's params before resolving",
                f"{at}.value",
            )
        values[param.name] = param.value
    return values


def resolve_task_ref(
    ref: TaskRef,
    *,
    tasks: Mapping[str, Task],
    catalog_dirs: Sequence[Path] = (),
    git: GitFiles | None = None,
    site: RefSite | None = None,
) -> Task:
    """The Task ``ref`` names (see the module docstring for where it is looked up)."""
    return Resolver(tasks=tasks, catalog_dirs=catalog_dirs, git=git).task(ref, site)


def resolve_pipeline_ref(
    ref: PipelineRef,
    *,
    pipelines: Mapping[str, Pipeline],
    catalog_dirs: Sequence[Path] = (),
    git: GitFiles | None = None,
    site: RefSite | None = None,
) -> Pipeline:
    """The Pipeline ``ref`` names (from the files given, catalog directories, or git)."""
    return Resolver(pipelines=pipelines, catalog_dirs=catalog_dirs, git=git).pipeline(ref, site)
