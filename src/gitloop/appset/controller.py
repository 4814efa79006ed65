"""The ApplicationSet controller: one ApplicationSet → its desired Applications → the policy applied.

``AppSetController.reconcile(appset)`` generates the parameter sets, renders one Application per set
(``gitloop.appset.templates``), reads each with the Application parser (its errors name the
ApplicationSet and the parameters), and then creates, updates and deletes the Applications registered
under ``appset:<name>`` as ``spec.syncPolicy.applicationsSync`` allows (``sync``, ``create-only``,
``create-update``, ``create-delete``). Unlike Argo CD (argo-cd#18780), **any generator or render error
changes nothing and deletes nothing**: the status says what failed (``ErrorOccurred``). Generated
Applications carry ``resources-finalizer.argocd.argoproj.io`` unless ``preserveResourcesOnDeletion``
is set, so deleting one deletes its resources exactly when Argo CD's would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gitloop.appset.generators import Params, generate_all, inputs_for
from gitloop.appset.ports import AppSink, ClusterSource, GitTree
from gitloop.appset.templates import flatten_params, render_application
from gitloop.errors import GitloopError, SpecError
from gitloop.spec.argocd.application import API_VERSION, RESOURCES_FINALIZER, Application
from gitloop.spec.argocd.applicationset import ApplicationSet
from gitloop.spec.argocd.documents import parse_apps_text

ERROR_OCCURRED = "ErrorOccurred"
PARAMETERS_GENERATED = "ParametersGenerated"
RESOURCES_UP_TO_DATE = "ResourcesUpToDate"
_UP_TO_DATE = "All applications have been generated successfully"
_FINALIZERS = (RESOURCES_FINALIZER, f"{RESOURCES_FINALIZER}/background")


@dataclass(frozen=True)
class AppSetCondition:
    """One of Argo CD's ApplicationSet status conditions."""

    type: str
    status: bool
    reason: str
    message: str
    last_transition: float = 0.0

    def to_json(self) -> dict[str, Any]:
        stamp = datetime.fromtimestamp(self.last_transition, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "type": self.type,
            "status": "True" if self.status else "False",
            "reason": self.reason,
            "message": self.message,
            "lastTransitionTime": stamp,
        }


@dataclass(frozen=True)
class AppSetStatus:
    """What the last reconcile of one ApplicationSet found and did."""

    conditions: tuple[AppSetCondition, ...] = ()
    applications: tuple[str, ...] = ()
    """The Applications it owns, sorted."""
    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    error: str = ""
    """The reason nothing was changed (empty on success)."""

    def condition(self, kind: str) -> AppSetCondition | None:
        return next((c for c in self.conditions if c.type == kind), None)

    def conditions_json(self) -> list[dict[str, Any]]:
        return [c.to_json() for c in self.conditions]


class DesiredError(GitloopError):
    """The desired Applications could not be computed; ``reason`` is Argo CD's condition reason."""

    def __init__(self, message: str, reason: str, *, generated: bool) -> None:
        super().__init__(message)
        self.reason = reason
        self.generated = generated


def _label(appset: ApplicationSet, params: Params) -> str:
    flat = flatten_params(params)
    shown = ", ".join(f"{k}: {v}" for k, v in sorted(flat.items()))
    return f"ApplicationSet/{appset.name}, params {{{shown}}}"


def render(appset: ApplicationSet, params: Params) -> Application:
    """The Application ``appset``'s template makes of one parameter set, read by the Application parser."""
    where = _label(appset, params)
    doc = render_application(
        appset.template,
        params,
        go_template=appset.go_template,
        options=appset.go_template_options,
        template_patch=appset.template_patch,
        where=where,
    )
    metadata = dict(doc.get("metadata") or {})
    metadata.setdefault("namespace", appset.namespace)
    finalizers = [str(f) for f in metadata.get("finalizers") or []]
    if not appset.preserve_resources_on_deletion and not any(f in _FINALIZERS for f in finalizers):
        finalizers.append(RESOURCES_FINALIZER)
    if finalizers:
        metadata["finalizers"] = finalizers
    full = {"apiVersion": API_VERSION, "kind": "Application", "metadata": metadata, "spec": doc.get("spec")}
    [app] = parse_apps_text(json.dumps(full), where).apps.values()
    return app


def desired(appset: ApplicationSet, git: GitTree, clusters: ClusterSource) -> list[Application]:
    """Every Application ``appset`` generates; ``DesiredError`` (with Argo CD's reason) otherwise."""
    try:
        sets = generate_all(appset, inputs_for(appset, git, clusters))
    except GitloopError as exc:
        raise DesiredError(str(exc), "ApplicationGenerationFromParamsError", generated=False) from exc
    apps: dict[str, Application] = {}
    for params in sets:
        try:
            app = render(appset, params)
        except SpecError as exc:
            raise DesiredError(str(exc), "RenderTemplateParamsError", generated=True) from exc
        if app.name in apps:
            raise DesiredError(
                f"ApplicationSet {appset.name} contains applications with duplicate name: {app.name}",
                "ApplicationValidationError",
                generated=True,
            )
        apps[app.name] = app
    return list(apps.values())


class AppSetController:
    """Reconciles ApplicationSets into an ``AppSink`` (the CD engine in the server)."""

    def __init__(
        self,
        sink: AppSink,
        git: GitTree,
        clusters: ClusterSource,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sink, self.git, self.clusters = sink, git, clusters
        self._clock = clock

    def desired(self, appset: ApplicationSet) -> list[Application]:
        """``desired`` over this controller's git and clusters (blocking: git is read)."""
        return desired(appset, self.git, self.clusters)

    async def reconcile(self, appset: ApplicationSet, previous: AppSetStatus | None = None) -> AppSetStatus:
        """Generate, render and apply ``appset``'s policy. Reads git synchronously; the server runs
        ``desired`` in a thread and calls ``apply``."""
        try:
            apps = self.desired(appset)
        except DesiredError as exc:
            return self.failed(appset, exc, previous)
        return await self.apply(appset, apps, previous)

    def failed(
        self, appset: ApplicationSet, exc: DesiredError, previous: AppSetStatus | None
    ) -> AppSetStatus:
        """The status of a reconcile that could not compute the desired Applications: nothing changed."""
        generated = (
            (True, PARAMETERS_GENERATED, "Successfully generated parameter sets")
            if exc.generated
            else (False, ERROR_OCCURRED, str(exc))
        )
        conditions = [
            (ERROR_OCCURRED, True, exc.reason, str(exc)),
            (PARAMETERS_GENERATED, *generated),
            (RESOURCES_UP_TO_DATE, False, ERROR_OCCURRED, str(exc)),
        ]
        return AppSetStatus(
            conditions=self._conditions(conditions, previous),
            applications=tuple(sorted(self.sink.owned(appset.owner))),
            error=str(exc),
        )

    async def apply(
        self, appset: ApplicationSet, apps: Sequence[Application], previous: AppSetStatus | None = None
    ) -> AppSetStatus:
        """Make ``appset``'s Applications ``apps`` as its policy allows."""
        owner = appset.owner
        owned = set(self.sink.owned(owner))
        created: list[str] = []
        updated: list[str] = []
        deleted: list[str] = []
        problems: list[str] = []
        reason = ""
        for app in apps:
            holder = self.sink.owner_of(app.name)
            if holder is not None and holder != owner:
                problems.append(
                    f"application {app.name} already exists and is not owned by ApplicationSet {appset.name}"
                )
                reason = reason or "CreateApplicationError"
                continue
            if app.name in owned and not appset.allows_update:
                continue
            if self.sink.upsert(app, owner):
                (updated if app.name in owned else created).append(app.name)
        wanted = {a.name for a in apps}
        if appset.allows_delete:
            for name in sorted(owned - wanted):
                try:
                    await self.sink.delete(name, self._cascade(appset))
                except GitloopError as exc:
                    problems.append(f"application {name} was not deleted: {exc}")
                    reason = reason or "DeleteApplicationError"
                else:
                    deleted.append(name)
        message = "; ".join(problems)
        conditions = [
            (ERROR_OCCURRED, bool(problems), reason or "ApplicationSetUpToDate", message or _UP_TO_DATE),
            (PARAMETERS_GENERATED, True, PARAMETERS_GENERATED, "Successfully generated parameter sets"),
            (
                RESOURCES_UP_TO_DATE,
                not problems,
                ERROR_OCCURRED if problems else "ApplicationSetUpToDate",
                message or _UP_TO_DATE,
            ),
        ]
        return AppSetStatus(
            conditions=self._conditions(conditions, previous),
            applications=tuple(sorted(self.sink.owned(owner))),
            created=tuple(created),
            updated=tuple(updated),
            deleted=tuple(deleted),
            error=message,
        )

    async def remove(self, appset: ApplicationSet) -> list[str]:
        """Delete every Application ``appset`` owns (the ApplicationSet is being deleted, and Argo CD's owner
        references delete its Applications whatever the policy); with ``preserveResourcesOnDeletion``
        their resources stay. The names not deleted, each with why."""
        failed = []
        for name in sorted(self.sink.owned(appset.owner)):
            try:
                await self.sink.delete(name, self._cascade(appset))
            except GitloopError as exc:
                failed.append(f"{name}: {exc}")
        return failed

    @staticmethod
    def _cascade(appset: ApplicationSet) -> bool | None:
        return False if appset.preserve_resources_on_deletion else None

    def _conditions(
        self, wanted: Sequence[tuple[str, bool, str, str]], previous: AppSetStatus | None
    ) -> tuple[AppSetCondition, ...]:
        now = self._clock()
        out = []
        for kind, status, reason, message in wanted:
            before = previous.condition(kind) if previous is not None else None
            since = before.last_transition if before is not None and before.status == status else now
            out.append(AppSetCondition(kind, status, reason, message, since))
        return tuple(out)


def status_json(
    status: AppSetStatus, resources: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """Argo CD's ``ApplicationSetStatus``: the conditions and the generated Applications (``resources``:
    each one's ``status``/``health`` when the caller knows them)."""
    known = resources or {}
    return {
        "conditions": status.conditions_json(),
        "resources": [
            {
                "group": "argoproj.io",
                "version": "v1alpha1",
                "kind": "Application",
                "name": name,
                **known.get(name, {}),
            }
            for name in status.applications
        ],
    }
