"""A source commit's trace: the recorded hops merged with what the store knows of its runs, in time
order, and the lead time for the change — from the commit (or, without its time, from the push) to the
first Healthy Application. Pure: the hops and run records come in, a :class:`Trace` comes out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gitloop.lineage.records import POST_SYNC, finished_hop, parse_time, title_of

HOP_ORDER = (
    "commit",
    "push",
    "pipelinerun",
    "pipelinerun-started",
    "pipelinerun-finished",
    "config-commit",
    "sync",
    "healthy",
    "post-sync",
    "post-sync-started",
    "post-sync-finished",
)


@dataclass(frozen=True)
class Trace:
    """One source commit's chain: hops in time order and the lead time for the change."""

    source: str
    repo: str
    hops: list[dict[str, Any]]
    lead_time: float | None
    """Seconds from the commit (or its push) to the first Healthy Application; ``None`` if not yet."""
    started_from: str
    """``commit`` or ``push``: where the lead time is counted from."""
    per_app: dict[str, float] = field(default_factory=dict)
    """Lead time to Healthy per Application."""
    message: str = ""
    """The commit's message as its push carried it (bounded plain text; ``""``: not known)."""
    author_name: str = ""
    author_email: str = ""

    @property
    def title(self) -> str:
        """The first line of :attr:`message`."""
        return title_of(self.message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sourceCommit": self.source,
            "repo": self.repo,
            "message": self.title,
            "fullMessage": self.message,
            "author": self.author_name,
            "authorEmail": self.author_email,
            "hops": self.hops,
            "leadTime": self.lead_time,
            "leadTimeFrom": self.started_from,
            "leadTimeByApplication": self.per_app,
        }


def _run_hops(name: str, manifest: Mapping[str, Any], known: set[str]) -> list[dict[str, Any]]:
    """Hops of a run known only from its store record (it was not started by a webhook); a post-sync
    pipeline's are ``post-sync-started``/``-finished``."""
    status = manifest.get("status") if isinstance(manifest.get("status"), dict) else {}
    prefix = POST_SYNC if POST_SYNC in known else "pipelinerun"
    hops: list[dict[str, Any]] = []
    started = parse_time(status.get("startTime")) if isinstance(status, dict) else None
    finished = parse_time(status.get("completionTime")) if isinstance(status, dict) else None
    if started is not None and f"{prefix}-started" not in known:
        hops.append({"hop": f"{prefix}-started", "time": started, "run": name, "from": "store"})
    if finished is not None and f"{prefix}-finished" not in known:
        hops.append({**finished_hop(prefix, name, manifest, finished), "from": "store"})
    return hops


def build_trace(
    source: str,
    recorded: list[dict[str, Any]],
    index: Mapping[str, Any],
    runs: Mapping[str, Mapping[str, Any]],
) -> Trace:
    """Merge the recorded hops (duplicates dropped), add run hops from the store, compute lead times."""
    hops: list[dict[str, Any]] = []
    seen: set[tuple[str, ...]] = set()
    for hop in recorded:
        key: tuple[str, ...] = (
            str(hop.get("hop")),
            str(hop.get("run") or hop.get("commit") or ""),
            str(hop.get("app", "")),
        )
        if hop.get("hop") == "sync":
            key += (str(hop.get("operation", "")),)
        if key in seen:
            continue
        seen.add(key)
        hops.append(hop)
    for name, manifest in runs.items():
        known = {str(h.get("hop")) for h in hops if h.get("run") == name}
        hops.extend(_run_hops(name, manifest, known))
    committed = next((float(h["committedAt"]) for h in hops if h.get("committedAt") is not None), None)
    if committed is not None:
        hops.append({"hop": "commit", "time": committed, "commit": source})
    rank = {name: i for i, name in enumerate(HOP_ORDER)}
    hops.sort(key=lambda h: (float(h.get("time") or 0.0), rank.get(str(h.get("hop")), 99)))
    pushed = next((float(h["time"]) for h in hops if h.get("hop") == "push"), None)
    origin, started_from = (committed, "commit") if committed is not None else (pushed, "push")
    per_app: dict[str, float] = {}
    for hop in hops:
        if hop.get("hop") == "healthy" and origin is not None:
            per_app.setdefault(str(hop.get("app", "")), float(hop["time"]) - origin)
    lead = min(per_app.values()) if per_app else None
    repo = str(index.get("repo") or next((h.get("repo") for h in hops if h.get("hop") == "push"), "") or "")
    facts = _commit_facts(index, hops)
    return Trace(
        source,
        repo,
        hops,
        lead,
        started_from if origin is not None else "",
        per_app,
        facts.get("message", ""),
        facts.get("authorName", ""),
        facts.get("authorEmail", ""),
    )


def _commit_facts(index: Mapping[str, Any], hops: list[dict[str, Any]]) -> dict[str, str]:
    """The commit's message and author: from its index, else from the first push that carried them
    (records written before they were kept have neither)."""
    for found in (index, *(h for h in hops if h.get("hop") == "push")):
        if found.get("message") or found.get("authorName") or found.get("authorEmail"):
            return {k: str(found.get(k) or "") for k in ("message", "authorName", "authorEmail")}
    return {}
