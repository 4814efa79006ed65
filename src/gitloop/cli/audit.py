"""``gitloop audit``: the audit trail (who did what, to which object, when, from where), read from the
store directly, like ``gitloop account``. ``-o json`` prints a list of entries with the keys
``id, time, user, action, object, source, outcome, details``."""

from __future__ import annotations

import json
import time

import click

from gitloop.access.audit import AuditLog
from gitloop.cli.account import opened_store, store_options
from gitloop.cli.app_output import table
from gitloop.spec.duration import parse_since


@click.command("audit")
@store_options
@click.option("--since", metavar="DURATION|TIME", help="Only entries since then (1h, 2d, or RFC 3339).")
@click.option("--user", metavar="USER", help="Only entries by this user.")
@click.option("--limit", type=click.IntRange(min=0), help="Only the newest N entries.")
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def audit(
    config_file: str | None,
    database_url: str | None,
    since: str | None,
    user: str | None,
    limit: int | None,
    output: str,
) -> None:
    """The audit trail, oldest first."""
    start = parse_since(since, now=time.time()) if since else None
    with opened_store(config_file, database_url) as store:
        entries = AuditLog(store).entries(since=start, user=user, limit=limit)
    if output == "json":
        click.echo(json.dumps([e.to_dict() for e in entries], indent=2))
        return
    rows = [
        (
            e.to_dict()["time"],
            e.user or "-",
            e.action,
            e.object or "-",
            e.source or "-",
            e.outcome,
            " ".join(f"{k}={v}" for k, v in sorted(e.details.items())),
        )
        for e in entries
    ]
    click.echo(table(["TIME", "USER", "ACTION", "OBJECT", "SOURCE", "OUTCOME", "DETAILS"], rows))
