"""Which Applications a list asks for: Argo CD's ``ApplicationQuery`` filters, label selectors, pages. Pure.

``AppQuery.parse`` reads the query parameters of ``GET /api/v1/applications`` (and of the stream):
Argo CD's ``projects`` (also ``project``), ``selector`` (a Kubernetes label selector: ``k=v``,
``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``, ``k``, ``!k``, comma-separated), ``name``
(exact), ``repo``, and gitloop's ``sync``, ``health``, ``cluster`` (destination server or name),
``namespace`` (destination namespace), ``search`` (name substring), ``limit`` and ``continue``. A bad
value raises ``QueryError`` naming the parameter. ``page`` walks Applications sorted by name from
where the ``continue`` token says and stops as soon as the page is full, so a page of a long list
costs what it shows, not what the list holds. The token is opaque to clients: the last name shown.
"""

from __future__ import annotations

import base64
import binascii
import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from gitloop.errors import UsageError
from gitloop.gitops.destinations import server_url
from gitloop.gitops.status import AppStatus
from gitloop.model.health import HealthStatus
from gitloop.model.selectors import Requirement, parse_selector
from gitloop.model.sync import SyncStatus
from gitloop.spec.argocd import Application
from gitloop.spec.argocd.project import normalize_repo_url

MAX_LIMIT = 10_000


class QueryError(UsageError):
    """A query parameter's value cannot be used; ``parameter`` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


_CONTINUE_PREFIX = "after:"


def encode_continue(last: str) -> str:
    return base64.urlsafe_b64encode((_CONTINUE_PREFIX + last).encode()).decode().rstrip("=")


def decode_continue(token: str) -> str:
    """The last name shown (``QueryError`` for a token this server did not give)."""
    try:
        text = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith(_CONTINUE_PREFIX):
        raise QueryError("continue", "not a token this server gave")
    return text.removeprefix(_CONTINUE_PREFIX)


def _one(params: Mapping[str, Sequence[str]], name: str) -> str:
    values = params.get(name) or ()
    if len(values) > 1:
        raise QueryError(name, "given more than once")
    return values[0] if values else ""


def _enum_values(params: Mapping[str, Sequence[str]], name: str, allowed: Sequence[str]) -> frozenset[str]:
    chosen = {v for raw in params.get(name) or () for v in raw.split(",") if v}
    unknown = sorted(chosen - set(allowed))
    if unknown:
        raise QueryError(name, f"unknown value {', '.join(unknown)} (one of {', '.join(allowed)})")
    return frozenset(chosen)


@dataclass(frozen=True)
class AppQuery:
    """The filters and the page of one list request; an empty query lists everything."""

    projects: frozenset[str] = frozenset()
    selector: tuple[Requirement, ...] = ()
    name: str = ""
    repo: str = ""
    sync: frozenset[str] = frozenset()
    health: frozenset[str] = frozenset()
    cluster: str = ""
    namespace: str = ""
    search: str = ""
    limit: int | None = None
    after: str = ""
    """The last name of the previous page (from ``continue``)."""
    permitted: Callable[[Application], bool] | None = field(default=None, compare=False)
    """Who asks may see only these (the face's access rule); ``None``: every Application."""

    @classmethod
    def parse(cls, params: Mapping[str, Sequence[str]]) -> AppQuery:
        """The query of request parameters (each name with its values); ``QueryError`` naming the bad one."""
        projects = {
            p for name in ("projects", "project") for raw in params.get(name) or () for p in raw.split(",")
        }
        try:
            selector = parse_selector(_one(params, "selector"))
        except UsageError as exc:
            raise QueryError("selector", str(exc)) from None
        limit_text = _one(params, "limit")
        limit = None
        if limit_text:
            if not limit_text.isdigit() or not 0 < int(limit_text) <= MAX_LIMIT:
                raise QueryError("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
            limit = int(limit_text)
        token = _one(params, "continue")
        return cls(
            projects=frozenset(p for p in projects if p),
            selector=selector,
            name=_one(params, "name"),
            repo=_one(params, "repo"),
            sync=_enum_values(params, "sync", [s.value for s in SyncStatus]),
            health=_enum_values(params, "health", [h.value for h in HealthStatus]),
            cluster=_one(params, "cluster"),
            namespace=_one(params, "namespace"),
            search=_one(params, "search"),
            limit=limit,
            after=decode_continue(token) if token else "",
        )

    def matches(self, app: Application, status: AppStatus) -> bool:
        """Whether ``app`` (with its ``status``) passes every filter."""
        checks = (
            not self.name or app.name == self.name,
            not self.search or self.search in app.name,
            not self.projects or app.project in self.projects,
            not self.namespace or app.destination.namespace == self.namespace,
            not self.cluster or _on_cluster(app, self.cluster),
            not self.repo or _from_repo(app, self.repo),
            not self.sync or status.sync_status.value in self.sync,
            not self.health or status.health.status.value in self.health,
        )
        if not (all(checks) and all(r.matches(app.labels) for r in self.selector)):
            return False
        return self.permitted is None or self.permitted(app)  # the costliest check last


def _on_cluster(app: Application, cluster: str) -> bool:
    """Whether ``app``'s destination is ``cluster``, by name or by server URL."""
    return cluster == app.destination.name or server_url(cluster) == server_url(app.destination.server)


def _from_repo(app: Application, repo: str) -> bool:
    wanted = normalize_repo_url(repo)
    return any(normalize_repo_url(s.repo_url) == wanted for s in app.sources)


@dataclass(frozen=True)
class Page:
    """The names of one page, and the token of the next (``""`` on the last page)."""

    names: tuple[str, ...]
    continue_token: str = ""


def page(
    names: Sequence[str],
    query: AppQuery,
    lookup: Callable[[str], tuple[Application, AppStatus] | None],
) -> Page:
    """The page ``query`` asks for of ``names`` (sorted); ``lookup`` gives an Application and its
    status by name (``None`` when it went away meanwhile)."""
    start = bisect.bisect_right(names, query.after) if query.after else 0
    if query.name:  # one name at most: no walk
        start = bisect.bisect_left(names, query.name, lo=start)
        names = names[: start + 1] if start < len(names) and names[start] == query.name else ()
    chosen: list[str] = []
    for index in range(start, len(names)):
        found = lookup(names[index])
        if found is None or not query.matches(*found):
            continue
        if query.limit is not None and len(chosen) == query.limit:
            return Page(tuple(chosen), encode_continue(chosen[-1]))
        chosen.append(names[index])
    return Page(tuple(chosen))
