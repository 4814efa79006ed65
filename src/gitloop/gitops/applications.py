"""The CD engine's live set of Applications and AppProjects: who registered each, changed only by the Engine.

``Applications`` reads as ``spec.argocd.AppSet`` does (``apps``, ``projects``, ``app(name)``,
``project(name)`` with ``default``) and is what every part of the engine looks Applications up in, so
an Application registered or removed while the engine runs is seen at once. ``owner(name)`` says who
registered it — ``"config"`` (the serve config's files), ``"api"`` (``POST /api/v1/applications``),
``"app:<parent>"`` (an App of Apps; free-form). ``put`` and ``remove`` are the Engine's
(``Engine.upsert``, ``Engine.delete``), nobody else's.

Applications registered through the API are records of the engine's in the store (``SPEC_KIND``, the
Argo CD document as given, ``document(app)``), registered again at start.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from gitloop.errors import SpecError, UsageError
from gitloop.spec import redact
from gitloop.spec.argocd import API_VERSION, DEFAULT_PROJECT, Application, AppProject, AppSet, parse_apps_text
from gitloop.spec.redact import MASK, has_masked_password, keep_masked

CONFIG_OWNER = "config"
API_OWNER = "api"
SPEC_KIND = "ApplicationSpec"
"""Store kind of the Applications registered through the API: the Argo CD document, by name."""


class Applications:
    """Applications by name, with their owners, and the projects they may refer to."""

    def __init__(self, initial: AppSet | None = None, *, owner: str = CONFIG_OWNER) -> None:
        self._apps: dict[str, Application] = {}
        self._owners: dict[str, str] = {}
        self._projects: dict[str, AppProject] = {}
        self._project_owners: dict[str, str] = {}
        self.version = 0
        """Grows with every change of the set of names (callers cache sorted names on it)."""
        if initial is not None:
            for project in initial.projects.values():
                self.put_project(project, owner=owner)
            for app in initial.apps.values():
                self.put(app, owner=owner)

    @property
    def apps(self) -> Mapping[str, Application]:
        """Every Application by name (a read-only view that follows changes)."""
        return MappingProxyType(self._apps)

    @property
    def projects(self) -> Mapping[str, AppProject]:
        return MappingProxyType(self._projects)

    def project(self, name: str) -> AppProject | None:
        found = self._projects.get(name)
        if found is None and name == DEFAULT_PROJECT.name:
            return DEFAULT_PROJECT
        return found

    def app(self, name: str) -> Application:
        """The Application ``name``; ``SpecError`` listing the known ones otherwise."""
        try:
            return self._apps[name]
        except KeyError:
            known = ", ".join(sorted(self._apps)) or "none"
            raise SpecError(f"no Application named {name!r} (known: {known})") from None

    def owner(self, name: str) -> str:
        """Who registered ``name`` (``SpecError`` for an unknown one)."""
        self.app(name)
        return self._owners[name]

    def owner_of(self, name: str) -> str | None:
        """Who registered ``name``; ``None`` when it is not registered."""
        return self._owners.get(name)

    def owned(self, owner: str) -> list[str]:
        """The names of the Applications ``owner`` registered, sorted."""
        return sorted(name for name, found in self._owners.items() if found == owner)

    def project_owner(self, name: str) -> str | None:
        """Who registered the AppProject ``name`` (``None``: not registered; ``default`` is built in)."""
        return self._project_owners.get(name)

    def owned_projects(self, owner: str) -> list[str]:
        """The names of the AppProjects ``owner`` registered, sorted."""
        return sorted(name for name, found in self._project_owners.items() if found == owner)

    # -- the Engine's ------------------------------------------------------------------------------

    def put(self, app: Application, *, owner: str) -> Application | None:
        """Register or replace ``app``; the Application it replaced, if any."""
        before = self._apps.get(app.name)
        if before is None:
            self.version += 1
        self._apps[app.name] = app
        self._owners[app.name] = owner
        return before

    def remove(self, name: str) -> None:
        if self._apps.pop(name, None) is not None:
            self._owners.pop(name, None)
            self.version += 1

    def put_project(self, project: AppProject, *, owner: str) -> AppProject | None:
        """Register or replace the AppProject ``project``; the one it replaced, if any."""
        before = self._projects.get(project.name)
        self._projects[project.name] = project
        self._project_owners[project.name] = owner
        return before

    def remove_project(self, name: str) -> None:
        self._projects.pop(name, None)
        self._project_owners.pop(name, None)


def document(app: Application) -> dict[str, Any]:
    """The Argo CD document of ``app`` (metadata and ``spec`` as written): what the store keeps."""
    metadata: dict[str, Any] = {"name": app.name, "namespace": app.namespace}
    for key, value in (
        ("labels", dict(app.labels)),
        ("annotations", dict(app.annotations)),
        ("finalizers", list(app.finalizers)),
    ):
        if value:
            metadata[key] = value
    return {"apiVersion": API_VERSION, "kind": "Application", "metadata": metadata, "spec": dict(app.spec)}


def unmasked(given: Application, current: Application | None) -> Application:
    """``given`` as a client sends it back after a GET, which showed its URL passwords masked: a masked
    one sent back unchanged keeps the ``current`` (stored) value; a mask anywhere else is a
    ``UsageError`` (it would become the password)."""
    doc = document(given)
    if not has_masked_password(doc["spec"]):
        return given
    if current is not None:
        doc["spec"] = keep_masked(doc["spec"], dict(current.spec))
    if has_masked_password(doc["spec"]):
        raise UsageError(
            f"Application {given.name}: spec holds a masked password ({MASK}) that is not the stored one; "
            "send the real password"
        )
    [found] = parse_apps_text(json.dumps(doc), "the request body").apps.values()
    return found


def refuse_url_passwords(app: Application) -> None:
    """``UsageError`` for an Application the store would keep with a password in a URL: it keeps none."""
    redact.refuse_url_passwords(f"Application {app.name}", dict(app.spec))
