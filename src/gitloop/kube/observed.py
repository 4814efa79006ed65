"""Every request a :class:`~gitloop.kube.KubeCluster` sends, timed and reported to an
:class:`~gitloop.ports.Observer` as a ``k8s_request``: transport event hooks on its HTTP clients, so
every call (discovery, apply, list, watch, delete) is seen in one place.

The labels are those of Argo CD's ``argocd_app_k8s_request_total``: the API server, the verb as Argo
CD's client metrics name it (``Get``, ``List``, ``Watch``, ``Create``, ``Update``, ``Patch``,
``Delete``, ``Unknown``), the resource (the plural in the path, ``""`` for discovery), its namespace, and
the response code. The time is from sending the request to its response's headers (a watch's stream is
not counted in it).
"""

from __future__ import annotations

import time
from typing import Any

import httpx2

from gitloop.ports import Observer

STARTED = "gitloop.started"
"""The request extension holding when the request was sent (``time.perf_counter``)."""
_VERBS = {"POST": "Create", "PUT": "Update", "PATCH": "Patch", "DELETE": "Delete"}


def request_labels(method: str, path: str, query: str) -> tuple[str, str, str]:
    """``(verb, resource_kind, resource_namespace)`` of a request to a Kubernetes API server:
    ``GET /apis/apps/v1/namespaces/web/deployments/web`` is ``("Get", "deployments", "web")``, the same
    without a name ``List`` (``Watch`` with ``watch=true`` or ``watch=1``)."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"]:
        rest = parts[2:]
    elif parts[:1] == ["apis"]:
        rest = parts[3:]
    else:
        rest = []
    namespace = ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    kind = rest[0] if rest else ""
    named = len(rest) >= 2
    method = method.upper()
    if method == "GET":
        watching = any(term in ("watch=true", "watch=1") for term in query.split("&"))
        verb = "Watch" if watching else ("Get" if named or not kind else "List")
    elif method == "DELETE":
        verb = "Delete"
    else:
        verb = _VERBS.get(method, "Unknown")
    return verb, kind, namespace


def observe_requests(client: Any, server: str, observe: Observer) -> None:
    """Report every request ``client`` (an ``httpx2.AsyncClient``) sends to ``server`` to ``observe``."""
    if not isinstance(client, httpx2.AsyncClient):
        raise TypeError(f"cannot time the requests of {type(client).__name__}: not an HTTP client")

    async def sent(request: httpx2.Request) -> None:
        request.extensions[STARTED] = time.perf_counter()

    async def answered(response: httpx2.Response) -> None:
        request = response.request
        started = request.extensions.get(STARTED)
        seconds = time.perf_counter() - started if isinstance(started, float) else 0.0
        url = request.url
        verb, kind, namespace = request_labels(request.method, url.path, url.query.decode("ascii", "replace"))
        observe("k8s_request", (server, verb, kind, namespace, str(response.status_code)), seconds)

    hooks = client.event_hooks
    client.event_hooks = {
        "request": [*hooks.get("request", []), sent],
        "response": [*hooks.get("response", []), answered],
    }
