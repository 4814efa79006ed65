"""The Prometheus metrics of ``gitloop serve``, in a registry of their own (``None`` parts without the
optional ``prometheus-client``).

- ``gitloop_webhook_requests_total{endpoint, code}`` and ``gitloop_webhook_seconds{endpoint}``: every
  webhook answered, whatever its status.
- ``gitloop_http_refused_total{reason, code}``: every request the server refused, on any route, and
  every connection it dropped: ``reason`` is one of ``REASONS``' values or ``header-timeout`` /
  ``head-too-large`` (dropped before a request existed, counted by the protocol), ``code`` the status
  answered (``499`` for a client that went away: nothing could be answered).
- the families of a :class:`~gitloop.service.server.metrics_feed.MetricsFeed` (:meth:`Metrics.attach`):
  Applications (``argocd_app_info``, ``argocd_app_sync_total``, ``argocd_app_sync_duration_seconds_total``,
  ``argocd_app_reconcile``, health transitions), git and Kubernetes API requests (``argocd_git_request_*``,
  ``argocd_app_k8s_request_total``, ``gitloop_k8s_request_duration_seconds``), PipelineRuns and TaskRuns,
  the run queue and DORA's figures, rendered as they are at each scrape (:meth:`Metrics.scrape` reads the
  store's part again, at most once a minute, in a worker thread).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from gitloop.service.server.metrics_feed import Family, Histogram, MetricsFeed

REASONS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    408: "body-timeout",
    409: "conflict",
    413: "too-large",
    422: "unprocessable",
    499: "aborted",
}
"""The reason of each refused status answered by the application; other 4xx are ``client-error``."""


def refusal_reason(code: int) -> str | None:
    """The ``reason`` label of a status the application answered; ``None`` when it is no refusal."""
    if not 400 <= code < 500:
        return None
    return REASONS.get(code, "client-error")


class _FeedCollector:
    """A Prometheus collector of a feed's families, built at each scrape."""

    def __init__(self, feed: MetricsFeed, core: Any) -> None:
        self._feed = feed
        self._core = core

    def describe(self) -> list[Any]:
        return []  # the families vary (and reading them at registration would read the store)

    def collect(self) -> Iterator[Any]:
        for family in self._feed.families():
            yield self._family(family)

    def _family(self, family: Family) -> Any:
        core, labels = self._core, list(family.labels)
        if family.kind == "histogram":
            histogram = core.HistogramMetricFamily(family.name, family.help, labels=labels)
            for values, sample in family.samples:
                assert isinstance(sample, Histogram)
                buckets = [
                    (repr(b), float(c)) for b, c in zip(sample.buckets, sample.cumulative, strict=True)
                ]
                histogram.add_metric(list(values), [*buckets, ("+Inf", float(sample.count))], sample.total)
            return histogram
        made = (core.CounterMetricFamily if family.kind == "counter" else core.GaugeMetricFamily)(
            family.name, family.help, labels=labels
        )
        for values, value in family.samples:
            assert not isinstance(value, Histogram)
            made.add_metric(list(values), value)
        return made


class Metrics:
    """The server's counters. Safe to call from the event loop and from threads."""

    def __init__(self) -> None:
        self._feed: MetricsFeed | None = None
        try:
            import prometheus_client as prom
        except ImportError:  # optional dependency
            self.registry: Any = None
            return
        self._prom = prom
        self.registry = prom.CollectorRegistry()
        self._requests = prom.Counter(
            "gitloop_webhook_requests",
            "Webhook requests by endpoint and status code",
            ["endpoint", "code"],
            registry=self.registry,
        )
        self._latency = prom.Histogram(
            "gitloop_webhook_seconds",
            "Time to answer a webhook (runs queued or Applications refreshed)",
            ["endpoint"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self._refused = prom.Counter(
            "gitloop_http_refused",
            "Requests refused and connections dropped, by reason and status code",
            ["reason", "code"],
            registry=self.registry,
        )

    def observe(self, endpoint: str, code: int, seconds: float) -> None:
        """A webhook answered ``code`` after ``seconds``."""
        if self.registry is not None:
            self._requests.labels(endpoint, str(code)).inc()
            self._latency.labels(endpoint).observe(seconds)

    def refused(self, reason: str, code: int) -> None:
        """A request refused (or a connection dropped) for ``reason``, answered ``code``."""
        if self.registry is not None:
            self._refused.labels(reason, str(code)).inc()

    def attach(self, feed: MetricsFeed) -> None:
        """Render ``feed``'s families too (once per registry)."""
        if self.registry is not None and self._feed is None:
            self._feed = feed
            import prometheus_client.core as core

            self.registry.register(_FeedCollector(feed, core))

    async def scrape(self) -> bytes | None:
        """The exposition text, the feed's store part read again first if it is older than a minute."""
        if self._feed is not None:
            await asyncio.to_thread(self._feed.refresh)
        return self.render()

    def render(self) -> bytes | None:
        """The exposition text; ``None`` without ``prometheus-client``."""
        if self.registry is None:
            return None
        data: bytes = self._prom.generate_latest(self.registry)
        return data
