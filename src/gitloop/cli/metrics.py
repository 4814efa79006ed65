"""``gitloop metrics dora``: DORA's four keys per Application and per environment over a window, read
from the store directly (``--config SERVE.yaml`` / ``--database-url``, as ``gitloop account``) or
asked of a server (``--server URL``: ``GET /api/v1/metrics/dora``). ``-o json`` prints the report
(``since``, ``until``, ``failureWindowSeconds``, ``applications``, ``environments``). How each figure
is computed: ``docs/dora.md``; the computation is ``gitloop.lineage.dora``, the reading
``gitloop.service.dora``; this module reads flags and prints.
"""

from __future__ import annotations

import json
import time
from typing import Any

import click

from gitloop.cli.account import opened_store, store_options
from gitloop.cli.app_output import table
from gitloop.cli.client_tls import client_tls, server_options
from gitloop.errors import UsageError


@click.group("metrics")
def metrics() -> None:
    """Delivery metrics from the lineage and the sync history."""


def _duration(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 120:
        return f"{value:.0f}s"
    if value < 7200:
        return f"{value / 60:.1f}m"
    if value < 172800:
        return f"{value / 3600:.1f}h"
    return f"{value / 86400:.1f}d"


def _rows(items: list[dict[str, Any]], kind: str) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for item in items:
        rate = item.get("changeFailureRate")
        restore = item["timeToRestore"]
        rows.append(
            (
                kind,
                str(item["name"]),
                str(item["deployments"]),
                f"{item['deploymentFrequencyPerDay']:.2f}",
                _duration(item["leadTime"]["median"]),
                _duration(item["leadTime"]["p90"]),
                "-" if rate is None else f"{rate * 100:.0f}% ({item['failedDeployments']})",
                _duration(restore["median"])
                + (f" ({restore['unrestored']} open)" if restore["unrestored"] else ""),
            )
        )
    return rows


def render_table(report: dict[str, Any]) -> str:
    """The report as a table: one row per environment, then one per Application."""
    headers = ["SCOPE", "NAME", "DEPLOYS", "PER DAY", "LEAD p50", "LEAD p90", "FAILURE RATE", "RESTORE p50"]
    rows = _rows(report["environments"], "env") + _rows(report["applications"], "app")
    if not rows:
        return "no deployments recorded"
    return table(headers, rows)


@metrics.command("dora")
@click.option("--app", "app_name", metavar="NAME", help="Only this Application (and its environment).")
@click.option("--env", metavar="ENV", help="Only this environment (an Application name's last -suffix).")
@click.option(
    "--since", default="30d", show_default=True, metavar="DURATION|TIME", help="The window's start."
)
@click.option(
    "--failure-window",
    default="1h",
    show_default=True,
    metavar="DURATION",
    help="How long after a deployment a failure counts against it.",
)
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@store_options
@server_options(help="Ask this gitloop server's API instead of reading a store (default: $GITLOOP_SERVER).")
def dora(
    app_name: str | None,
    env: str | None,
    since: str,
    failure_window: str,
    output: str,
    config_file: str | None,
    database_url: str | None,
    server: str | None,
    auth_token: str | None,
) -> None:
    """Deployment frequency, lead time, change failure rate and time to restore."""
    from gitloop.service.dora import dora_report, parse_window
    from gitloop.spec.duration import parse_since

    now = time.time()
    start = parse_since(since, now=now)
    window = parse_window(failure_window)
    if server:
        if config_file or database_url:
            raise UsageError(
                "--server and --config/--database-url exclude each other: the server reads its own store"
            )
        from gitloop.service.client import ApiClient

        params = {"since": since, "failureWindow": failure_window}
        params.update({k: v for k, v in (("app", app_name), ("env", env)) if v})
        with ApiClient(server, auth_token, tls=client_tls()) as client:
            report = client.dora(params)
    else:
        with opened_store(config_file, database_url) as store:
            found = dora_report(store, since=start, until=now, app=app_name, env=env, failure_window=window)
        report = found.to_dict()
    if output == "json":
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(render_table(report))
