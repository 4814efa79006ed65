"""Who is asking and whether they may: one rule for every route of ``gitloop serve``.

Every route is one of three kinds, and ``check_routes`` refuses to build an application with a route
that is none of them (so a new route without a rule fails every test, not a review):
- **open** (``OPEN``): the webhooks (they check their own signatures), ``/healthz``, the Sealed Secrets
  certificate, ``POST /api/v1/session`` (the login), ``GET /api/v1/session/userinfo`` and the web UI's
  files;
- **authenticated** (``Authenticated``): any principal, for what concerns only themselves (their session,
  their own account and tokens — Argo CD lets an account manage itself);
- **permitted** (``Require(resource, action, object)``): Argo CD's RBAC check of ``resource``, ``action``
  and the object read from the request (``<project>/<app>`` for Applications). ``DEFERRED`` objects are
  known only from the body: the route authenticates first and checks with ``permit`` once it has read it.
  ``FILTERED`` marks a list: it answers only the items the principal may ``get`` (Argo CD's lists).

Credentials: ``Authorization: Bearer <token>``, or the ``gitloop.token`` cookie a login sets (HttpOnly,
SameSite=Strict, Secure over HTTPS). A request authenticated by the cookie that changes something must
send ``X-CSRF-Token`` equal to the ``gitloop.csrf`` cookie (a value derived from the session token, so
it cannot be forged without it). No credential: anonymous when ``auth.anonymous`` allows it, else 401; a
credential that is wrong, expired or revoked: 401 (never anonymous). Denied: 403 ``permission denied:
<resource>, <action>, <object>``.

Every permitted request whose action changes something (anything but ``get`` and ``logs``) is recorded in
the audit trail with its outcome (``ok``, ``denied``, or the HTTP status of its failure).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute

from gitloop.access.authn import Principal
from gitloop.api.ui import ROUTES as UI_ROUTES
from gitloop.service.server import Server

COOKIE = "gitloop.token"
CSRF_COOKIE = "gitloop.csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_ACTIONS = frozenset({"get", "logs"})

OPEN = frozenset(
    {
        ("POST", "/hooks/{listener}"),
        ("POST", "/api/webhook"),
        ("GET", "/healthz"),
        ("GET", "/v1/cert.pem"),
        ("POST", "/api/v1/session"),
        ("GET", "/api/v1/session/userinfo"),
        *UI_ROUTES,
    }
)
"""The routes anyone may call: each checks what it needs itself (a signature, nothing at all); the web
UI's pages and static files (``gitloop.api.ui``) hold no data."""

DEFERRED = "<from the body>"
"""The object of a route that learns it from the request body (``permit`` checks it there)."""

FILTERED = "<each item>"
"""The object of a list: any principal may ask; the list holds only the items they may ``get``."""

ObjectOf = Callable[[Request], str]


def csrf_token(session_token: str) -> str:
    """The CSRF value that goes with a session token (double submit: the cookie and the header)."""
    return hashlib.sha256(b"gitloop-csrf\0" + session_token.encode()).hexdigest()[:40]


def source_of(request: Request) -> str:
    """Where a request came from, for the audit trail."""
    return request.client.host if request.client is not None else ""


def _credential(request: Request) -> tuple[str | None, bool]:
    """The presented token and whether it came from the cookie."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(
                401,
                "the Authorization header must be: Bearer <token>",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return token.strip(), False
    cookie = request.cookies.get(COOKIE)
    return (cookie, True) if cookie else (None, False)


def authenticate(server: Server, request: Request) -> Principal:
    """The principal of ``request`` (kept on ``request.state``); 401 when there is none."""
    known = getattr(request.state, "principal", None)
    if isinstance(known, Principal):
        return known
    token, from_cookie = _credential(request)
    principal = server.access.principal(token)
    if principal is None:
        reason = (
            "the token is not valid (unknown, expired or revoked)"
            if token
            else "authentication is required: log in (POST /api/v1/session) or send Authorization: Bearer <token>"
        )
        raise HTTPException(401, reason, headers={"WWW-Authenticate": "Bearer"})
    if from_cookie and token and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), csrf_token(token).encode()):
            raise HTTPException(403, f"a request authenticated by cookie must send {CSRF_HEADER}")
    request.state.principal = principal
    return principal


def permit(server: Server, request: Request, resource: str, action: str, obj: str) -> Principal:
    """Authenticate ``request`` and check ``action`` on ``resource`` ``obj``; 403 when denied."""
    principal = authenticate(server, request)
    request.state.audit_object = obj
    if not server.access.allowed(principal, resource, action, obj):
        request.state.denied = True
        raise HTTPException(403, f"permission denied: {resource}, {action}, {obj}")
    return principal


class Authenticated:
    """A route any authenticated principal may call (what concerns only themselves)."""

    def __init__(self, server: Server) -> None:
        self.server = server

    async def __call__(self, request: Request) -> Principal:
        return authenticate(self.server, request)


class Require:
    """A route's permission: ``resource``, ``action`` and the object the request names."""

    def __init__(
        self, server: Server, resource: str, action: str, obj: ObjectOf | str = "*", *, itself: str = ""
    ) -> None:
        self.server = server
        self.resource = resource
        self.action = action
        self.obj = obj
        self.itself = itself
        """A path parameter naming an account: a principal may always act on their own account."""

    async def __call__(self, request: Request) -> AsyncIterator[Principal]:
        audited = self.action not in READ_ACTIONS
        request.state.audit_object = None
        try:
            if self.obj in (DEFERRED, FILTERED):
                principal = authenticate(self.server, request)
            elif (
                self.itself and authenticate(self.server, request).subject == request.path_params[self.itself]
            ):
                principal = authenticate(self.server, request)  # an account may act on itself ...
                request.state.audit_object = principal.subject
                if not principal.permits(self.resource, self.action):  # ... within its token's scope
                    request.state.denied = True
                    raise HTTPException(
                        403, f"permission denied: the token's scope has no {self.resource}:{self.action}"
                    )
            else:
                obj = self.obj(request) if callable(self.obj) else self.obj
                principal = permit(self.server, request, self.resource, self.action, obj)
        except HTTPException as exc:
            if audited and exc.status_code == 403:
                self._record(request, "denied")
            raise
        try:
            yield principal
        except HTTPException as exc:
            if audited:
                denied = getattr(request.state, "denied", False)
                self._record(request, "denied" if denied else f"failed: HTTP {exc.status_code}")
            raise
        except Exception as exc:
            if audited:
                self._record(request, _outcome(exc))
            raise
        if audited:
            self._record(request, "ok")

    def _record(self, request: Request, outcome: str) -> None:
        principal = getattr(request.state, "principal", None)
        if not isinstance(principal, Principal):
            return
        obj = getattr(request.state, "audit_object", None) or "?"
        self.server.access.audit.record(
            user=principal.subject or "anonymous",
            action=getattr(request.state, "audit_action", None) or f"{self.resource}.{self.action}",
            object=obj,
            source=source_of(request),
            outcome=outcome,
            details=getattr(request.state, "audit_details", None),
        )


def _outcome(exc: Exception) -> str:
    return f"failed: {type(exc).__name__}"


def rule_of(route: APIRoute) -> Require | Authenticated | None:
    """The permission dependency of ``route`` (``None``: it has none)."""
    for dependency in route.dependant.dependencies:
        if isinstance(dependency.call, Require | Authenticated):
            return dependency.call
    return None


def api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """Every API route of ``routes``, those of included routers too (FastAPI may keep an included router
    as one entry, ``original_router``, rather than copying its routes; the routers here have no prefix
    given at inclusion, their own prefix is in their routes' paths)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        else:
            included = getattr(route, "original_router", None)
            if included is not None:
                yield from api_routes(included.routes)


def check_routes(app: FastAPI) -> None:
    """Refuse an application with a route that is neither open nor guarded (``RuntimeError``)."""
    unguarded = [
        f"{method} {route.path}"
        for route in api_routes(app.routes)
        if rule_of(route) is None
        for method in sorted(route.methods or ())
        if (method, route.path) not in OPEN
    ]
    if unguarded:
        raise RuntimeError(f"routes without an access rule (see gitloop.api.access): {', '.join(unguarded)}")


def principal_of(request: Request) -> Principal:
    """The principal a route's dependency authenticated."""
    found: Any = getattr(request.state, "principal", None)
    if not isinstance(found, Principal):
        raise RuntimeError(f"{request.url.path}: no principal: the route has no access rule")
    return found


class Rules:
    """The dependencies routes declare their rule with (``dependencies=rules.app("sync")``)."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def require(
        self, resource: str, action: str, obj: ObjectOf | str = "*", *, itself: str = ""
    ) -> list[Any]:
        return [Depends(Require(self.server, resource, action, obj, itself=itself))]

    def authenticated(self) -> list[Any]:
        return [Depends(Authenticated(self.server))]

    def app(self, action: str) -> list[Any]:
        """An Application's ``action``; the object is ``<project>/<name>`` of the path's ``name``."""
        return self.require("applications", action, lambda r: self.server.app_object(r.path_params["name"]))

    def allows(self, request: Request, resource: str, action: str) -> Callable[[str], bool]:
        """Whether the request's principal may ``action`` each object (filters lists)."""
        principal = principal_of(request)
        access = self.server.access
        return lambda obj: access.allowed(principal, resource, action, obj)
