"""The promotion state machine, pure: a ``Promotion`` (the record the store keeps, kind ``Promotion``)
and its transitions.

::

    start ─▶ Pending ──(auto gate: promote)──▶ Promoting ──(config commit landed)──▶ Succeeded
          └▶ WaitingApproval ──(enough approvals)──┘        └──(landing failed, or no
                                                                Applications to land in)──▶ Failed
    Pending ──(held: the stage has no Applications)──▶ Pending, saying why
    Pending ──(verification failed)──▶ Failed;  Pending | WaitingApproval ──(reject)──▶ Rejected
    Pending | WaitingApproval ──(a newer change started into the stage)──▶ Superseded

Succeeded, Rejected, Failed and Superseded are final: a transition from them raises ``PromotionError``. Each
transition returns a new ``Promotion``; the composition stores it (``gitloop.promote.records``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from gitloop.errors import GitloopError
from gitloop.promote.approvals import Approval, enough, refusal
from gitloop.promote.rules import AutoDecision, UpstreamStatus, Verdict, judge_auto
from gitloop.spec.gitloop_promotion import ApprovalGate, AutoGate, PromotionChain

PENDING = "Pending"
WAITING_APPROVAL = "WaitingApproval"
PROMOTING = "Promoting"
SUCCEEDED = "Succeeded"
REJECTED = "Rejected"
FAILED = "Failed"
SUPERSEDED = "Superseded"
FINAL = frozenset({SUCCEEDED, REJECTED, FAILED, SUPERSEDED})
STATES = (PENDING, WAITING_APPROVAL, PROMOTING, SUCCEEDED, REJECTED, FAILED, SUPERSEDED)


class PromotionError(GitloopError):
    """A transition the promotion's state does not allow."""


class ApprovalRefused(GitloopError):
    """A user may not approve or reject this promotion; the message says why (an API 403)."""


@dataclass(frozen=True)
class Promotion:
    """One promotion of all images of ``source_commit`` from stage ``from_stage`` to ``to_stage``."""

    id: str
    chain: str
    from_stage: str
    to_stage: str
    application: str
    source_commit: str
    images: tuple[str, ...]
    author: str
    state: str
    created: float
    updated: float
    approvals: tuple[Approval, ...] = ()
    requested_by: str = ""
    rejected_by: str = ""
    message: str = ""
    config_commit: str = ""
    finished: float | None = None

    @property
    def final(self) -> bool:
        return self.state in FINAL

    @property
    def rule_object(self) -> str:
        """The RBAC object of this promotion: ``<chain>/<stage>``."""
        return f"{self.chain}/{self.to_stage}"

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["images"] = list(self.images)
        doc["approvals"] = [asdict(a) for a in self.approvals]
        return doc

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Promotion:
        fields = dict(doc)
        fields["images"] = tuple(doc.get("images") or ())
        fields["approvals"] = tuple(
            Approval(str(a["user"]), float(a["time"])) for a in doc.get("approvals") or ()
        )
        return cls(**fields)


def start(
    chain: PromotionChain,
    to_stage: str,
    *,
    promotion_id: str,
    source_commit: str,
    images: tuple[str, ...],
    author: str,
    now: float,
    requested_by: str = "",
) -> Promotion:
    """A new promotion into ``to_stage``: ``WaitingApproval`` behind an approval gate, else ``Pending``."""
    target = chain.stage(to_stage)
    upstream = chain.upstream(to_stage)
    if not images:
        raise PromotionError(f"source commit {source_commit[:12]} has no images in stage {upstream.name!r}")
    waiting = isinstance(target.gate, ApprovalGate)
    return Promotion(
        id=promotion_id,
        chain=chain.name,
        from_stage=upstream.name,
        to_stage=target.name,
        application=target.application or target.application_set,
        source_commit=source_commit,
        images=tuple(images),
        author=author,
        state=WAITING_APPROVAL if waiting else PENDING,
        created=now,
        updated=now,
        requested_by=requested_by,
        message="waiting for approval" if waiting else "waiting for the upstream stage",
    )


def observe(
    chain: PromotionChain, promotion: Promotion, upstream: UpstreamStatus, now: float
) -> tuple[Promotion, AutoDecision]:
    """A ``Pending`` promotion after looking at the upstream stage: ``Promoting``, ``Failed`` or unchanged."""
    _require(promotion, PENDING)
    gate = chain.stage(promotion.to_stage).gate
    if not isinstance(gate, AutoGate):
        raise PromotionError(f"stage {promotion.to_stage!r} is not automatic")
    decision = judge_auto(gate, promotion.source_commit, upstream, now)
    if decision.verdict is Verdict.PROMOTE:
        return _moved(promotion, PROMOTING, decision.reason, now), decision
    if decision.verdict is Verdict.FAIL:
        return _finished(promotion, FAILED, decision.reason, now), decision
    if decision.reason != promotion.message:
        return replace(promotion, message=decision.reason, updated=now), decision
    return promotion, decision


def approve(
    chain: PromotionChain, promotion: Promotion, user: str, *, user_roles: tuple[str, ...], now: float
) -> Promotion:
    """``promotion`` approved by ``user``: ``Promoting`` once enough distinct users approved.
    ``ApprovalRefused`` says why ``user`` may not; an approval repeated by one user counts once."""
    _require(promotion, WAITING_APPROVAL)
    gate = chain.stage(promotion.to_stage).gate
    if not isinstance(gate, ApprovalGate):
        raise PromotionError(f"stage {promotion.to_stage!r} takes no approvals: it is automatic")
    why = refusal(gate, user, author=promotion.author, user_roles=user_roles)
    if why is not None:
        raise ApprovalRefused(why)
    if any(a.user == user for a in promotion.approvals):
        return promotion
    approvals = (*promotion.approvals, Approval(user, now))
    have = len({a.user for a in approvals})
    updated = replace(promotion, approvals=approvals, updated=now)
    if enough(gate, approvals):
        return _moved(updated, PROMOTING, f"approved by {have} of {gate.required_approvals}", now)
    return replace(updated, message=f"approved by {have} of {gate.required_approvals}")


def reject(
    chain: PromotionChain, promotion: Promotion, user: str, *, user_roles: tuple[str, ...], now: float
) -> Promotion:
    """``promotion`` rejected by ``user``: ``Rejected``, final. Behind an approval gate only a user who
    could approve may reject (the author may not)."""
    if promotion.state not in (PENDING, WAITING_APPROVAL):
        raise PromotionError(
            f"promotion {promotion.id} is {promotion.state}: only a waiting one can be rejected"
        )
    gate = chain.stage(promotion.to_stage).gate
    if isinstance(gate, ApprovalGate):
        why = refusal(gate, user, author=promotion.author, user_roles=user_roles)
        if why is not None:
            raise ApprovalRefused(why.replace("approve", "reject"))
    return replace(_finished(promotion, REJECTED, f"rejected by {user}", now), rejected_by=user)


def landed(promotion: Promotion, config_commit: str, now: float) -> Promotion:
    """The config commit of a ``Promoting`` promotion is pushed: ``Succeeded``."""
    _require(promotion, PROMOTING)
    return replace(
        _finished(promotion, SUCCEEDED, f"promoted in {config_commit[:12]}", now), config_commit=config_commit
    )


def held(promotion: Promotion, reason: str, now: float) -> Promotion:
    """A ``Pending`` promotion that cannot be judged yet (its stage has no Applications): still
    ``Pending``, its message saying why."""
    _require(promotion, PENDING)
    return promotion if promotion.message == reason else replace(promotion, message=reason, updated=now)


def superseded(open_promotions: list[Promotion], newer: Promotion, now: float) -> list[Promotion]:
    """The promotions ``newer`` supersedes, ended ``Superseded``: those into the same stage of the same
    chain that still wait (``Pending`` or ``WaitingApproval``), of another source commit, started
    before ``newer`` and by gitloop itself (a promotion someone asked for by hand, ``requested_by``,
    stays: promoting an older change is then a choice). So an approval given late never takes a stage
    back to an older change the chain has moved past, and a soak that can no longer pass ends."""
    return [
        _finished(p, SUPERSEDED, f"superseded by {newer.id} ({newer.source_commit[:12]})", now)
        for p in open_promotions
        if p.chain == newer.chain
        and p.to_stage == newer.to_stage
        and p.state in (PENDING, WAITING_APPROVAL)
        and p.source_commit != newer.source_commit
        and p.created <= newer.created
        and p.id != newer.id
        and not p.requested_by
    ]


def failed(promotion: Promotion, reason: str, now: float) -> Promotion:
    """A ``Promoting`` promotion whose config commit could not land: ``Failed``."""
    _require(promotion, PROMOTING)
    return _finished(promotion, FAILED, reason, now)


def _require(promotion: Promotion, state: str) -> None:
    if promotion.state != state:
        raise PromotionError(f"promotion {promotion.id} is {promotion.state}, not {state}")


def _moved(promotion: Promotion, state: str, message: str, now: float) -> Promotion:
    return replace(promotion, state=state, message=message, updated=now)


def _finished(promotion: Promotion, state: str, message: str, now: float) -> Promotion:
    return replace(promotion, state=state, message=message, updated=now, finished=now)
