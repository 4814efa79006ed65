"""``argoproj.io/v1alpha1`` AppProject: which sources, destinations and kinds its Applications may use.

The checks follow Argo CD's ``AppProject`` methods:

- ``permits_source``: some allowing ``sourceRepos`` glob matches the repository URL (compared
  normalised: lower case, no ``.git`` suffix, no trailing ``/``) and no ``!pattern`` matches it, as
  Argo CD's documentation states the rule;
- ``permits_destination``: some ``destinations`` item matches the server (or cluster name) and the
  namespace, and no ``!pattern`` item denies them;
- ``permits_kind``: a cluster-scoped kind must be in ``clusterResourceWhitelist`` (empty: none) and
  not in ``clusterResourceBlacklist``; a namespaced kind must be in ``namespaceResourceWhitelist``
  when one is given (absent: all) and not in ``namespaceResourceBlacklist``.

Globs: ``*`` matches within one ``/``-separated segment, ``**`` across segments, ``?`` one character,
and a pattern that is just ``*`` matches everything. ``DEFAULT_PROJECT`` is Argo CD's ``default``
project, which permits everything; it is used when no AppProject named ``default`` is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

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
    origin: Source | None = None

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
            name_hit = bool(name) and _negatable(item.name, name)
            server_hit = bool(server) and _negatable(item.server, server)
            namespace_hit = _negatable(item.namespace, namespace)
            if (server_hit or name_hit) and namespace_hit:
                matched = True
            elif (
                (not name_hit and item.name.startswith("!"))
                or (not server_hit and item.server.startswith("!"))
                or (not namespace_hit and item.namespace.startswith("!"))
            ):
                return False
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


def _negatable(pattern: str, value: str) -> bool:
    """A glob that matches, or a ``!glob`` that does not."""
    if pattern.startswith("!"):
        return not glob_match(pattern[1:], value)
    return glob_match(pattern, value)


def glob_match(pattern: str, value: str) -> bool:
    """Whether ``value`` matches ``pattern`` (``*`` within a ``/`` segment, ``**`` across, ``?``)."""
    if pattern == "*":
        return True
    return _compiled(pattern).fullmatch(value) is not None


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        out.append("[^/]*" if char == "*" else "[^/]" if char == "?" else re.escape(char))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def parse_project(body: Node, source: Source) -> AppProject:
    """An ``AppProject`` document (``apiVersion`` and ``kind`` already checked)."""
    body.only(_TOP_FIELDS)
    meta = parse_meta(body)
    spec = body.child("spec")
    if spec is None:
        return AppProject(name=meta.name, origin=source)
    spec.require_map().only(_SPEC_FIELDS)
    destinations = []
    for item in spec.items("destinations"):
        item.require_map().only(("server", "name", "namespace"))
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
        origin=source,
    )


def _group_kinds(spec: Node, key: str) -> tuple[GroupKind, ...]:
    found = []
    for item in spec.items(key):
        item.require_map().only(("group", "kind"))
        found.append(GroupKind(item.string("group"), item.string("kind", required=True)))
    return tuple(found)
