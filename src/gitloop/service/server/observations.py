"""What the adapters timed, kept for ``/metrics``: the :class:`~gitloop.ports.Observer` the composition
hands to the git mirrors and the cluster clients it builds, counting and bucketing every report.

- ``git_request`` ``(repo, request_type)``: Argo CD's repo-server families ``argocd_git_request_total``
  and ``argocd_git_request_duration_seconds`` (its buckets), ``request_type`` ``ls-remote`` or
  ``fetch``, ``repo`` the URL without credentials (:func:`repo_label`, whatever the adapter passed);
- ``k8s_request`` ``(server, verb, resource_kind, resource_namespace, response_code)``: Argo CD's
  controller counter ``argocd_app_k8s_request_total`` (its Application labels ``namespace``, ``name``,
  ``project`` empty, as Argo CD's are for requests of no one Application's reconciliation) and gitloop's
  ``gitloop_k8s_request_duration_seconds{server, verb}``.

One process has one :data:`OBSERVED`, counting since it started, as Prometheus clients count. A report
costs a dict lookup, a bisection and a short lock (no I/O under it).
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Sequence
from itertools import accumulate

from gitloop.git.urls import redact_url
from gitloop.spec.redact import redact_url_passwords

RECONCILE_BUCKETS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
"""Argo CD's buckets of ``argocd_app_reconcile``."""
GIT_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0, 20.0)
"""Argo CD's buckets of ``argocd_git_request_duration_seconds``."""
K8S_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""The buckets of ``gitloop_k8s_request_duration_seconds`` (Prometheus clients' defaults)."""
K8S_LABELS = ("server", "verb", "resource_kind", "resource_namespace", "response_code")


class Tally:
    """Observations of one histogram series: counts per bucket (the last past every bound), count, sum."""

    __slots__ = ("buckets", "count", "counts", "total")

    def __init__(self, buckets: Sequence[float]) -> None:
        self.buckets = tuple(buckets)
        self.counts = [0] * (len(self.buckets) + 1)
        self.count = 0
        self.total = 0.0

    def add(self, seconds: float) -> None:
        self.counts[bisect_left(self.buckets, seconds)] += 1  # a bound counts the values equal to it
        self.count += 1
        self.total += seconds

    def cumulative(self) -> tuple[int, ...]:
        """How many observations were at most each bound (Prometheus's ``le`` buckets, ``+Inf`` left out)."""
        return tuple(accumulate(self.counts[:-1]))

    def copy(self) -> Tally:
        made = Tally(self.buckets)
        made.counts, made.count, made.total = list(self.counts), self.count, self.total
        return made


def repo_label(url: str) -> str:
    """The ``repo`` label of a repository URL: without user information in HTTP(S) URLs, and without the
    password of any other ``scheme://user:password@`` URL."""
    return redact_url_passwords(redact_url(url.strip()))


class Observations:
    """The :class:`~gitloop.ports.Observer` of a process: every report tallied by its labels."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._git: dict[tuple[str, str], Tally] = {}
        self._k8s: dict[tuple[str, ...], int] = {}
        self._k8s_seconds: dict[tuple[str, str], Tally] = {}

    def __call__(self, event: str, labels: tuple[str, ...], seconds: float) -> None:
        if event == "git_request" and len(labels) == 2:
            key = (repo_label(labels[0]), labels[1])
            with self._lock:
                tally = self._git.get(key)
                if tally is None:
                    tally = self._git[key] = Tally(GIT_BUCKETS)
                tally.add(seconds)
        elif event == "k8s_request" and len(labels) == len(K8S_LABELS):
            timed = (labels[0], labels[1])
            with self._lock:
                self._k8s[labels] = self._k8s.get(labels, 0) + 1
                tally = self._k8s_seconds.get(timed)
                if tally is None:
                    tally = self._k8s_seconds[timed] = Tally(K8S_BUCKETS)
                tally.add(seconds)

    def git_requests(self) -> dict[tuple[str, str], Tally]:
        """``(repo, request_type)`` → the requests' durations (copies)."""
        with self._lock:
            return {key: tally.copy() for key, tally in self._git.items()}

    def k8s_requests(self) -> dict[tuple[str, ...], int]:
        """``K8S_LABELS`` values → requests answered."""
        with self._lock:
            return dict(self._k8s)

    def k8s_seconds(self) -> dict[tuple[str, str], Tally]:
        """``(server, verb)`` → the requests' durations (copies)."""
        with self._lock:
            return {key: tally.copy() for key, tally in self._k8s_seconds.items()}


OBSERVED = Observations()
"""This process's observations: what ``gitloop serve``'s adapters report, what its ``/metrics`` shows."""
