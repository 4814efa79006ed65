"""The promotion state machine kept on a real SQLite store: every transition, the refusals, the records
and their history, and the commit message's trailers read back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gitloop.errors import SpecError
from gitloop.model.trailers import TRAILER_APPROVED_BY, trailer_values
from gitloop.promote import machine
from gitloop.promote.machine import ApprovalRefused, Promotion, PromotionError
from gitloop.promote.message import promotion_message, promotion_trailers, read_promotion
from gitloop.promote.records import PromotionRecords
from gitloop.promote.rules import UpstreamStatus
from gitloop.spec.gitloop_promotion import PromotionChain, parse_chains_text
from gitloop.store.sql import SqlStore, open_store

SHA = "0123456789abcdef0123456789abcdef01234567"
IMAGES = ("registry.local/web:0123456", "registry.local/worker:0123456")
CHAIN_TEXT = """\
apiVersion: gitloop.dev/v1alpha1
kind: PromotionChain
metadata: {name: web}
spec:
  stages:
    - {name: dev, application: web-dev, image: {overlay: overlays/dev, name: registry.local/web}}
    - name: staging
      application: web-staging
      image: {overlay: overlays/staging, name: registry.local/web}
      auto: {soak: 60s, verification: smoke}
    - name: prod
      application: web-prod
      image: {overlay: overlays/prod, name: registry.local/web}
      approval: {requiredApprovals: 2, roles: ["role:release"]}
"""
RELEASE = ("role:release",)


@pytest.fixture
def chain() -> PromotionChain:
    return parse_chains_text(CHAIN_TEXT)["web"]


@pytest.fixture
def records(tmp_path: Path) -> Iterator[PromotionRecords]:
    store: SqlStore = open_store(str(tmp_path / "gitloop.db"))
    try:
        yield PromotionRecords(store)
    finally:
        store.close()


def begin(chain: PromotionChain, records: PromotionRecords, stage: str, now: float = 100.0) -> Promotion:
    promotion = machine.start(
        chain,
        stage,
        promotion_id=records.next_id(chain.name, stage, SHA),
        source_commit=SHA,
        images=IMAGES,
        author="bob",
        now=now,
        requested_by="admin",
    )
    records.save(promotion)
    return promotion


def test_automatic_stage_waits_soaks_then_promotes_and_lands(
    chain: PromotionChain, records: PromotionRecords
) -> None:
    promotion = begin(chain, records, "staging")
    assert (promotion.state, promotion.from_stage, promotion.application) == ("Pending", "dev", "web-staging")
    upstream = UpstreamStatus(SHA, "Synced", "Healthy", synced_healthy_since=100.0, verification="Running")
    promotion, decision = machine.observe(chain, promotion, upstream, 120.0)
    assert promotion.state == "Pending" and "smoke" in promotion.message
    upstream = UpstreamStatus(SHA, "Synced", "Healthy", synced_healthy_since=100.0, verification="Succeeded")
    promotion, decision = machine.observe(chain, promotion, upstream, 130.0)
    assert promotion.state == "Pending" and decision.wait == 30.0
    promotion, _ = machine.observe(chain, promotion, upstream, 160.0)
    assert promotion.state == "Promoting"
    records.save(promotion)
    assert records.claim_landing(promotion.id) and not records.claim_landing(promotion.id)
    promotion = machine.landed(promotion, "f" * 40, 170.0)
    records.save(promotion)
    stored = records.get(promotion.id)
    assert stored == promotion
    assert (stored.state, stored.config_commit, stored.finished) == ("Succeeded", "f" * 40, 170.0)
    assert [e["state"] for e in records.history(promotion.id)] == ["Pending", "Promoting", "Succeeded"]
    with pytest.raises(PromotionError, match="is Succeeded, not Promoting"):
        machine.landed(promotion, "e" * 40, 180.0)


def test_a_failed_verification_fails_the_promotion(chain: PromotionChain, records: PromotionRecords) -> None:
    promotion = begin(chain, records, "staging")
    upstream = UpstreamStatus(SHA, "Synced", "Healthy", synced_healthy_since=0.0, verification="Failed")
    promotion, _ = machine.observe(chain, promotion, upstream, 500.0)
    assert promotion.state == "Failed" and promotion.final and "failed" in promotion.message


def test_manual_stage_refuses_the_author_counts_users_once_and_promotes(
    chain: PromotionChain, records: PromotionRecords
) -> None:
    promotion = begin(chain, records, "prod")
    assert promotion.state == "WaitingApproval" and promotion.rule_object == "web/prod"
    with pytest.raises(ApprovalRefused, match="bob is the author"):
        machine.approve(chain, promotion, "bob", user_roles=RELEASE, now=110.0)
    with pytest.raises(ApprovalRefused, match="holds none of the roles"):
        machine.approve(chain, promotion, "eve", user_roles=("role:readonly",), now=110.0)
    promotion = machine.approve(chain, promotion, "alice", user_roles=RELEASE, now=120.0)
    records.save(promotion)
    again = machine.approve(chain, promotion, "alice", user_roles=RELEASE, now=125.0)
    assert again == promotion and promotion.state == "WaitingApproval"
    assert promotion.message == "approved by 1 of 2"
    promotion = machine.approve(chain, promotion, "carol", user_roles=RELEASE, now=130.0)
    records.save(promotion)
    assert promotion.state == "Promoting"
    stored = records.get(promotion.id)
    assert stored is not None
    assert [(a.user, a.time) for a in stored.approvals] == [("alice", 120.0), ("carol", 130.0)]
    with pytest.raises(PromotionError, match="is Promoting, not WaitingApproval"):
        machine.approve(chain, promotion, "dave", user_roles=RELEASE, now=140.0)
    failed = machine.failed(promotion, "gave up: branch moved on", 150.0)
    assert failed.state == "Failed" and failed.message == "gave up: branch moved on"


def test_rejection_ends_the_promotion(chain: PromotionChain, records: PromotionRecords) -> None:
    promotion = begin(chain, records, "prod")
    with pytest.raises(ApprovalRefused, match="may not reject"):
        machine.reject(chain, promotion, "bob", user_roles=RELEASE, now=110.0)
    promotion = machine.reject(chain, promotion, "alice", user_roles=RELEASE, now=120.0)
    records.save(promotion)
    assert (promotion.state, promotion.rejected_by, promotion.finished) == ("Rejected", "alice", 120.0)
    with pytest.raises(PromotionError, match="only a waiting one"):
        machine.reject(chain, promotion, "carol", user_roles=RELEASE, now=130.0)
    with pytest.raises(PromotionError):
        machine.approve(chain, promotion, "carol", user_roles=RELEASE, now=130.0)
    assert records.open_for("web", "prod", SHA) is None
    assert records.next_id("web", "prod", SHA) != promotion.id


@pytest.mark.parametrize(
    ("stage", "images", "error", "words"),
    [
        ("dev", IMAGES, SpecError, "first of PromotionChain"),
        ("qa", IMAGES, SpecError, "no stage 'qa'"),
        ("prod", (), PromotionError, "has no images in stage 'staging'"),
    ],
)
def test_start_refuses(
    chain: PromotionChain, stage: str, images: tuple[str, ...], error: type, words: str
) -> None:
    with pytest.raises(error, match=words):
        machine.start(chain, stage, promotion_id="p", source_commit=SHA, images=images, author="bob", now=1.0)


def test_wrong_gate_kind_is_an_error(chain: PromotionChain, records: PromotionRecords) -> None:
    staging, prod = begin(chain, records, "staging"), begin(chain, records, "prod")
    with pytest.raises(PromotionError, match="takes no approvals"):
        machine.approve(
            chain,
            machine.Promotion(**{**staging.__dict__, "state": "WaitingApproval"}),
            "a",
            user_roles=(),
            now=1.0,
        )
    with pytest.raises(PromotionError, match="not automatic"):
        machine.observe(
            chain,
            machine.Promotion(**{**prod.__dict__, "state": "Pending"}),
            UpstreamStatus(SHA, "Synced", "Healthy"),
            1.0,
        )


def test_records_filter_and_find_the_open_promotion(chain: PromotionChain, records: PromotionRecords) -> None:
    staging = begin(chain, records, "staging", now=1.0)
    prod = begin(chain, records, "prod", now=2.0)
    assert {p.id for p in records.list()} == {staging.id, prod.id}
    assert [p.id for p in records.list(stage="prod")] == [prod.id]
    assert [p.id for p in records.list(state="Pending")] == [staging.id]
    assert records.list(chain="other") == []
    assert records.open_for("web", "staging", SHA) == staging
    assert records.get("nope") is None


def test_the_commit_message_carries_the_trailers(chain: PromotionChain, records: PromotionRecords) -> None:
    promotion = begin(chain, records, "prod")
    for user, now in (("alice", 1.0), ("alice", 2.0), ("carol", 3.0)):
        promotion = machine.approve(chain, promotion, user, user_roles=RELEASE, now=now)
    assert promotion_trailers(promotion) == [
        ("Gitloop-Source-Commit", SHA),
        ("Gitloop-Promotion", promotion.id),
        ("Gitloop-Approved-By", "alice"),
        ("Gitloop-Approved-By", "carol"),
    ]
    message = promotion_message(promotion)
    assert message.startswith(
        f"Promote {SHA[:12]} from staging to prod (web)\n\n- {IMAGES[0]}\n- {IMAGES[1]}\n\n"
    )
    assert trailer_values(message, TRAILER_APPROVED_BY) == ["alice", "carol"]
    read = read_promotion(message)
    assert read is not None and (read.promotion, read.source_commit, read.approved_by) == (
        promotion.id,
        SHA,
        ("alice", "carol"),
    )
    assert read_promotion("Set web to x\n\nGitloop-Source-Commit: abc") is None


OTHER = "fedcba9876543210fedcba9876543210fedcba98"


def _waiting(chain: PromotionChain, stage: str, commit: str, *, created: float, by: str = "") -> Promotion:
    return machine.start(
        chain,
        stage,
        promotion_id=f"{stage}-{commit[:7]}-{created:g}",
        source_commit=commit,
        images=IMAGES,
        author="bob",
        now=created,
        requested_by=by,
    )


@pytest.mark.parametrize(
    ("stage", "commit", "created", "by", "state", "ended"),
    [
        ("prod", SHA, 1.0, "", "WaitingApproval", True),  # an older change waiting: superseded
        ("staging", SHA, 1.0, "", "Pending", True),  # a soak that can no longer pass: superseded
        ("prod", SHA, 1.0, "carol", "WaitingApproval", False),  # asked for by hand: a choice, kept
        ("prod", OTHER, 1.0, "", "WaitingApproval", False),  # the same change: kept
        ("prod", SHA, 9.0, "", "WaitingApproval", False),  # started after the newer one: kept
        ("prod", SHA, 1.0, "", "Promoting", False),  # already moving: kept
        ("prod", SHA, 1.0, "", "Succeeded", False),  # final: kept
    ],
)
def test_a_newer_change_supersedes_what_still_waits_for_the_stage(
    chain: PromotionChain, stage: str, commit: str, created: float, by: str, state: str, ended: bool
) -> None:
    older = machine.Promotion(
        **{**_waiting(chain, stage, commit, created=created, by=by).__dict__, "state": state}
    )
    newer = _waiting(chain, stage, OTHER, created=5.0)
    other_stage = _waiting(chain, "staging" if stage == "prod" else "prod", commit, created=1.0)
    done = machine.superseded([older, newer, other_stage], newer, 6.0)
    if not ended:
        assert done == []
        return
    (superseded,) = done
    assert (superseded.id, superseded.state, superseded.finished) == (older.id, "Superseded", 6.0)
    assert superseded.final and superseded.message == f"superseded by {newer.id} ({OTHER[:12]})"
    with pytest.raises(PromotionError):
        machine.approve(chain, superseded, "alice", user_roles=RELEASE, now=7.0)
