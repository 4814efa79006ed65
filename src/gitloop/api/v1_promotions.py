"""The ``/api/v1/promotions`` routes: promotions along the PromotionChains (``docs/promotion.md``).

Routes (RBAC resource ``promotions``, object ``<chain>/<stage>`` of the stage promoted into):
``GET /api/v1/promotions`` (``{"items": [...]}``, newest first, only those the caller may ``get``),
``GET /api/v1/promotions/{name}`` (its id) (``get``), ``POST /api/v1/promotions`` (``create``; body ``{"target":
APP|CHAIN, "to": STAGE, "commit"?: SHA}``: starts one, or answers the one already open for that commit),
``POST /api/v1/promotions/{name}/approve`` and ``.../reject`` (``approve``; the approver is the
authenticated principal). An approval the stage's rules refuse (the author, a missing role) is 403 with
the reason; a promotion no longer waiting is 409; an unknown one 404. Every change is audited by its rule.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.exceptions import HTTPException

from gitloop.api.access import DEFERRED, FILTERED, Rules, permit, principal_of
from gitloop.errors import UsageError
from gitloop.promote import ApprovalRefused, Promotion, PromotionError
from gitloop.service.server import Server
from gitloop.service.server.promotions import PromotionNotFound, ServedPromotions, matching, shown
from gitloop.spec.yaml import load_json

PREFIX = "/api/v1"
_CREATE_KEYS = ("target", "to", "commit")


def router(server: Server, rules: Rules) -> APIRouter:
    """The promotion routes of ``server`` (404 for each when it serves no Applications)."""
    routes = APIRouter(prefix=PREFIX)

    def served() -> ServedPromotions:
        if server.promotions is None:
            raise HTTPException(404, "this server serves no Applications, so no promotions")
        return server.promotions

    def object_of(request: Request) -> str:
        found = server.promotions.records.get(request.path_params["name"]) if server.promotions else None
        return found.rule_object if found is not None else "-/-"

    async def call(work: Callable[[], Promotion], request: Request) -> dict[str, Any]:
        try:
            return shown(await asyncio.to_thread(work))
        except PromotionNotFound as exc:
            raise HTTPException(404, str(exc)) from exc
        except ApprovalRefused as exc:
            request.state.denied = True
            raise HTTPException(403, str(exc)) from exc
        except PromotionError as exc:
            raise HTTPException(409, str(exc)) from exc

    @routes.get("/promotions", dependencies=rules.require("promotions", "get", FILTERED))
    async def list_promotions(request: Request) -> dict[str, Any]:
        allowed = rules.allows(request, "promotions", "get")
        found = await asyncio.to_thread(served().list)
        return {"items": [shown(p) for p in matching(found, allowed)]}

    @routes.get("/promotions/{name}", dependencies=rules.require("promotions", "get", object_of))
    async def get_promotion(name: str, request: Request) -> dict[str, Any]:
        return await call(lambda: served().get(name), request)

    @routes.post("/promotions", dependencies=rules.require("promotions", "create", DEFERRED))
    async def create_promotion(request: Request) -> dict[str, Any]:
        body = await _body(request)
        target, to = _string(body, "target", required=True), _string(body, "to", required=True)
        promotions = server.promotions
        chain = None
        if promotions is not None:
            with contextlib.suppress(PromotionNotFound):
                chain = await asyncio.to_thread(promotions.chain_of, target)
        # the permission first: who may not create learns nothing of what exists
        principal = permit(server, request, "promotions", "create", f"{chain.name if chain else target}/{to}")
        commit = _string(body, "commit")
        return await call(
            lambda: served().create(target, to, commit, requested_by=principal.subject), request
        )

    @routes.post("/promotions/{name}/approve", dependencies=rules.require("promotions", "approve", object_of))
    async def approve(name: str, request: Request) -> dict[str, Any]:
        user = principal_of(request).subject
        request.state.audit_action = "promotions.approve"
        return await call(lambda: served().approve(name, user), request)

    @routes.post("/promotions/{name}/reject", dependencies=rules.require("promotions", "approve", object_of))
    async def reject(name: str, request: Request) -> dict[str, Any]:
        user = principal_of(request).subject
        request.state.audit_action = "promotions.reject"
        return await call(lambda: served().reject(name, user), request)

    return routes


async def _body(request: Request) -> dict[str, Any]:
    """The request's JSON object through the bounded loader; ``UsageError`` (400) otherwise."""
    try:
        parsed = load_json(await request.body(), source="the request body")
    except ValueError as exc:
        raise UsageError(f"the body must be a JSON object: {{target, to, commit}} ({exc})") from exc
    if not isinstance(parsed, dict):
        raise UsageError("the body must be a JSON object: {target, to, commit}")
    unknown = sorted(set(parsed) - set(_CREATE_KEYS))
    if unknown:
        raise UsageError(f"unknown field(s) {', '.join(unknown)} (known: {', '.join(_CREATE_KEYS)})")
    return parsed


def _string(body: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise UsageError(f"{key}: required field is missing")
        return ""
    if not isinstance(value, str):
        raise UsageError(f"{key}: must be a string")
    return value
