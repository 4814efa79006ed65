"""From YAML files to Applications and AppProjects, and the checks a project makes of an Application.

``load_apps(paths)`` reads files and directories (``*.yaml``, ``*.yml``, ``*.json``; a directory is
read recursively, so an apps directory may be organised in folders) and returns an ``AppSet``.
Documents of another kind are an error naming the file and line, so a typo'd ``kind`` is not
silently ignored; so are two Applications with the same name. ``project_problems`` says why a project
does not permit an Application (Argo CD reports these as the ``InvalidSpecError`` condition).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gitloop.errors import SpecError
from gitloop.spec.argocd.application import API_VERSION, Application, parse_application
from gitloop.spec.argocd.applicationset import ApplicationSet, parse_applicationset
from gitloop.spec.argocd.project import DEFAULT_PROJECT, AppProject, parse_project
from gitloop.spec.fields import Node, Origin, type_name
from gitloop.spec.gitloop_promotion import KIND as PROMOTION_CHAIN
from gitloop.spec.tekton.meta import Source, object_label
from gitloop.spec.yaml.documents import YAML_SUFFIXES, Document, load_file, load_text

KINDS = ("Application", "AppProject", "ApplicationSet")
DocumentObject = Application | AppProject | ApplicationSet


@dataclass(frozen=True)
class AppSet:
    """Applications by name, and the projects they may refer to (``default`` always exists)."""

    apps: Mapping[str, Application] = field(default_factory=dict)
    projects: Mapping[str, AppProject] = field(default_factory=dict)
    appsets: Mapping[str, ApplicationSet] = field(default_factory=dict)

    def project(self, name: str) -> AppProject | None:
        found = self.projects.get(name)
        if found is None and name == DEFAULT_PROJECT.name:
            return DEFAULT_PROJECT
        return found

    def app(self, name: str) -> Application:
        """The Application ``name``; ``SpecError`` listing the known ones otherwise."""
        try:
            return self.apps[name]
        except KeyError:
            known = ", ".join(sorted(self.apps)) or "none"
            raise SpecError(f"no Application named {name!r} (known: {known})") from None


def parse_document(document: Document) -> DocumentObject:
    """The Application, AppProject or ApplicationSet in one document."""
    origin = Origin(document.file)
    body = Node(document.body, "", origin, document.line)
    kind, api_version = document.body.get("kind"), document.body.get("apiVersion")
    for key, value in (("apiVersion", api_version), ("kind", kind)):
        if not value:
            raise body.error("required field is missing; every Kubernetes object needs one", key)
        if not isinstance(value, str):
            raise body.error(f"must be a string, got {type_name(value)}", key)
    assert isinstance(kind, str)
    origin.obj = object_label(kind, body)
    if kind not in KINDS:
        message = f"unsupported kind {kind!r}: an apps file holds Application, AppProject and ApplicationSet"
        raise body.field("kind").error(message)
    if api_version != API_VERSION:
        message = f"unsupported apiVersion {api_version!r} for {kind}; use {API_VERSION}"
        raise body.field("apiVersion").error(message)
    source = Source(document.file, document.line)
    if kind == "Application":
        return parse_application(body, source)
    if kind == "ApplicationSet":
        return parse_applicationset(body, source)
    return parse_project(body, source)


def parse_apps_text(text: str, file: str = "<string>") -> AppSet:
    """Every Application and AppProject of one YAML stream."""
    return _collect(parse_document(d) for d in load_text(text, file) if not _promotion_chain(d))


def _promotion_chain(document: Document) -> bool:
    """A gitloop PromotionChain kept beside the Applications (``gitloop.spec.gitloop_promotion`` reads it)."""
    return document.body.get("kind") == PROMOTION_CHAIN


def load_apps(paths: Iterable[str | Path]) -> AppSet:
    """Every Application and AppProject in files and (recursively) directories."""
    objects: list[DocumentObject] = []
    for path in paths:
        for file in _files(Path(path)):
            objects.extend(parse_document(d) for d in load_file(file) if not _promotion_chain(d))
    return _collect(objects)


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())
    if not path.exists():
        raise SpecError("no such file or directory", file=str(path))
    return [path]


def _collect(objects: Iterable[DocumentObject]) -> AppSet:
    apps: dict[str, Application] = {}
    projects: dict[str, AppProject] = {}
    appsets: dict[str, ApplicationSet] = {}
    for obj in objects:
        earlier: DocumentObject | None = (
            apps.get(obj.name)
            if isinstance(obj, Application)
            else appsets.get(obj.name)
            if isinstance(obj, ApplicationSet)
            else projects.get(obj.name)
        )
        if earlier is not None:
            kind = type(obj).__name__
            raise SpecError(
                f"{kind} {obj.name!r} is defined twice (first at {earlier.origin})",
                file=str(obj.origin) if obj.origin else None,
                obj=f"{kind}/{obj.name}",
            )
        if isinstance(obj, Application):
            apps[obj.name] = obj
        elif isinstance(obj, ApplicationSet):
            appsets[obj.name] = obj
        else:
            projects[obj.name] = obj
    return AppSet(apps=apps, projects=projects, appsets=appsets)


def project_problems(
    app: Application, project: AppProject | None, *, server: str = "", name: str = ""
) -> list[str]:
    """Why ``project`` does not permit ``app`` (empty when it does). ``server`` and ``name`` are its
    destination cluster's, inferred as Argo CD does when the Application gives only the other one."""
    if project is None:
        return [f"Application referencing project {app.project} which does not exist"]
    problems = []
    for source in app.sources:
        if not project.permits_source(source.repo_url):
            problems.append(
                f"application repo {source.repo_url} is not permitted in project '{project.name}'"
            )
    dest = app.destination
    if not project.permits_destination(dest.server or server, dest.name or name, dest.namespace):
        problems.append(
            f"application destination server '{dest.server or dest.name}' and namespace "
            f"'{dest.namespace}' do not match any of the allowed destinations in project '{project.name}'"
        )
    return problems
