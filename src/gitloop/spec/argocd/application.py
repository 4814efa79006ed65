"""``argoproj.io/v1alpha1`` Application read into frozen dataclasses, checked as Argo CD's CRD checks it.

Unknown fields are errors, as the API server's structural schema rejects them; ``status`` and
``operation`` (what ``kubectl get -o yaml`` adds) are accepted and ignored. Defaults are Argo CD's:
``targetRevision`` HEAD, ``revisionHistoryLimit`` 10, retry backoff 5s × 2 up to 3m. ``spec.sources``
wins over ``spec.source`` when both are given, as in Argo CD.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gitloop.spec.argocd.source import ApplicationSource, parse_source
from gitloop.spec.duration import parse_duration
from gitloop.spec.fields import Node
from gitloop.spec.tekton.meta import Source, parse_meta

API_VERSION = "argoproj.io/v1alpha1"
IN_CLUSTER = "https://kubernetes.default.svc"
"""The destination server Argo CD means by "the cluster it runs in"."""
DEFAULT_NAMESPACE = "argocd"
DEFAULT_HISTORY_LIMIT = 10
DEFAULT_BACKOFF_SECONDS = 5.0
DEFAULT_BACKOFF_FACTOR = 2
DEFAULT_BACKOFF_MAX_SECONDS = 180.0
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
"""Deleting the Application deletes its resources (foreground propagation)."""
BACKGROUND_RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io/background"
"""Deleting the Application deletes its resources (background propagation)."""

_TOP_FIELDS = ("apiVersion", "kind", "metadata", "spec", "status", "operation")
_SPEC_FIELDS = (
    "source",
    "sources",
    "destination",
    "project",
    "syncPolicy",
    "ignoreDifferences",
    "info",
    "revisionHistoryLimit",
)
_POLICY_FIELDS = ("automated", "syncOptions", "retry", "managedNamespaceMetadata")
_AUTOMATED_FIELDS = ("prune", "selfHeal", "allowEmpty", "enabled")
_RETRY_FIELDS = ("limit", "backoff", "refresh")
_BACKOFF_FIELDS = ("duration", "factor", "maxDuration")
_IGNORE_FIELDS = (
    "group",
    "kind",
    "name",
    "namespace",
    "jsonPointers",
    "jqPathExpressions",
    "managedFieldsManagers",
)


@dataclass(frozen=True)
class Destination:
    """Where an Application's resources go: a cluster (``server`` URL or ``name``) and a namespace."""

    server: str = ""
    name: str = ""
    namespace: str = ""

    def describe(self) -> str:
        return f"{self.server or self.name}/{self.namespace or '-'}"


@dataclass(frozen=True)
class Automated:
    """``syncPolicy.automated``."""

    prune: bool = False
    self_heal: bool = False
    allow_empty: bool = False
    enabled: bool = True


@dataclass(frozen=True)
class Backoff:
    """``syncPolicy.retry.backoff``: wait ``duration × factor^n`` (capped) before retry ``n + 1``."""

    duration: float = DEFAULT_BACKOFF_SECONDS
    factor: int = DEFAULT_BACKOFF_FACTOR
    max_duration: float = DEFAULT_BACKOFF_MAX_SECONDS

    def delay(self, retries: int) -> float:
        """Seconds to wait before the retry that follows ``retries`` earlier retries (Argo CD's formula)."""
        wait = self.duration * float(self.factor) ** retries
        return min(wait, self.max_duration) if self.max_duration > 0 else wait


@dataclass(frozen=True)
class Retry:
    """``syncPolicy.retry``: ``limit`` retries of a failed sync (negative: without limit)."""

    limit: int = 0
    backoff: Backoff = field(default_factory=Backoff)
    refresh: bool = False

    def allows(self, retries: int) -> bool:
        """Whether another retry may follow ``retries`` earlier ones."""
        return self.limit < 0 or retries < self.limit


@dataclass(frozen=True)
class SyncPolicy:
    """``spec.syncPolicy``; ``sync_options`` are the raw ``Key=value`` strings."""

    automated: Automated | None = None
    sync_options: tuple[str, ...] = ()
    retry: Retry | None = None
    namespace_labels: Mapping[str, str] | None = None
    namespace_annotations: Mapping[str, str] | None = None

    @property
    def auto_sync(self) -> bool:
        return self.automated is not None and self.automated.enabled

    @property
    def managed_namespace_metadata(self) -> bool:
        return self.namespace_labels is not None or self.namespace_annotations is not None


@dataclass(frozen=True)
class IgnoreDifference:
    """One ``spec.ignoreDifferences`` entry."""

    group: str = ""
    kind: str = ""
    name: str = ""
    namespace: str = ""
    json_pointers: tuple[str, ...] = ()
    jq_path_expressions: tuple[str, ...] = ()
    managed_fields_managers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Application:
    """An Argo CD Application: which sources belong in which destination, and how to keep them there."""

    name: str
    sources: tuple[ApplicationSource, ...]
    destination: Destination
    project: str
    namespace: str = DEFAULT_NAMESPACE
    sync_policy: SyncPolicy = field(default_factory=SyncPolicy)
    ignore_differences: tuple[IgnoreDifference, ...] = ()
    revision_history_limit: int = DEFAULT_HISTORY_LIMIT
    multi_source: bool = False
    """Written as ``spec.sources`` (even with one item)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    finalizers: tuple[str, ...] = ()
    """``metadata.finalizers``: ``RESOURCES_FINALIZER`` (or its ``/background`` form) cascades deletion."""
    origin: Source | None = None
    spec: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """``spec`` as written (plain data): what the API shows, never re-spelled."""

    @property
    def source(self) -> ApplicationSource:
        """The first source (the only one of a single-source Application)."""
        return self.sources[0]

    @property
    def rendered_sources(self) -> tuple[ApplicationSource, ...]:
        """The sources that produce manifests (``ref``-only ones do not)."""
        return tuple(s for s in self.sources if not s.is_ref_only)

    def where(self) -> str:
        return f"{self.origin}" if self.origin else self.name


def parse_application(body: Node, source: Source) -> Application:
    """An ``Application`` document (``apiVersion`` and ``kind`` already checked)."""
    body.only(_TOP_FIELDS)
    meta = parse_meta(body)
    spec = body.child("spec")
    if spec is None:
        raise body.error("required field is missing", "spec")
    spec.require_map().only(_SPEC_FIELDS)
    sources_node = spec.child("sources")
    single = spec.child("source")
    if sources_node is not None and sources_node.items():
        sources = tuple(parse_source(item) for item in sources_node.items())
        multi = True
    elif single is not None:
        sources, multi = (parse_source(single),), False
    else:
        raise spec.error("required field is missing: source or sources", "source")
    destination = spec.child("destination")
    if destination is None:
        raise spec.error("required field is missing", "destination")
    project = spec.string("project", required=True)
    for item in spec.items("info"):
        item.require_map().only(("name", "value"))
        item.string("name", required=True)
    limit = spec.integer("revisionHistoryLimit", DEFAULT_HISTORY_LIMIT, minimum=0)
    refs = [s.ref for s in sources if s.ref]
    if len(refs) != len(set(refs)):
        raise spec.error("two sources use the same ref name", "sources")
    return Application(
        name=meta.name,
        namespace=meta.namespace or DEFAULT_NAMESPACE,
        sources=sources,
        destination=_destination(destination),
        project=project,
        sync_policy=_sync_policy(spec.child("syncPolicy")),
        ignore_differences=tuple(_ignore(item) for item in spec.items("ignoreDifferences")),
        revision_history_limit=limit,
        multi_source=multi,
        labels=dict(meta.labels),
        annotations=dict(meta.annotations),
        finalizers=_finalizers(body),
        origin=source,
        spec=spec.raw_map(),
    )


def _finalizers(body: Node) -> tuple[str, ...]:
    metadata = body.child("metadata")
    return () if metadata is None else metadata.strings("finalizers")


def _destination(node: Node) -> Destination:
    node.require_map().only(("server", "name", "namespace"))
    server, name = node.string("server"), node.string("name")
    if server and name:
        raise node.error("application destination can't have both name and server defined", "name")
    if not server and not name:
        raise node.error("required field is missing: server or name", "server")
    return Destination(server=server.rstrip("/"), name=name, namespace=node.string("namespace"))


def _sync_policy(node: Node | None) -> SyncPolicy:
    if node is None:
        return SyncPolicy()
    node.require_map().only(_POLICY_FIELDS)
    automated = None
    auto = node.child("automated")
    if auto is not None:
        auto.require_map().only(_AUTOMATED_FIELDS)
        automated = Automated(
            prune=auto.boolean("prune"),
            self_heal=auto.boolean("selfHeal"),
            allow_empty=auto.boolean("allowEmpty"),
            enabled=auto.boolean("enabled", True),
        )
    options = []
    for item in node.items("syncOptions"):
        text = item.as_str()
        if "=" not in text:
            raise item.error(f"sync option {text!r} is not of the form Key=value")
        options.append(text)
    metadata = node.child("managedNamespaceMetadata")
    labels = annotations = None
    if metadata is not None:
        metadata.require_map().only(("labels", "annotations"))
        labels, annotations = metadata.string_map("labels"), metadata.string_map("annotations")
    return SyncPolicy(
        automated=automated,
        sync_options=tuple(options),
        retry=_retry(node.child("retry")),
        namespace_labels=labels,
        namespace_annotations=annotations,
    )


def _retry(node: Node | None) -> Retry | None:
    if node is None:
        return None
    node.require_map().only(_RETRY_FIELDS)
    backoff = node.child("backoff")
    parsed = Backoff()
    if backoff is not None:
        backoff.require_map().only(_BACKOFF_FIELDS)
        factor = backoff.integer("factor", DEFAULT_BACKOFF_FACTOR, minimum=1)
        parsed = Backoff(
            duration=_seconds(backoff, "duration", DEFAULT_BACKOFF_SECONDS),
            factor=factor,
            max_duration=_seconds(backoff, "maxDuration", DEFAULT_BACKOFF_MAX_SECONDS),
        )
    return Retry(limit=node.integer("limit", 0), backoff=parsed, refresh=node.boolean("refresh"))


def _seconds(node: Node, key: str, default: float) -> float:
    """A Go duration (``5s``, ``3m``) or, as Argo CD also reads it, a plain number of seconds."""
    child = node.child(key)
    if child is None:
        return default
    value = child.value
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    text = child.as_str()
    if text.isdigit():
        return float(text)
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise child.error(str(exc)) from exc
    if seconds < 0:
        raise child.error(f"{text} should be >= 0")
    return seconds


def _ignore(node: Node) -> IgnoreDifference:
    node.require_map().only(_IGNORE_FIELDS)
    kind = node.string("kind", required=True)
    return IgnoreDifference(
        group=node.string("group"),
        kind=kind,
        name=node.string("name"),
        namespace=node.string("namespace"),
        json_pointers=node.strings("jsonPointers"),
        jq_path_expressions=node.strings("jqPathExpressions"),
        managed_fields_managers=node.strings("managedFieldsManagers"),
    )
