"""What ``gitloop app`` prints, made from Argo CD-shaped JSON only, so both modes print the same.

Every function takes what ``gitloop.gitops.shapes`` builds (and ``/api/v1`` answers): an
``argoproj.io/v1alpha1`` Application, or the ``managed-resources`` items of a comparison. The local mode
(``-f``) shapes the engine's state first; the server mode (``--server``) prints the server's answer.
Fields Argo CD has no name for are read from the ``gitloop`` keys the shape adds.
"""

from __future__ import annotations

import calendar
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from gitloop.spec.yaml import load_json

Json = Mapping[str, Any]


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart; the last column is not padded."""
    cells = [list(headers), *[list(r) for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers) - 1)]
    lines = ["  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]]) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def short(revisions: Sequence[str]) -> str:
    """Revisions as seven-character SHAs, comma-separated; ``-`` for none."""
    return ",".join(r[:7] for r in revisions) or "-"


def revisions(obj: Json | None) -> list[str]:
    """``revisions`` (several sources) or ``revision`` of a sync status, operation or history entry."""
    if not obj:
        return []
    if "revisions" in obj:
        return [str(r) for r in obj.get("revisions") or []]
    return [str(obj.get("revision") or "")]


def _status(app: Json) -> Json:
    return app.get("status") or {}


def _spec(app: Json) -> Json:
    return app.get("spec") or {}


def _source(spec: Json) -> Json:
    sources = spec.get("sources")
    if isinstance(sources, list):
        return sources[0] if sources else {}
    return spec.get("source") or {}


def _cluster(spec: Json) -> str:
    destination = spec.get("destination") or {}
    return str(destination.get("server") or destination.get("name") or "")


def _namespace(spec: Json) -> str:
    return str((spec.get("destination") or {}).get("namespace") or "")


def policy(spec: Json) -> str:
    """``Manual``, or ``Automated`` with its Prune and SelfHeal flags."""
    automated = (spec.get("syncPolicy") or {}).get("automated")
    if not isinstance(automated, Mapping) or automated.get("enabled", True) is False:
        return "Manual"
    flags = [n for n, key in (("Prune", "prune"), ("SelfHeal", "selfHeal")) if automated.get(key)]
    return f"Automated ({', '.join(flags)})" if flags else "Automated"


def sync_status(app: Json) -> str:
    return str((_status(app).get("sync") or {}).get("status") or "Unknown")


def health_status(app: Json) -> str:
    return str((_status(app).get("health") or {}).get("status") or "Unknown")


def app_revisions(app: Json) -> list[str]:
    return revisions(_status(app).get("sync"))


def _conditions(app: Json) -> list[Json]:
    return list(_status(app).get("conditions") or [])


def describe(app: Json) -> str:
    """``gitloop app get``: the Application, its status, last operation and resources."""
    spec, status = _spec(app), _status(app)
    source = _source(spec)
    target = str(source.get("targetRevision") or "HEAD")
    health = status.get("health") or {}
    lines = [
        ("Name", str((app.get("metadata") or {}).get("name", ""))),
        ("Project", str(spec.get("project", ""))),
        ("Server", _cluster(spec)),
        ("Namespace", _namespace(spec)),
        ("Repo", str(source.get("repoURL", ""))),
        ("Target", target),
        ("Path", str(source.get("path") or source.get("chart") or "")),
        ("Sync Policy", policy(spec)),
        ("Sync Status", f"{sync_status(app)} to {target} ({short(app_revisions(app))})"),
        (
            "Health Status",
            health_status(app) + (f" ({health['message']})" if health.get("message") else ""),
        ),
    ]
    paused = str((status.get("gitloop") or {}).get("autoSyncPausedAt") or "")
    if paused:
        lines.append(("Auto-sync", f"paused after a rollback until git moves past {paused[:7]}"))
    text = "\n".join(f"{k + ':':<17}{v}" for k, v in lines)
    conditions = _conditions(app)
    if conditions:
        text += "\n\nCONDITION\n" + "\n".join(f"{c.get('type')}: {c.get('message', '')}" for c in conditions)
    op = status.get("operationState")
    if op:
        initiated = (op.get("operation") or {}).get("initiatedBy") or {}
        who = "automated" if initiated.get("automated") else (initiated.get("username") or "user")
        asked = (op.get("operation") or {}).get("sync")
        text += f"\n\nLast operation:   {op.get('phase')} ({who}, {short(revisions(asked))}): {op.get('message', '')}"
    rows = [
        [
            str(r.get("group", "")),
            str(r.get("kind", "")),
            str(r.get("namespace", "")),
            str(r.get("name", "")),
            str(r.get("status", "")) + (" (prune)" if r.get("requiresPruning") else ""),
            str((r.get("health") or {}).get("status", "")),
            str((r.get("gitloop") or {}).get("message", "")),
        ]
        for r in status.get("resources") or []
    ]
    return text + "\n\n" + table(["GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", "MESSAGE"], rows)


def app_table(apps: Sequence[Json]) -> str:
    """``gitloop app list``: one row per Application."""
    rows = [
        [
            str((a.get("metadata") or {}).get("name", "")),
            str(_spec(a).get("project", "")),
            _cluster(_spec(a)),
            _namespace(_spec(a)),
            sync_status(a),
            health_status(a),
            short(app_revisions(a)),
            ",".join(str(c.get("type")) for c in _conditions(a)),
        ]
        for a in apps
    ]
    return table(
        ["NAME", "PROJECT", "CLUSTER", "NAMESPACE", "SYNC", "HEALTH", "REVISION", "CONDITIONS"], rows
    )


def as_json(value: Any) -> str:
    return json.dumps(value, indent=2)


def status_line(app: Json, *, conditions: bool = False) -> str:
    """``NAME: SYNC (REVISION), HEALTH``; with ``conditions``, followed by them."""
    name = (app.get("metadata") or {}).get("name", "")
    line = f"{name}: {sync_status(app)} ({short(app_revisions(app))}), {health_status(app)}"
    if not conditions:
        return line
    found = "; ".join(f"{c.get('type')}: {c.get('message', '')}" for c in _conditions(app))
    return f"{line}{'  ' + found if found else ''}"


def reverted(app: Json) -> str:
    """``gitloop app rollback --revert``: the commit reverted, the revert pushed, then the Application."""
    done = app.get("revert") or {}
    what = f'{str(done.get("revertOf", ""))[:12]} "{done.get("subject", "")}"'
    if not done.get("commit"):
        head = f"Nothing to revert: {done.get('branch')} of {done.get('repository')} no longer has {what}"
    else:
        head = (
            f"Reverted {what}: commit {str(done['commit'])[:12]} on {done.get('branch')} of "
            f"{done.get('repository')}"
        )
    return f"{head}\n{status_line(app)}"


def operation(app: Json) -> str:
    """``gitloop app sync`` / ``rollback``: the operation's phase, revision, message and results."""
    op = _status(app).get("operationState") or {}
    result = op.get("syncResult") or {}
    rows = [
        [
            str(r.get("group", "")),
            str(r.get("kind", "")),
            str(r.get("namespace", "")),
            str(r.get("name", "")),
            str(r.get("status") or ""),
            str(r.get("hookType") or ""),
            str(r.get("syncPhase", "")),
            str((r.get("gitloop") or {}).get("wave", 0)),
            str(r.get("message", "")),
        ]
        for r in result.get("resources") or []
    ]
    head = f"Operation {(op.get('gitloop') or {}).get('id', '')}: {op.get('phase', '')}"
    if op.get("retryCount"):
        head += f" after {op['retryCount']} retries"
    asked = (op.get("operation") or {}).get("sync")
    head += f"\nRevision: {short(revisions(asked))}\nMessage: {op.get('message', '')}"
    headers = ["GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HOOK", "PHASE", "WAVE", "MESSAGE"]
    return f"{head}\n\n{table(headers, rows)}" if rows else head


def operation_succeeded(app: Json) -> bool:
    return ((_status(app).get("operationState") or {}).get("phase")) == "Succeeded"


def _local_time(stamp: str | None) -> str:
    """An RFC 3339 UTC time as local ``YYYY-mm-dd HH:MM:SS``."""
    if not stamp:
        return ""
    seconds = calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def history_table(app: Json) -> str:
    """``gitloop app history``: the Application's ``status.history``, oldest first."""
    rows = []
    for entry in _status(app).get("history") or []:
        ours = entry.get("gitloop") or {}
        who = entry.get("initiatedBy") or {}
        rollback = ours.get("rollbackOf")
        message = str(ours.get("message") or "")
        rows.append(
            [
                str(entry.get("id", "")),
                _local_time(entry.get("deployedAt")),
                (revisions(entry) or [""])[0][:12],
                "automated" if who.get("automated") else str(who.get("username", "")),
                str(ours.get("phase", "")),
                f"rollback to {rollback}" if rollback is not None else "",
                message.splitlines()[0] if message else "",
            ]
        )
    return table(["ID", "DATE", "REVISION", "INITIATED BY", "PHASE", "NOTE", "COMMIT"], rows)


def _state(text: Any) -> Any:
    """A ``*State`` JSON string of a managed resource; ``None`` for none."""
    return load_json(text, source="a managed resource's state") if isinstance(text, str) and text else None


def diff_text(items: Sequence[Json]) -> str:
    """``gitloop app diff``: a unified diff of normalised live against predicted live per resource."""
    from gitloop.gitops.diff import ResourceDiff, unified_diff
    from gitloop.model.resources import ResourceKey
    from gitloop.model.sync import SyncStatus

    texts = []
    for item in items:
        key = ResourceKey(
            str(item.get("group", "")),
            str(item.get("kind", "")),
            str(item.get("namespace", "")),
            str(item.get("name", "")),
        )
        status = SyncStatus.OUT_OF_SYNC if item.get("modified") else SyncStatus.SYNCED
        live, predicted = _state(item.get("normalizedLiveState")), _state(item.get("predictedLiveState"))
        text = unified_diff(ResourceDiff(key, status, live=live, predicted=predicted))
        if text:
            texts.append(text)
    return "".join(f"===== {t.splitlines()[0][6:]} ======\n{t}" for t in texts)


_STATES = ("targetState", "liveState", "normalizedLiveState", "predictedLiveState")


def differs(items: Sequence[Json]) -> bool:
    """Whether any managed resource is out of sync (``gitloop app diff`` exits 1): modified, or not
    compared at all (no state on any side: its comparison failed, its sync status is Unknown)."""
    return any(item.get("modified") or all(_state(item.get(k)) is None for k in _STATES) for item in items)


def live_states(items: Sequence[Json]) -> list[Any]:
    """The live objects of ``managed-resources`` items (those that exist), ordered by group, kind,
    namespace and name."""
    ordered = sorted(
        items, key=lambda i: tuple(str(i.get(k, "")) for k in ("group", "kind", "namespace", "name"))
    )
    return [state for state in (_state(i.get("liveState")) for i in ordered) if state is not None]


def manifests_yaml(manifests: Sequence[Any]) -> str:
    """Manifests as a stream of YAML documents, keys in their order."""
    import yaml

    return str(yaml.safe_dump_all(list(manifests), sort_keys=False))
