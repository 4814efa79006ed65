"""What the UI's Changes and Environments views are answered with, built purely from the lineage's trace,
the promotions and the PromotionChains: a change's summary (the commit search: its message's first line
and its author, as the push carried them, else the author of its promotions), its chain split into one
timeline per environment, and the environments grouped into chains and application families.

A hop belongs to an environment (an Application) when it names it (``sync``, ``healthy``, the post-sync
hops, and a post-sync run's hops read from the store), and a ``config-commit`` when that Application synced
it or a promotion into it landed it; the rest (``commit``, ``push``, the pipeline's hops and config
commits no Application synced yet) is the build, shared by every environment. Promotions add their own
events (``promotion-created``, ``promotion-approved``, ``promotion-<state>``) to the environment they
promote into. The stages of a chain the change entered are all listed, those it has not reached yet with
no events. Environments follow their chain's order, then the time they were first reached.

An application family is the Applications outside every PromotionChain whose names differ only in their
last ``-segment`` (``web-dev``, ``web-staging``, ``web-prod`` → family ``web``), two or more of them; its
stages are ordered by the usual environment order (dev, test, qa, staging, preprod, prod) then by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gitloop.lineage import Trace
from gitloop.spec.gitloop_promotion import ApprovalGate, AutoGate, PromotionChain, Stage

APP_HOPS = frozenset({"sync", "healthy", "post-sync", "post-sync-started", "post-sync-finished"})
ENVIRONMENT_ORDER = (
    "dev",
    "development",
    "test",
    "testing",
    "qa",
    "int",
    "integration",
    "uat",
    "stage",
    "staging",
    "preprod",
    "pre-prod",
    "prod",
    "production",
)


def run_state(hops: Iterable[Mapping[str, Any]], run: str) -> str:
    """``Succeeded``, ``Failed``, ``Running`` or ``Pending`` for ``run`` as its hops tell."""
    state = "Pending"
    for hop in hops:
        if hop.get("run") != run:
            continue
        kind = str(hop.get("hop", ""))
        if kind.endswith("-finished"):
            return "Succeeded" if hop.get("status") == "True" else "Failed"
        if kind.endswith("-started"):
            state = "Running"
    return state


def _run_apps(hops: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Each post-sync run's Application (a run's hops read from the store do not name it)."""
    return {str(h["run"]): str(h["app"]) for h in hops if h.get("run") and h.get("app")}


def _config_apps(
    hops: Sequence[Mapping[str, Any]], promotions: Sequence[Mapping[str, Any]]
) -> dict[str, str]:
    """Each config commit's Application: the one that synced it, else the promotion that landed it."""
    found = {str(p["configCommit"]): str(p["application"]) for p in promotions if p.get("configCommit")}
    for hop in hops:
        if hop.get("hop") == "sync" and hop.get("revision"):
            found.setdefault(str(hop["revision"]), str(hop.get("app", "")))
    return found


def _promotion_events(promotion: Mapping[str, Any]) -> list[dict[str, Any]]:
    ident = str(promotion.get("id", ""))
    events: list[dict[str, Any]] = [
        {
            "hop": "promotion-created",
            "time": promotion.get("created"),
            "promotion": ident,
            "from": promotion.get("from"),
            "requestedBy": promotion.get("requestedBy", ""),
        }
    ]
    for approval in promotion.get("approvals") or ():
        events.append(
            {
                "hop": "promotion-approved",
                "time": approval.get("time"),
                "promotion": ident,
                "user": approval.get("user"),
            }
        )
    if promotion.get("finished") is not None:
        events.append(
            {
                "hop": f"promotion-{str(promotion.get('state', '')).lower()}",
                "time": promotion.get("finished"),
                "promotion": ident,
                "message": promotion.get("message", ""),
                "rejectedBy": promotion.get("rejectedBy", ""),
            }
        )
    return events


def _time(event: Mapping[str, Any]) -> float:
    value = event.get("time")
    return float(value) if isinstance(value, int | float) else 0.0


def change_timelines(
    trace: Trace, promotions: Sequence[Mapping[str, Any]], chains: Iterable[PromotionChain]
) -> dict[str, Any]:
    """The trace with its hops split into the build and one timeline per environment."""
    hops = trace.hops
    run_apps, config_apps = _run_apps(hops), _config_apps(hops, promotions)
    chains = list(chains)
    stage_of = {s.application: (c.name, s.name, i) for c in chains for i, s in enumerate(c.stages)}
    build: list[dict[str, Any]] = []
    per_app: dict[str, list[dict[str, Any]]] = {}
    for hop in hops:
        kind = str(hop.get("hop", ""))
        app = ""
        if kind in APP_HOPS:
            app = str(hop.get("app") or run_apps.get(str(hop.get("run", "")), ""))
        elif kind == "config-commit":
            app = config_apps.get(str(hop.get("commit", "")), "")
        if app:
            per_app.setdefault(app, []).append(hop)
        else:
            build.append(hop)
    for promotion in promotions:
        per_app.setdefault(str(promotion.get("application", "")), []).extend(_promotion_events(promotion))
    for entered in chains:  # the stages of a chain the change entered that it has not reached yet
        if any(s.application in per_app for s in entered.stages):
            for later in entered.stages:
                per_app.setdefault(later.application, [])
    ordered: list[tuple[tuple[int, float, str], dict[str, Any]]] = []
    for app, events in per_app.items():
        events.sort(key=_time)
        chain, stage, index = stage_of.get(app, ("", "", 1 << 16))
        first = {str(e.get("hop")): e for e in reversed(events)}
        order = (index, _time(events[0]) if events else 0.0, app)
        ordered.append(
            (
                order,
                {
                    "application": app,
                    "chain": chain,
                    "stage": stage,
                    "events": events,
                    "configCommits": [str(e["commit"]) for e in events if e.get("hop") == "config-commit"],
                    "syncedAt": first["sync"]["time"] if "sync" in first else None,
                    "healthyAt": first["healthy"]["time"] if "healthy" in first else None,
                    "leadTime": trace.per_app.get(app),
                    "promotions": [p for p in promotions if p.get("application") == app],
                },
            )
        )
    environments = [env for _, env in sorted(ordered, key=lambda pair: pair[0])]
    runs = dict.fromkeys(str(h["run"]) for h in build if h.get("run"))
    return {
        **trace.to_dict(),
        "build": build,
        "pipelineRuns": [{"name": r, "state": run_state(hops, r)} for r in runs],
        "environments": environments,
    }


def change_summary(
    trace: Trace, promotions: Sequence[Mapping[str, Any]], first_seen: float | None
) -> dict[str, Any]:
    """One row of the commit search: where the change is, its images, runs and lead time."""
    hops = trace.hops
    images = [str(h["image"]) for h in hops if h.get("image")]
    images += [i for p in promotions for i in p.get("images") or ()]
    apps: dict[str, dict[str, Any]] = {}
    for hop in hops:
        if hop.get("hop") in ("sync", "healthy") and hop.get("app"):
            entry = apps.setdefault(str(hop["app"]), {"application": str(hop["app"]), "healthyAt": None})
            if hop.get("hop") == "healthy" and entry["healthyAt"] is None:
                entry["healthyAt"] = hop.get("time")
    runs = [h for h in hops if h.get("hop") == "pipelinerun" and h.get("run")]
    times = [_time(h) for h in hops if _time(h)]
    return {
        "sourceCommit": trace.source,
        "repo": trace.repo,
        "ref": next((str(h.get("ref", "")) for h in hops if h.get("hop") == "push"), ""),
        "message": trace.title,
        "author": trace.author_name
        or next((str(p["author"]) for p in promotions if p.get("author")), "")
        or trace.author_email,
        "authorEmail": trace.author_email,
        "images": list(dict.fromkeys(images)),
        "pipelineRuns": [{"name": str(h["run"]), "state": run_state(hops, str(h["run"]))} for h in runs],
        "environments": list(apps.values()),
        "leadTime": trace.lead_time,
        "firstSeen": first_seen if first_seen is not None else (min(times) if times else None),
        "lastSeen": max(times) if times else None,
    }


def matches(summary: Mapping[str, Any], query: str, message: str = "") -> bool:
    """Whether a change's summary matches the search ``query`` (case-insensitive): a prefix of its
    commit, or a part of its commit ``message`` (the whole, as recorded), author's name or email,
    repository, ref, images, runs or Applications."""
    wanted = query.strip().lower()
    if not wanted:
        return True
    if str(summary.get("sourceCommit", "")).startswith(wanted):
        return True
    fields = [summary.get("repo"), summary.get("ref"), summary.get("author"), summary.get("authorEmail")]
    fields += [message or summary.get("message"), *summary.get("images", ())]
    fields += [r.get("name") for r in summary.get("pipelineRuns", ())]
    fields += [e.get("application") for e in summary.get("environments", ())]
    return any(wanted in str(f).lower() for f in fields if f)


def gate_of(stage: Stage) -> dict[str, Any]:
    """What lets a change into ``stage``, as the API shows it."""
    gate = stage.gate
    if isinstance(gate, ApprovalGate):
        return {
            "type": "approval",
            "requiredApprovals": gate.required_approvals,
            "roles": list(gate.roles),
            "excludeAuthor": gate.exclude_author,
        }
    if isinstance(gate, AutoGate):
        return {"type": "auto", "soak": gate.soak, "verification": gate.verification}
    return {"type": "none"}


def _rank(stage: str) -> tuple[int, str]:
    lowered = stage.lower()
    return (
        ENVIRONMENT_ORDER.index(lowered) if lowered in ENVIRONMENT_ORDER else len(ENVIRONMENT_ORDER),
        lowered,
    )


def environment_groups(applications: Iterable[str], chains: Iterable[PromotionChain]) -> list[dict[str, Any]]:
    """The chains, then the application families (see the module), each with its ordered stages
    ``{name, application, gate}``; sorted by name within each kind."""
    groups: list[dict[str, Any]] = []
    chained: set[str] = set()
    for chain in sorted(chains, key=lambda c: c.name):
        stages = [{"name": s.name, "application": s.application, "gate": gate_of(s)} for s in chain.stages]
        chained.update(s.application for s in chain.stages)
        groups.append({"name": chain.name, "kind": "chain", "stages": stages})
    families: dict[str, list[tuple[str, str]]] = {}
    for app in sorted(set(applications) - chained):
        stem, dash, stage = app.rpartition("-")
        if dash and stem and stage:
            families.setdefault(stem, []).append((stage, app))
    taken = {g["name"] for g in groups}
    for stem, members in sorted(families.items()):
        if len(members) < 2 or stem in taken:
            continue
        members.sort(key=lambda m: _rank(m[0]))
        stages = [{"name": stage, "application": app, "gate": {"type": "none"}} for stage, app in members]
        groups.append({"name": stem, "kind": "family", "stages": stages})
    return groups
