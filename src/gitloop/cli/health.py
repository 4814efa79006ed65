"""``gitloop health``: assess the health of Kubernetes objects in YAML files, by Argo CD's rules.

Give it live objects (``kubectl get ... -o yaml`` output, ``List`` kinds included); desired manifests
without a ``status`` mostly read as Progressing or Unknown. An object whose kind has no health rule is
reported with status ``null`` (``<none>`` in the table) and the message "no health check for this
kind": Argo CD gives such resources no health, and they do not count towards an Application's health.
"""

from __future__ import annotations

import json
import sys

import click

from gitloop.gitops.health import assess
from gitloop.model.resources import Manifest
from gitloop.spec.manifests import load_manifests, parse_manifests

NO_RULE_MESSAGE = "no health check for this kind"
_COLUMNS = ("KIND", "NAME", "STATUS", "MESSAGE")


def _load(path: str) -> list[tuple[str, Manifest]]:
    if path == "-":
        return parse_manifests(sys.stdin.read(), source="<stdin>")
    return load_manifests([path])


def _report(manifest: Manifest) -> dict[str, str | None]:
    result = assess(manifest)
    meta = manifest.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return {
        "kind": manifest["kind"],
        "name": name if isinstance(name, str) else "",
        "status": result.status.value if result else None,
        "message": result.message if result else NO_RULE_MESSAGE,
    }


def _table(rows: list[dict[str, str | None]]) -> str:
    cells = [list(_COLUMNS)] + [
        [r["kind"] or "", r["name"] or "", r["status"] or "<none>", r["message"] or ""] for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(_COLUMNS) - 1)]
    lines = ["   ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]]) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


@click.command()
@click.option(
    "-f",
    "--filename",
    "paths",
    multiple=True,
    required=True,
    metavar="PATH",
    help="A YAML/JSON file, a directory of them, or - for stdin; repeatable.",
)
@click.option(
    "-o",
    "--output",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="A table, or a JSON array of {kind, name, status, message}.",
)
def health(paths: tuple[str, ...], output: str) -> None:
    """Assess the health of every object in PATH ("-" for stdin), as Argo CD would."""
    rows = [_report(manifest) for path in paths for _, manifest in _load(path)]
    click.echo(json.dumps(rows, indent=2) if output == "json" else _table(rows))
