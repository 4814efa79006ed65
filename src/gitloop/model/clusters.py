"""A destination cluster as the control plane knows it: ``ClusterRef``.

The cluster registry (the serve config's ``clusters:``, the API, ``gitloop cluster add``) holds one per
cluster; Applications name it by ``name`` or ``server`` (``gitloop.gitops.destinations``), and the
ApplicationSet ``clusters`` generator selects among them by ``labels``. Nothing here reaches a cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

IN_CLUSTER_SERVER = "https://kubernetes.default.svc"
"""The server URL Argo CD gives the cluster it runs in; gitloop gives it to its default cluster."""


def _frozen(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


@dataclass(frozen=True)
class ClusterRef:
    """One registered cluster: its name, its API server URL, its labels and annotations (Argo CD keeps
    them on the cluster Secret), and the project it is scoped to (``""``: every project)."""

    name: str
    server: str
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    project: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", _frozen(self.labels))
        object.__setattr__(self, "annotations", _frozen(self.annotations))
