"""The stage rules (an automatic stage's gate) and the approval rules, table-driven."""

from __future__ import annotations

import pytest

from gitloop.promote.approvals import Approval, approvers, enough, refusal
from gitloop.promote.rules import UpstreamStatus, Verdict, judge_auto
from gitloop.spec.gitloop_promotion import ApprovalGate, AutoGate

SHA = "a" * 40
OTHER = "b" * 40
NOW = 1000.0


def up(**fields: object) -> UpstreamStatus:
    values: dict[str, object] = {
        "source_commit": SHA,
        "sync_status": "Synced",
        "health": "Healthy",
        "synced_healthy_since": NOW - 600,
        "verification": "Succeeded",
    }
    values.update(fields)
    return UpstreamStatus(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("gate", "status", "verdict", "words", "wait"),
    [
        (AutoGate(300, "smoke"), up(), Verdict.PROMOTE, "verification 'smoke' succeeded", None),
        (AutoGate(0, None), up(verification=""), Verdict.PROMOTE, "for the soak time", None),
        (AutoGate(0, None), up(verification="Failed"), Verdict.PROMOTE, "soak time", None),
        (AutoGate(300, "smoke"), up(source_commit=OTHER), Verdict.WAIT, "upstream is at bbbbbbbbbbbb", None),
        (AutoGate(300, "smoke"), up(source_commit=""), Verdict.WAIT, "an unknown commit", None),
        (AutoGate(300, "smoke"), up(sync_status="OutOfSync"), Verdict.WAIT, "OutOfSync and Healthy", None),
        (AutoGate(300, "smoke"), up(health="Progressing"), Verdict.WAIT, "Synced and Progressing", None),
        (AutoGate(300, "smoke"), up(synced_healthy_since=None), Verdict.WAIT, "not been seen", None),
        (AutoGate(300, "smoke"), up(verification=""), Verdict.WAIT, "has not succeeded yet", None),
        (AutoGate(300, "smoke"), up(verification="Running"), Verdict.WAIT, "has not succeeded yet", None),
        (
            AutoGate(300, "smoke"),
            up(verification="Failed"),
            Verdict.FAIL,
            "verification 'smoke' failed",
            None,
        ),
        (AutoGate(300, None), up(synced_healthy_since=NOW - 100), Verdict.WAIT, "200s left of 300s", 200.0),
        (AutoGate(300, None), up(synced_healthy_since=NOW - 300), Verdict.PROMOTE, "soak time", None),
        (AutoGate(0, None), up(synced_healthy_since=NOW), Verdict.PROMOTE, "soak time", None),
    ],
)
def test_auto_gate(
    gate: AutoGate, status: UpstreamStatus, verdict: Verdict, words: str, wait: float | None
) -> None:
    decision = judge_auto(gate, SHA, status, NOW)
    assert decision.verdict is verdict
    assert words in decision.reason
    assert decision.wait == wait


RELEASE = ApprovalGate(required_approvals=2, roles=("role:release", "role:admin"))
ANYONE = ApprovalGate(required_approvals=2)
AUTHOR_OK = ApprovalGate(required_approvals=1, exclude_author=False)


@pytest.mark.parametrize(
    ("gate", "user", "author", "roles", "words"),
    [
        (ANYONE, "alice", "bob", (), None),
        (ANYONE, "alice", "alice", (), "alice is the author of the change"),
        (ANYONE, "alice", "Alice@example.com", (), "author"),
        (ANYONE, "ALICE", "alice", (), "author"),
        (ANYONE, "alice", "alicia@example.com", (), None),
        (ANYONE, "alice", "", (), None),
        (AUTHOR_OK, "alice", "alice", (), None),
        (RELEASE, "carol", "bob", ("role:release",), None),
        (RELEASE, "carol", "bob", ("role:readonly", "role:admin"), None),
        (
            RELEASE,
            "carol",
            "bob",
            ("role:readonly",),
            "holds none of the roles allowed to approve: role:release, role:admin",
        ),
        (RELEASE, "carol", "bob", (), "holds none of the roles"),
        (RELEASE, "bob", "bob", ("role:release",), "author"),
        (ANYONE, "", "bob", (), "authenticated user"),
        (ANYONE, "alice", "Alice Smith <alice@example.com>", (), "author"),
        (ANYONE, "alice smith", "Alice Smith <asmith@example.com>", (), "author"),
        (ANYONE, "alice", "Alice Smith <asmith@example.com>", (), None),
        (ANYONE, "asmith@example.com", "Alice Smith <asmith@example.com>", (), "author"),
    ],
)
def test_who_may_approve(
    gate: ApprovalGate, user: str, author: str, roles: tuple[str, ...], words: str | None
) -> None:
    why = refusal(gate, user, author=author, user_roles=roles)
    if words is None:
        assert why is None
    else:
        assert why is not None and words in why


@pytest.mark.parametrize(
    ("users", "distinct", "is_enough"),
    [
        ((), (), False),
        (("alice",), ("alice",), False),
        (("alice", "alice"), ("alice",), False),
        (("alice", "carol"), ("alice", "carol"), True),
        (("carol", "alice", "carol", "dave"), ("carol", "alice", "dave"), True),
    ],
)
def test_approvals_count_distinct_users(
    users: tuple[str, ...], distinct: tuple[str, ...], is_enough: bool
) -> None:
    approvals = [Approval(user, NOW + i) for i, user in enumerate(users)]
    assert approvers(approvals) == distinct
    assert enough(ANYONE, approvals) is is_enough
