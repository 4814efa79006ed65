"""The ``/api/v1`` routes of sessions, accounts and project-role tokens, shaped as Argo CD's
``SessionService``, ``AccountService`` and ``ProjectService`` token calls.

Sessions: ``POST /api/v1/session`` (``{"username", "password"}`` → ``{"token"}``; it also sets the
``gitloop.token`` cookie, HttpOnly and SameSite=Strict, and the ``gitloop.csrf`` cookie a browser sends back
as ``X-CSRF-Token``; 401 ``Invalid username or password`` whatever was wrong, 429 with ``Retry-After``
after too many failures), ``DELETE /api/v1/session`` (ends the session; cookies cleared) and ``GET
/api/v1/session/userinfo`` (``{"loggedIn", "username", "iss"}``).

Accounts (an account may always read itself and manage its own tokens and password, as Argo CD's):
``GET /api/v1/account`` (``{"items": [...]}``, the accounts the caller may ``get``), ``GET
/api/v1/account/{name}`` (``{"name", "enabled", "capabilities", "tokens": [{"id", "issuedAt",
"expiresAt", "lastUsedAt", "scope", "description"}]}``), ``GET /api/v1/account/can-i/{resource}/{action}/
{object}`` (``{"value": "yes"|"no"}``), ``PUT /api/v1/account/password`` (``{"currentPassword",
"newPassword", "name"?}``), ``POST /api/v1/account/{name}/token`` (``{"expiresIn"?: seconds,
"description"?, "scope"?: ["resource:action", ...]}`` → ``{"token"}``, shown this once) and ``DELETE
/api/v1/account/{name}/token/{id}``.

Project roles: ``GET /api/v1/projects/{project}/roles/{role}/token`` (the role's tokens),
``POST .../token`` (``{"expiresIn"?, "description"?}`` → ``{"token"}``, acting as
``proj:<project>:<role>``) and ``DELETE .../token/{id}``; the caller needs ``projects, update`` (``get``
to list) on the project.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from gitloop.access.accounts import LoginFailed, LoginThrottled
from gitloop.api.access import COOKIE, CSRF_COOKIE, FILTERED, Rules, csrf_token, principal_of, source_of
from gitloop.errors import UsageError
from gitloop.service.server import NotFound, Server

PREFIX = "/api/v1"
BAD_LOGIN = "Invalid username or password"


class SessionBody(BaseModel):
    username: str = Field(max_length=256)
    password: str = Field(max_length=1024)


class PasswordBody(BaseModel):
    currentPassword: str = Field(max_length=1024)
    newPassword: str = Field(max_length=1024)
    name: str = ""


class TokenBody(BaseModel):
    expiresIn: int | None = Field(default=None, ge=0)
    """Seconds; 0 or absent: the token does not expire (Argo CD's)."""
    description: str = Field(default="", max_length=512)
    scope: list[str] = Field(default_factory=list, max_length=64)
    id: str = ""
    """Argo CD lets the caller name the token; gitloop names it itself and ignores this."""


def _expiry(body: TokenBody | None) -> float | None:
    return float(body.expiresIn) if body is not None and body.expiresIn else None


def router(server: Server, rules: Rules) -> APIRouter:
    """The session, account and project-role token routes of ``server``."""
    routes = APIRouter(prefix=PREFIX)
    access = server.access

    def account(action: str) -> list[Any]:
        return rules.require("accounts", action, lambda r: str(r.path_params["name"]), itself="name")

    def project(action: str) -> list[Any]:
        return rules.require("projects", action, lambda r: str(r.path_params["project"]))

    # -- sessions ---------------------------------------------------------------------------------

    @routes.post("/session")
    async def login(body: SessionBody, request: Request) -> Response:
        try:
            _account, token = access.login(body.username, body.password, source=source_of(request))
        except LoginThrottled as exc:
            wait = max(1, math.ceil(exc.retry_after))
            raise HTTPException(
                429, f"too many failed logins: try again in {wait}s", headers={"Retry-After": str(wait)}
            ) from None
        except LoginFailed:
            raise HTTPException(401, BAD_LOGIN) from None
        answer = JSONResponse({"token": token})
        secure = request.url.scheme == "https"
        age = int(access.auth.session_duration)
        answer.set_cookie(COOKIE, token, max_age=age, httponly=True, samesite="strict", secure=secure)
        answer.set_cookie(CSRF_COOKIE, csrf_token(token), max_age=age, samesite="strict", secure=secure)
        return answer

    @routes.delete("/session", dependencies=rules.authenticated())
    async def logout(request: Request) -> Response:
        access.logout(principal_of(request), source=source_of(request))
        answer = JSONResponse({})
        answer.delete_cookie(COOKIE)
        answer.delete_cookie(CSRF_COOKIE)
        return answer

    @routes.get("/session/userinfo")
    async def userinfo(request: Request) -> dict[str, Any]:
        header = request.headers.get("authorization", "")
        token = header.partition(" ")[2].strip() if header.lower().startswith("bearer ") else ""
        principal = access.principal(token or request.cookies.get(COOKIE) or None)
        if principal is None or principal.anonymous:
            return {"loggedIn": False}
        return {"loggedIn": True, "username": principal.subject, "iss": "gitloop"}

    # -- accounts ---------------------------------------------------------------------------------

    def shown(name: str) -> dict[str, Any]:
        found = access.accounts.get(name)
        if found is None:
            raise NotFound(f"account {name!r} not found")
        tokens = [t.to_dict() for t in access.tokens.list(subject=name, kinds=("api",))]
        return {**found.to_dict(), "capabilities": ["login", "apiKey"], "tokens": tokens}

    @routes.get("/account", dependencies=rules.require("accounts", "get", FILTERED))
    async def accounts(request: Request) -> dict[str, Any]:
        me = principal_of(request).subject
        allowed = rules.allows(request, "accounts", "get")
        names = [a.name for a in access.accounts.list() if a.name == me or allowed(a.name)]
        return {"items": [shown(name) for name in names]}

    @routes.get("/account/can-i/{resource}/{action}/{obj:path}", dependencies=rules.authenticated())
    async def can_i(resource: str, action: str, obj: str, request: Request) -> dict[str, str]:
        allowed = access.allowed(principal_of(request), resource, action, obj)
        return {"value": "yes" if allowed else "no"}

    @routes.put("/account/password", dependencies=rules.authenticated())
    async def password(body: PasswordBody, request: Request) -> dict[str, Any]:
        me = principal_of(request)
        name = body.name or me.subject
        if not me.permits("accounts", "update"):
            raise HTTPException(403, "permission denied: the token's scope has no accounts:update")
        if name != me.subject and not access.allowed(me, "accounts", "update", name):
            raise HTTPException(403, f"permission denied: accounts, update, {name}")
        try:
            access.accounts.login(me.subject, body.currentPassword)
        except (LoginFailed, LoginThrottled):
            raise UsageError("currentPassword: not the password of the account") from None
        access.accounts.set_password(name, body.newPassword)
        access.audit.record(
            user=me.subject, action="accounts.update-password", object=name, source=source_of(request)
        )
        return {}

    @routes.get("/account/{name}", dependencies=account("get"))
    async def account_get(name: str) -> dict[str, Any]:
        return shown(name)

    @routes.post("/account/{name}/token", dependencies=account("update"))
    async def account_token(name: str, request: Request, body: TokenBody | None = None) -> dict[str, str]:
        try:
            info, token = access.account_token(
                name,
                expires_in=_expiry(body),
                scope=tuple(body.scope) if body is not None else (),
                description=body.description if body is not None else "",
            )
        except LookupError as exc:
            raise NotFound(str(exc)) from None
        request.state.audit_action, request.state.audit_details = "accounts.token.create", {"id": info.id}
        return {"token": token}

    @routes.delete("/account/{name}/token/{token_id}", dependencies=account("update"))
    async def account_revoke(name: str, token_id: str, request: Request) -> dict[str, Any]:
        if not access.tokens.revoke(token_id, subject=name):
            raise NotFound(f"account {name!r} has no token {token_id!r}")
        request.state.audit_action, request.state.audit_details = "accounts.token.revoke", {"id": token_id}
        return {}

    # -- project roles ----------------------------------------------------------------------------

    def role_subject(project_name: str, role: str) -> str:
        found = next((p for p in server.projects() if p.name == project_name), None)
        if found is None:
            raise NotFound(f"no AppProject named {project_name!r}")
        if not any(r.name == role for r in found.roles):
            raise NotFound(f"AppProject {project_name} has no role {role!r}")
        return f"proj:{project_name}:{role}"

    @routes.get("/projects/{project}/roles/{role}/token", dependencies=project("get"))
    async def role_tokens(project: str, role: str) -> dict[str, Any]:
        subject = role_subject(project, role)
        return {"items": [t.to_dict() for t in access.tokens.list(subject=subject, kinds=("project",))]}

    @routes.post("/projects/{project}/roles/{role}/token", dependencies=project("update"))
    async def role_token(
        project: str, role: str, request: Request, body: TokenBody | None = None
    ) -> dict[str, str]:
        subject = role_subject(project, role)
        if body is not None and body.scope:
            raise UsageError("scope: a project role's token is limited by the role's policies")
        info, token = access.project_token(
            subject, expires_in=_expiry(body), description=body.description if body is not None else ""
        )
        request.state.audit_action = "projects.token.create"
        request.state.audit_details = {"id": info.id, "role": subject}
        return {"token": token}

    @routes.delete("/projects/{project}/roles/{role}/token/{token_id}", dependencies=project("update"))
    async def role_revoke(project: str, role: str, token_id: str, request: Request) -> dict[str, Any]:
        subject = role_subject(project, role)
        if not access.tokens.revoke(token_id, subject=subject):
            raise NotFound(f"role {subject} has no token {token_id!r}")
        request.state.audit_action = "projects.token.revoke"
        request.state.audit_details = {"id": token_id, "role": subject}
        return {}

    return routes
