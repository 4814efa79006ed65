"""``gitloop audit``: the audit trail (who did what, to which object, when, from where), read from the
store directly, like ``gitloop account``. ``-o json`` prints a list of entries with the keys
``id, time, user, action, object, source, outcome, details``."""

from __future__ import annotations

import datetime as dt
import json
import time

import click

from gitloop.access.audit import AuditLog
from gitloop.cli.account import opened_store, store_options
from gitloop.cli.app_output import table
from gitloop.errors import UsageError
from gitloop.spec.duration import parse_duration


def parse_since(text: str, *, now: float) -> float:
    """Seconds since the epoch from a duration back from ``now`` (``1h``, ``30m``, ``2d``) or an
    RFC 3339 time (``2026-01-02T03:04:05Z``)."""
    try:
        if text.endswith("d") and text[:-1].isdigit():
            return now - int(text[:-1]) * 86400.0
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"--since {text!r}: expected a duration (1h, 30m, 2d) or an RFC 3339 time") from exc
    if moment.tzinfo is None:
        raise UsageError(f"--since {text!r}: an RFC 3339 time needs its offset (Z or +hh:mm)")
    return moment.timestamp()


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
