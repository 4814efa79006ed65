"""What ``gitloop serve`` does for each request, independent of HTTP: the face (``gitloop.api``) passes
headers and bytes in and turns the ``Answer`` into a response.

- ``hook``: one EventListener request through ``gitloop.triggers.handle`` (status codes decided
  there; the body parsed there, once), then the push recorded in the lineage and the created
  PipelineRuns launched, each carrying its link to the source commit. Nothing is launched unless the
  handler answered 202; if nothing could be launched the delivery claim is released so the sender's
  retry is not taken for a replay.
- ``refresh_hook``: a GitHub/GitLab/Gitea push refreshes the matching Applications at once, and
  has the serve config's git sources of Applications it moves read again at once (``app_sources``).
- the read side: runs and their logs from the store, Applications from the CD engine, traces.
- a run's cancel and rerun, by the launcher of the EventListener that started it.

Request bodies and credential headers are never logged; log lines name the listener, the status,
the event and delivery ids and what each trigger did.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gitloop.errors import GitloopError, UsageError
from gitloop.gitops.operation import SyncRequest
from gitloop.lineage import Lineage, RunSource, Trace
from gitloop.model.selectors import Operator, Requirement, equalities, matches
from gitloop.pipeline.records import LISTENER_LABEL, PIPELINE_RUN, find_run, read_runs
from gitloop.ports import LogLine, Store
from gitloop.service import pipelines
from gitloop.service.interrupted import interrupt_orphans
from gitloop.service.server.access import ServedAccess
from gitloop.service.server.deliveries import StoreDeliveryLog
from gitloop.service.server.engines import AppRefresher, Conflict, NotFound, PipelineLauncher
from gitloop.service.server.pushhooks import read_push, source_push
from gitloop.spec.argocd import AppProject
from gitloop.spec.serve_auth import AuthConfig, RBACConfig
from gitloop.spec.triggers import ResolvedListener, SecretValues
from gitloop.triggers import Headers, IncomingEvent, Limits, Outcome, handle

if TYPE_CHECKING:
    from gitloop.sealing import SealingKey
    from gitloop.service.clusters import ClusterRegistry
    from gitloop.service.server.appsets import AppSets
    from gitloop.service.server.appsources import ConfigApps
    from gitloop.service.server.promotions import ServedPromotions

log = logging.getLogger("gitloop.serve")

LOG_PAGE = 10_000
"""Log lines in one JSON answer of the logs endpoint, at most and by default."""
QUIET_LOGGERS = ("celpy", "httpx", "httpx2")
"""Libraries whose debug logging prints whole requests (the CEL evaluator logs every activation: body
and headers) or whose info logging prints a line per request (the HTTP clients of the Kubernetes
adapter): held at WARNING so no log level of the server can leak a payload or a token, and the log
says what gitloop did rather than every call it made."""

HeaderPairs = Sequence[tuple[str, str]]


def _audit(outcome: Outcome) -> str:
    """What a webhook did, for its log line. Resources are said to be created only with a 202: a
    duplicate delivery's triggers matched and rendered them, but nothing was created."""
    if outcome.status_code == 202:
        return "; ".join(str(r) for r in outcome.results) or "no triggers"
    said = [f"{outcome.body.get('message', '')}: nothing created"]
    return "; ".join(said + [str(r) for r in outcome.results if not r.created])


@dataclass(frozen=True)
class Answer:
    """A status code and a JSON body."""

    status: int
    body: Mapping[str, Any]


@dataclass(frozen=True)
class ServedListener:
    """One EventListener as served: resolved, with its Secrets and its launcher."""

    listener: ResolvedListener
    secrets: SecretValues
    launcher: PipelineLauncher


@dataclass
class Server:
    """The running server's logic. Methods are thread-safe unless ``async``."""

    store: Store
    listeners: Mapping[str, ServedListener]
    lineage: Lineage
    apps: AppRefresher | None = None
    max_body_bytes: int = 5 * 1024 * 1024
    webhook_secret: bytes | None = field(default=None, repr=False)
    api_token: bytes | None = field(default=None, repr=False)
    clock: Callable[[], float] = time.time
    stopping: threading.Event = field(default_factory=threading.Event)
    """Set when the server stops: ``/healthz`` answers 503."""
    force: threading.Event = field(default_factory=threading.Event)
    """Set to cut the shutdown's waiting short (a second signal)."""
    app_sources: ConfigApps | None = None
    """The serve config's sources of Applications, re-read on change."""
    clusters: ClusterRegistry | None = None
    """The cluster registry (``/api/v1/clusters``)."""
    appsets: AppSets | None = None
    """The ApplicationSets (``/api/v1/applicationsets``)."""
    sealing_key: Callable[[], SealingKey] | None = None
    """The newest Sealed Secrets key, made when there is none (``GET /v1/cert.pem``; blocks)."""
    access_control: ServedAccess | None = None
    """Who may do what (``access``); ``None``: the serve config's defaults (anonymous requests refused),
    with ``api_token`` as the legacy ``apiTokenFile`` token."""
    promotions: ServedPromotions | None = None
    """The promotions along the PromotionChains beside the Applications (``/api/v1/promotions``)."""

    def __post_init__(self) -> None:
        if self.access_control is None:
            self.access_control = ServedAccess.build(
                self.store, AuthConfig(), RBACConfig(), legacy_token=self.api_token, projects=self.projects
            )
        self.deliveries = StoreDeliveryLog(self.store, clock=self.clock)
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger(name).level))

    # -- webhooks --------------------------------------------------------------------------------

    def hook(self, name: str, headers: HeaderPairs, body: bytes, url: str = "") -> Answer:
        """One request to ``/hooks/{name}``."""
        served = self.listeners.get(name)
        if served is None:
            return Answer(404, {"message": f"no EventListener {name!r} is served here"})
        received = self.clock()
        event = IncomingEvent.of(headers, body, url=url)
        outcome = handle(
            event,
            served.listener,
            secrets=served.secrets,
            deliveries=self.deliveries,
            limits=Limits(max_body_bytes=self.max_body_bytes),
        )
        log.info(
            "hook %s: %d event=%s delivery=%s: %s",
            name,
            outcome.status_code,
            outcome.event_id,
            outcome.delivery_id or "-",
            _audit(outcome),
        )
        if outcome.status_code != 202:
            return Answer(outcome.status_code, dict(outcome.body))
        runs = [str(r["metadata"]["name"]) for r in outcome.created_resources]
        source = self._record_push(name, outcome, runs, received)
        launched: list[str] = []
        errors: list[dict[str, str]] = []
        conflict = False
        for resource in outcome.created_resources:
            try:
                launched.append(served.launcher.launch(resource, event_id=outcome.event_id, source=source))
            except (GitloopError, Conflict) as exc:
                conflict = conflict or isinstance(exc, Conflict)
                errors.append({"name": str(resource["metadata"]["name"]), "error": str(exc)})
                log.warning("hook %s: event=%s: %s", name, outcome.event_id, exc)
            except Exception as exc:  # the claim must be released whatever went wrong
                errors.append({"name": str(resource["metadata"]["name"]), "error": "internal error"})
                log.error("hook %s: event=%s: launching failed", name, outcome.event_id, exc_info=exc)
        if not launched:
            if outcome.delivery_id:
                self.deliveries.release(name, outcome.delivery_id)
            message = "the runs could not be started"
            return Answer(409 if conflict else 500, {**outcome.body, "message": message, "errors": errors})
        answer = dict(outcome.body)
        if errors:
            answer["errors"] = errors
        return Answer(202, answer)

    def _record_push(
        self, listener: str, outcome: Outcome, runs: list[str], received: float
    ) -> RunSource | None:
        """The push in the payload the triggers parsed, recorded; the link its runs carry."""
        push = source_push(outcome.payload) if outcome.payload is not None else None
        if push is None:
            return None
        try:
            return self.lineage.record_push(
                push, runs=runs, listener=listener, event_id=outcome.event_id, received=received
            )
        except GitloopError as exc:  # losing a lineage record must not lose the run
            log.warning("lineage of %s not recorded: %s", push.commit[:12], exc)
            return None

    def refresh_hook(self, headers: HeaderPairs, body: bytes) -> Answer:
        """One request to ``/api/webhook``."""
        push, refusal = read_push(
            Headers(headers), body, secret=self.webhook_secret, max_bytes=self.max_body_bytes
        )
        if refusal is not None:
            log.info("webhook: %d %s", refusal.status, refusal.message)
            return Answer(refusal.status, {"message": refusal.message})
        assert push is not None
        names = self.apps.apps_for_push(push) if self.apps is not None else []
        if self.apps is not None and names:
            self.apps.refresh(names)
        rereads = self.app_sources is not None and self.app_sources.pushed(push)
        generators = self.appsets.on_push(push) if self.appsets is not None else []
        log.info(
            "webhook: %s push to %s of %s refreshes %s%s%s",
            push.provider,
            push.ref,
            push.web_url or push.repo_urls[0],
            names or "nothing",
            " and re-reads the config's applications" if rereads else "",
            f" and regenerates ApplicationSets {', '.join(generators)}" if generators else "",
        )
        if push.after and push.head_message and not push.deleted:
            try:
                self.lineage.record_config_commit(
                    push.after,
                    push.head_message,
                    repo=push.repo_urls[0],
                    committed=push.head_time,
                    via="webhook",
                )
            except GitloopError as exc:
                log.warning("lineage of %s not recorded: %s", push.after[:12], exc)
        return Answer(
            200,
            {
                "message": "refreshing"
                if names or rereads or generators
                else "no Application tracks this push",
                "refreshed": names,
                "applicationSets": generators,
                "ref": push.ref,
                "commit": push.after,
            },
        )

    # -- PipelineRuns -----------------------------------------------------------------------------

    def runs(
        self,
        *,
        kind: str = PIPELINE_RUN,
        limit: int | None = None,
        selector: Sequence[Requirement] = (),
        visible: Callable[[str], bool] | None = None,
    ) -> dict[str, Any]:
        """The runs of ``kind`` whose labels meet ``selector`` (and whose name is ``visible``), newest
        first, as a Tekton list. The selector's ``k=v`` terms are looked up in the store; any other term
        filters what it returns."""
        interrupt_orphans(self.store)  # runs a dead runner left are ended first, as pipelines.list_runs does
        labels = equalities(selector)
        exact = visible is None and all(r.operator is Operator.EQUALS for r in selector)
        found = read_runs(self.store, kind=kind, limit=limit if exact else None, labels=labels or None)
        items = [
            run.manifest
            for run in found
            if matches(selector, (run.manifest.get("metadata") or {}).get("labels") or {})
            and (visible is None or visible(run.name))
        ]
        return {
            "apiVersion": "tekton.dev/v1",
            "kind": f"{kind}List",
            "items": items[:limit] if limit else items,
        }

    def run(self, name: str) -> dict[str, Any]:
        return self._run(name)[0]

    def _run(self, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        try:
            run, children = pipelines.get_run(self.store, name)
        except UsageError as exc:
            raise NotFound(str(exc)) from exc
        return run.manifest, [child.manifest for child in children]

    def cancel_run(self, name: str, status: str | None = None) -> Answer:
        """Cancel a run (Tekton's ``spec.status``, ``Cancelled`` unless ``status``)."""
        asked = self._launcher_of(name).cancel(name, status)
        return Answer(200, {"name": name, "status": asked, "message": f"{asked} asked"})

    def rerun(self, name: str) -> Answer:
        """Run a run again under a new name, by the launcher that started it."""
        new = self._launcher_of(name, rerun=True).rerun(name)
        return Answer(201, {"name": new, "rerunOf": name})

    def _launcher_of(self, name: str, *, rerun: bool = False) -> PipelineLauncher:
        """The launcher of the EventListener that started the run ``name``. A run no served listener
        started is cancelled by any launcher (they share the worker pool), but not run again."""
        record = find_run(self.store, name)
        if record is None:
            raise NotFound(f"no run named {name!r}")
        served = self.listeners.get(record.labels.get(LISTENER_LABEL, ""))
        if served is not None:
            return served.launcher
        if rerun or not self.listeners:
            raise Conflict(f"{record.kind} {name!r} was not started by an EventListener served here")
        return next(iter(self.listeners.values())).launcher

    def task_runs(self, name: str) -> dict[str, Any]:
        _, children = self._run(name)
        return {"apiVersion": "tekton.dev/v1", "kind": "TaskRunList", "items": children}

    def logs(
        self, name: str, *, source: str | None = None, after: int = 0, limit: int = LOG_PAGE
    ) -> list[dict[str, Any]]:
        """One page of a run's log: at most ``limit`` lines after ``after`` (the next page starts after
        the last line's ``seq``)."""
        return [
            {"seq": line.seq, "source": line.source, "time": line.time, "text": line.text}
            for line in self.log_lines(name, source=source, after=after, limit=limit)
        ]

    def log_lines(
        self, name: str, *, source: str | None = None, after: int = 0, limit: int | None = None
    ) -> Iterator[LogLine]:
        """A run's log, read from the store page by page as it is iterated."""
        self._run(name)
        return self.store.read_log(name, source=source, after_seq=after, limit=limit)

    # -- Applications -----------------------------------------------------------------------------

    def _apps(self) -> AppRefresher:
        if self.apps is None:
            raise NotFound("no Applications are configured")
        return self.apps

    def app_api(self) -> AppRefresher:
        """The CD engine as ``/api/v1`` uses it (``NotFound`` when no Applications are configured)."""
        return self._apps()

    def applications(self) -> dict[str, Any]:
        if self.apps is None:
            return {"items": []}
        return {"items": [self.apps.status(name) for name in self.apps.names()]}

    def application(self, name: str) -> Mapping[str, Any]:
        return self._apps().status(name)

    async def refresh_application(self, name: str, *, wait: bool) -> Answer:
        apps = self._apps()
        if wait:
            return Answer(200, await apps.refresh_now(name))
        apps.status(name)
        apps.refresh([name])
        return Answer(202, {"application": name, "message": "refreshing"})

    async def sync_application(self, name: str, request: SyncRequest, *, wait: bool) -> Answer:
        result = await self._apps().sync(name, request, wait=wait)
        return Answer(200 if wait else 202, result)

    # -- lineage and health ------------------------------------------------------------------------

    def trace(self, sha: str) -> Trace:
        try:
            return self.lineage.trace(sha)
        except UsageError as exc:
            if str(exc).startswith("no lineage"):
                raise NotFound(str(exc)) from exc
            raise

    def status(self) -> dict[str, Any]:
        """``GET /api/status``: each source of the serve config's Applications, its last read and
        why it was not applied (``[]`` without sources)."""
        return {"applicationSources": self.app_sources.status() if self.app_sources is not None else []}

    def health(self) -> Answer:
        in_flight = sum(s.launcher.in_flight() for s in self.listeners.values())
        body = {
            "status": "stopping" if self.stopping.is_set() else "ok",
            "listeners": sorted(self.listeners),
            "applications": len(self.apps.names()) if self.apps is not None else 0,
            "runsInFlight": in_flight,
        }
        return Answer(503 if self.stopping.is_set() else 200, body)

    # -- the objects of access rules (Argo CD's RBAC objects) ----------------------------------

    @property
    def access(self) -> ServedAccess:
        """Who may do what: authentication, the RBAC policy, tokens, the audit trail."""
        if self.access_control is None:
            raise RuntimeError("the server's access control was not built")
        return self.access_control

    def projects(self) -> list[AppProject]:
        """The AppProjects (their roles are part of the access policy)."""
        return self.apps.project_specs() if self.apps is not None else []

    def app_object(self, name: str) -> str:
        """``<project>/<name>`` of an Application (``-/<name>`` when there is none of that name)."""
        project = self.apps.project_of(name) if self.apps is not None else None
        return f"{project or '-'}/{name}"

    def appset_object(self, name: str) -> str:
        """``<project>/<name>`` of an ApplicationSet: its template's project (``-`` when unknown)."""
        project = self.appsets.project_of(name) if self.appsets is not None else None
        return f"{project or '-'}/{name}"

    def cluster_object(self, name_or_server: str) -> str:
        """A cluster's server URL (as given when no cluster has that name or URL)."""
        entry = self.clusters.get(name_or_server) if self.clusters is not None else None
        return entry.ref.server if entry is not None else name_or_server
