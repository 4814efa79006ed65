"""``gitloop promote``, ``gitloop approve`` and ``gitloop promotion list|get``: promotions along the
PromotionChains of a gitloop server (``docs/promotion.md``), clients of its ``/api/v1/promotions``
(``--server URL`` or ``$GITLOOP_SERVER``, ``--auth-token`` or ``$GITLOOP_AUTH_TOKEN`` or the session
``gitloop login`` saved).

``promote APP|CHAIN --to STAGE [--commit SHA]`` starts a promotion (of the source commit the stage before
runs, by default); into a manual stage it waits for approvals. ``approve PROMOTION [--reject]`` approves
(or rejects, which ends it) as the logged-in user. Exit 1 when the server refuses (a 403 says why).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import click

from gitloop.cli.client_tls import client_tls, server_options
from gitloop.service.client import ApiClient

_server = server_options(help="The gitloop server (default: $GITLOOP_SERVER).", required=True)
_output = click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table")
COLUMNS = ("ID", "CHAIN", "FROM", "TO", "COMMIT", "STATE", "APPROVED BY", "MESSAGE")


class PromotionsClient(ApiClient):
    """The ``/api/v1/promotions`` calls."""

    def promotions(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/api/v1/promotions").get("items") or [])

    def promotion(self, promotion_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self._call("GET", f"/api/v1/promotions/{quote(promotion_id, safe='')}")
        return found

    def start(self, target: str, to: str, commit: str) -> dict[str, Any]:
        body = {"target": target, "to": to, **({"commit": commit} if commit else {})}
        found: dict[str, Any] = self._call("POST", "/api/v1/promotions", json=body)
        return found

    def decide(self, promotion_id: str, verdict: str) -> dict[str, Any]:
        found: dict[str, Any] = self._call(
            "POST", f"/api/v1/promotions/{quote(promotion_id, safe='')}/{verdict}"
        )
        return found


def _with(server: str, auth_token: str | None, action: Callable[[PromotionsClient], Any]) -> Any:
    client = PromotionsClient(server, auth_token, tls=client_tls())
    try:
        return action(client)
    finally:
        client.close()


def row(promotion: Mapping[str, Any]) -> tuple[str, ...]:
    """One line of ``promotion list``."""
    approvers = ",".join(str(a.get("user", "")) for a in promotion.get("approvals") or [])
    return (
        str(promotion.get("id", "")),
        str(promotion.get("chain", "")),
        str(promotion.get("from", "")),
        str(promotion.get("to", "")),
        str(promotion.get("sourceCommit", ""))[:12],
        str(promotion.get("state", "")),
        approvers or "-",
        str(promotion.get("message", "")),
    )


def table(rows: Sequence[tuple[str, ...]]) -> str:
    every = [COLUMNS, *rows]
    widths = [max(len(r[i]) for r in every) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in every)


def _show(found: Mapping[str, Any], output: str) -> None:
    if output == "json":
        click.echo(json.dumps(found, indent=2))
        return
    click.echo(table([row(found)]))


@click.command("promote")
@click.argument("target", metavar="APP|CHAIN")
@click.option("--to", "to", required=True, metavar="STAGE", help="The stage to promote into.")
@click.option(
    "--commit", default="", metavar="SHA", help="The source commit (default: the upstream stage's)."
)
@_output
@_server
def promote(target: str, to: str, commit: str, output: str, server: str, auth_token: str | None) -> None:
    """Promote all images of one source commit into STAGE of the chain of APP (or of CHAIN)."""
    found = _with(server, auth_token, lambda c: c.start(target, to, commit))
    _show(found, output)


@click.command("approve")
@click.argument("promotion_id", metavar="PROMOTION")
@click.option("--reject", is_flag=True, help="Reject it instead: the promotion ends (Rejected).")
@_output
@_server
def approve(promotion_id: str, reject: bool, output: str, server: str, auth_token: str | None) -> None:
    """Approve PROMOTION as the logged-in user (or reject it)."""
    found = _with(server, auth_token, lambda c: c.decide(promotion_id, "reject" if reject else "approve"))
    _show(found, output)


@click.group("promotion")
def promotion() -> None:
    """Promotions along the PromotionChains."""


@promotion.command("list")
@_output
@_server
def list_promotions(output: str, server: str, auth_token: str | None) -> None:
    """Every promotion you may see, newest first."""
    found = _with(server, auth_token, lambda c: c.promotions())
    if output == "json":
        click.echo(json.dumps(found, indent=2))
    else:
        click.echo(table([row(p) for p in found]))


@promotion.command("get")
@click.argument("promotion_id", metavar="ID")
@_output
@_server
def get(promotion_id: str, output: str, server: str, auth_token: str | None) -> None:
    """One promotion: its state, images, approvals and config commit."""
    _show(_with(server, auth_token, lambda c: c.promotion(promotion_id)), output)
