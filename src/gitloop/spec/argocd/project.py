"""``argoproj.io/v1alpha1`` AppProject: which sources, destinations and kinds its Applications may use.

The checks follow Argo CD's ``AppProject`` methods:

- ``permits_source``: some allow rule (a ``sourceRepos`` glob without ``!``) matches the repository
  URL (compared normalised: lower case, no ``.git`` suffix, no trailing ``/``) and no deny rule
  (``!glob``) matches it;
- ``permits_destination``: some allow item of ``destinations`` (no field starting with ``!``)
  matches the server (or cluster name) and the namespace, and no deny item rejects them: a deny item
  rejects a destination when one of its ``!`` fields matches (destination globs do not stop at ``/``).

Both follow the rule as Argo CD's projects documentation states it: a list of deny rules only
permits nothing (Argo CD's code lets a ``!`` pattern that does not match count as a match, so there
such a list permits everything it does not deny; gitloop keeps to the documented rule). ``!*`` is
refused when the project is read, as the documentation calls it invalid.
- ``permits_kind``: a cluster-scoped kind must be in ``clusterResourceWhitelist`` (empty: none) and
  not in ``clusterResourceBlacklist``; a namespaced kind must be in ``namespaceResourceWhitelist``
  when one is given (absent: all) and not in ``namespaceResourceBlacklist``.

Globs: ``*`` matches within one ``/``-separated segment, ``**`` across segments, ``?`` one character,
and a pattern that is just ``*`` matches everything (``segments=False``: ``*`` crosses ``/`` too).

``syncWindows`` parse into ``SyncWindow`` (kind, five-field cron ``schedule``, Go ``duration``,
IANA ``timeZone``, ``applications``/``namespaces``/``clusters`` globs, ``manualSync``,
``andOperator``, ``description``); ``gitloop.gitops.windows`` decides what they allow. ``DEFAULT_PROJECT`` is Argo CD's ``default``
project, which permits everything; it is used when no AppProject named ``default`` is given.

``roles`` parse into ``ProjectRole`` (``gitloop.spec.argocd.project_roles`` checks them as Argo CD
validates a project's roles; ``gitloop.access.projectroles`` turns them into policy lines).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from gitloop.errors import SpecError
from gitloop.spec.argocd.project_roles import ProjectRole, parse_roles
from gitloop.spec.cron import Schedule, parse_schedule, zone
from gitloop.spec.duration import format_duration, parse_duration
from gitloop.spec.fields import Node
from gitloop.spec.tekton.meta import Source, parse_meta

_TOP_FIELDS = ("apiVersion", "kind", "metadata", "spec", "status")
_SPEC_FIELDS = (
    "sourceRepos",
    "destinations",
    "description",
    "roles",
    "clusterResourceWhitelist",
    "clusterResourceBlacklist",
    "namespaceResourceWhitelist",
    "namespaceResourceBlacklist",
    "orphanedResources",
    "syncWindows",
    "signatureKeys",
    "sourceNamespaces",
    "permitOnlyProjectScopedClusters",
    "destinationServiceAccounts",
)


@dataclass(frozen=True)
class GroupKind:
    """A ``{group, kind}`` list item; both are globs."""

    group: str
    kind: str

    def matches(self, group: str, kind: str) -> bool:
        return glob_match(self.group, group) and glob_match(self.kind, kind)


@dataclass(frozen=True)
class ProjectDestination:
    """A ``destinations`` item; every field is a glob, ``!`` in front denies."""

    server: str = ""
    name: str = ""
    namespace: str = ""


_WINDOW_FIELDS = (
    "kind",
    "schedule",
    "duration",
    "timeZone",
    "applications",
    "namespaces",
    "clusters",
    "manualSync",
    "andOperator",
    "description",
)


@dataclass(frozen=True)
class SyncWindow:
    """A ``syncWindows`` item: from each fire time of ``schedule`` (in ``time_zone``) for ``duration``
    seconds, syncs of the Applications it selects are allowed (``kind`` allow) or denied (deny)."""

    kind: str
    schedule: Schedule
    duration: float
    time_zone: str = "UTC"
    applications: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()
    manual_sync: bool = False
    and_operator: bool = False
    description: str = ""

    @property
    def label(self) -> str:
        """The window in words, for messages: kind, schedule, duration and time zone."""
        return (
            f"{self.kind} window (schedule '{self.schedule.text}', duration {format_duration(self.duration)}, "
            f"timeZone {self.time_zone})"
        )

    def to_dict(self) -> dict[str, object]:
        """The window as Argo CD's API shows it (``SyncWindow``)."""
        shown: dict[str, object] = {
            "kind": self.kind,
            "schedule": self.schedule.text,
            "duration": format_duration(self.duration),
            "timeZone": self.time_zone,
            "manualSync": self.manual_sync,
        }
        for key, values in (
            ("applications", self.applications),
            ("namespaces", self.namespaces),
            ("clusters", self.clusters),
        ):
            if values:
                shown[key] = list(values)
        if self.and_operator:
            shown["andOperator"] = True
        if self.description:
            shown["description"] = self.description
        return shown


@dataclass(frozen=True)
class AppProject:
    """An Argo CD AppProject."""

    name: str
    source_repos: tuple[str, ...] = ()
    destinations: tuple[ProjectDestination, ...] = ()
    cluster_resource_whitelist: tuple[GroupKind, ...] = ()
    cluster_resource_blacklist: tuple[GroupKind, ...] = ()
    namespace_resource_whitelist: tuple[GroupKind, ...] | None = None
    """``None``: not given, every namespaced kind is permitted."""
    namespace_resource_blacklist: tuple[GroupKind, ...] = ()
    description: str = ""
    sync_windows: tuple[SyncWindow, ...] = ()
    roles: tuple[ProjectRole, ...] = ()
    origin: Source | None = None
    annotations: tuple[tuple[str, str], ...] = ()
    """``metadata.annotations`` (notification subscriptions are read from them)."""

    def permits_source(self, repo_url: str) -> bool:
        """Whether Applications of this project may read ``repo_url``."""
        url = normalize_repo_url(repo_url)
        matched = False
        for pattern in self.source_repos:
            deny = pattern.startswith("!")
            normal = normalize_repo_url(pattern.removeprefix("!"))
            hit = glob_match(normal, url)
            if deny and hit:
                return False
            matched = matched or (hit and not deny)
        return matched

    def permits_destination(self, server: str, name: str, namespace: str) -> bool:
        """Whether Applications of this project may deploy to ``server`` (or cluster ``name``)/``namespace``."""
        matched = False
        for item in self.destinations:
            fields = ((item.server, server), (item.name, name), (item.namespace, namespace))
            if any(pattern.startswith("!") for pattern, _ in fields):
                if any(_denies(pattern, value) for pattern, value in fields):
                    return False
                continue
            target = (bool(server) and glob_match(item.server, server, segments=False)) or (
                bool(name) and glob_match(item.name, name, segments=False)
            )
            if target and glob_match(item.namespace, namespace, segments=False):
                matched = True
        return matched

    def permits_kind(self, group: str, kind: str, *, namespaced: bool) -> bool:
        """Whether Applications of this project may manage objects of ``group``/``kind``."""
        if namespaced:
            white = self.namespace_resource_whitelist
            listed = white is None or any(gk.matches(group, kind) for gk in white)
            return listed and not any(gk.matches(group, kind) for gk in self.namespace_resource_blacklist)
        listed = any(gk.matches(group, kind) for gk in self.cluster_resource_whitelist)
        return listed and not any(gk.matches(group, kind) for gk in self.cluster_resource_blacklist)


DEFAULT_PROJECT = AppProject(
    name="default",
    source_repos=("*",),
    destinations=(ProjectDestination(server="*", name="*", namespace="*"),),
    cluster_resource_whitelist=(GroupKind("*", "*"),),
    description="Argo CD's default project: every source, destination and kind",
)


def normalize_repo_url(url: str) -> str:
    """A repository URL as projects compare it: lower case, without ``.git`` and trailing ``/``."""
    text = url.strip().lower().rstrip("/")
    return text.removesuffix(".git")


def _denies(pattern: str, value: str) -> bool:
    """Whether ``pattern`` is a ``!glob`` whose glob matches ``value`` (a given one)."""
    return pattern.startswith("!") and bool(value) and glob_match(pattern[1:], value, segments=False)


def glob_match(pattern: str, value: str, *, segments: bool = True) -> bool:
    """Whether ``value`` matches ``pattern`` (``*`` within a ``/`` segment, ``**`` across, ``?``;
    without ``segments``, ``*`` crosses ``/`` as well)."""
    if pattern == "*":
        return True
    return _compiled(pattern, segments).fullmatch(value) is not None


@lru_cache(maxsize=1024)
def _compiled(pattern: str, segments: bool = True) -> re.Pattern[str]:
    star, one = ("[^/]*", "[^/]") if segments else (".*", ".")
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        out.append(star if char == "*" else one if char == "?" else re.escape(char))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def parse_project(body: Node, source: Source) -> AppProject:
    """An ``AppProject`` document (``apiVersion`` and ``kind`` already checked)."""
    body.only(_TOP_FIELDS)
    meta = parse_meta(body)
    spec = body.child("spec")
    if spec is None:
        return AppProject(name=meta.name, origin=source, annotations=tuple(sorted(meta.annotations.items())))
    spec.require_map().only(_SPEC_FIELDS)
    destinations = []
    for index, pattern in enumerate(spec.strings("sourceRepos")):
        if pattern.strip() == "!*":
            raise spec.error(
                "'!*' is not a valid rule: it would deny every repository", f"sourceRepos[{index}]"
            )
    for item in spec.items("destinations"):
        item.require_map().only(("server", "name", "namespace"))
        for key in ("server", "name", "namespace"):
            if item.string(key).strip() == "!*":
                raise item.error("'!*' is not a valid rule: it would deny every destination", key)
        destinations.append(
            ProjectDestination(item.string("server"), item.string("name"), item.string("namespace"))
        )
    white = spec.child("namespaceResourceWhitelist")
    return AppProject(
        name=meta.name,
        source_repos=spec.strings("sourceRepos"),
        destinations=tuple(destinations),
        cluster_resource_whitelist=_group_kinds(spec, "clusterResourceWhitelist"),
        cluster_resource_blacklist=_group_kinds(spec, "clusterResourceBlacklist"),
        namespace_resource_whitelist=None
        if white is None
        else _group_kinds(spec, "namespaceResourceWhitelist"),
        namespace_resource_blacklist=_group_kinds(spec, "namespaceResourceBlacklist"),
        description=spec.string("description"),
        sync_windows=tuple(_sync_window(item) for item in spec.items("syncWindows")),
        roles=parse_roles(spec, meta.name),
        origin=source,
        annotations=tuple(sorted(meta.annotations.items())),
    )


def _sync_window(item: Node) -> SyncWindow:
    """One ``syncWindows`` item; ``SpecError`` naming the field for a bad kind, schedule, duration or
    time zone, or an unknown field."""
    item.require_map().only(_WINDOW_FIELDS)
    kind = item.one_of("kind", ("allow", "deny"))
    text = item.string("schedule", required=True)
    try:
        schedule = parse_schedule(text)
    except SpecError as exc:
        raise item.error(str(exc), "schedule") from exc
    duration_text = item.string("duration", required=True)
    try:
        duration = parse_duration(duration_text)
    except ValueError as exc:
        raise item.error(str(exc), "duration") from exc
    if duration <= 0:
        raise item.error(f"{duration_text} must be a positive duration such as 1h or 30m", "duration")
    time_zone = item.string("timeZone") or "UTC"
    try:
        zone(time_zone)
    except SpecError as exc:
        raise item.error(str(exc), "timeZone") from exc
    return SyncWindow(
        kind=kind,
        schedule=schedule,
        duration=duration,
        time_zone=time_zone,
        applications=item.strings("applications"),
        namespaces=item.strings("namespaces"),
        clusters=item.strings("clusters"),
        manual_sync=item.boolean("manualSync"),
        and_operator=item.boolean("andOperator"),
        description=item.string("description"),
    )


def _group_kinds(spec: Node, key: str) -> tuple[GroupKind, ...]:
    found = []
    for item in spec.items(key):
        item.require_map().only(("group", "kind"))
        found.append(GroupKind(item.string("group"), item.string("kind", required=True)))
    return tuple(found)
