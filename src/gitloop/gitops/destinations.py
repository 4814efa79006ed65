"""Which configured cluster an Application's destination means, by Argo CD's rules, or why none does.

A cluster is known by a name and a server URL. ``destination.name`` must equal one cluster's name and
``destination.server`` one cluster's URL (trailing slashes ignored); when several clusters share a
URL, the first in order wins. Nothing else is ever chosen, but for one alias: the default cluster
(serve's first ``clusters`` entry; the kubeconfig's current context for ``gitloop app``) is also the
one Argo CD calls the cluster it runs in, ``name: in-cluster`` and ``server:
https://kubernetes.default.svc``, unless a cluster has that name or URL itself.
A destination that matches nothing is refused with Argo CD's message (an ``InvalidSpecError``
condition on the Application), and nothing is applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gitloop.errors import UsageError
from gitloop.spec.argocd import IN_CLUSTER, Destination

IN_CLUSTER_NAME = "in-cluster"
"""The cluster name Argo CD gives the cluster it runs in."""


@dataclass(frozen=True)
class KnownCluster:
    """A cluster Applications may deploy to: ``destination.name`` names it, ``destination.server`` is
    its URL."""

    name: str
    server: str


def server_url(url: str) -> str:
    """``url`` as destinations are compared: without surrounding blanks and trailing slashes."""
    return url.strip().rstrip("/")


def _listed(clusters: Sequence[KnownCluster], part: str) -> str:
    values = [getattr(c, part) for c in clusters]
    return f" (configured: {', '.join(values)})" if values else " (no cluster is configured)"


def destination_cluster(
    destination: Destination, clusters: Sequence[KnownCluster], default: KnownCluster | None = None
) -> KnownCluster:
    """The cluster of ``clusters`` that ``destination`` means; ``default`` (one of them, if any) also
    answers to the in-cluster name and URL.

    ``UsageError`` with Argo CD's message when it means none of them, or names both a name and a
    server."""
    name, server = destination.name, server_url(destination.server)
    if name and server:
        raise UsageError(f"application destination can't have both name and server defined: {name} {server}")
    if name:
        found = next((c for c in clusters if c.name == name), None)
        if found is None and name == IN_CLUSTER_NAME:
            found = default
        if found is None:
            raise UsageError(
                "unable to find destination server: there are no clusters with this name: "
                f"{name}{_listed(clusters, 'name')}"
            )
        return found
    if server:
        found = next((c for c in clusters if server_url(c.server) == server), None)
        if found is None and server == IN_CLUSTER:
            found = default
        if found is None:
            raise UsageError(f"cluster '{server}' has not been configured{_listed(clusters, 'server')}")
        return found
    raise UsageError("Destination server missing from app spec")
