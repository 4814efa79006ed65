"""ApplicationSet stages: the parser (an ``application`` or an ``applicationSet`` with a ``selector``,
``image.overlay: fromApplication``) and the gate of a stage of several Applications (``combine``: all
of them Synced and Healthy at the commit), table-driven."""

from __future__ import annotations

import pytest

from gitloop.errors import SpecError
from gitloop.promote import machine
from gitloop.promote.rules import NO_APPLICATIONS, UpstreamStatus, Verdict, combine, judge_auto
from gitloop.spec.gitloop_promotion import AutoGate, StageImage, parse_chains_text

CHAIN = """\
apiVersion: gitloop.dev/v1alpha1
kind: PromotionChain
metadata: {name: web}
spec:
  stages:
    - name: dev
      application: web-dev
      image: {path: dev/web.yaml, name: registry.local/web}
    - name: staging
      applicationSet: web-staging
      selector:
        matchLabels: {tier: web}
        matchExpressions: [{key: region, operator: In, values: [eu, us]}]
      image: {overlay: fromApplication, name: registry.local/web}
      auto: {}
    - name: prod
      applicationSet: web-prod
      image: {path: prod/web.yaml, name: registry.local/web}
      approval: {}
"""


def test_both_forms_are_read() -> None:
    chain = parse_chains_text(CHAIN, "chains.yaml")["web"]
    dev, staging, prod = chain.stages
    assert (dev.application, dev.application_set, dev.selector) == ("web-dev", "", None)
    assert dev.target == "Application web-dev"
    assert (staging.application, staging.application_set) == ("", "web-staging")
    assert staging.target == "ApplicationSet web-staging"
    assert staging.image == StageImage("registry.local/web", overlay="fromApplication")
    assert staging.image.from_application and not prod.image.from_application
    assert prod.selector is None and prod.selects({"anything": "x"})
    assert chain.stage_of_application("web-staging") is staging
    assert chain.stage_of_application("web-dev") is dev


@pytest.mark.parametrize(
    ("labels", "selected"),
    [
        ({"tier": "web", "region": "eu"}, True),
        ({"tier": "web", "region": "us", "extra": "1"}, True),
        ({"tier": "web", "region": "ap"}, False),
        ({"tier": "web"}, False),
        ({"tier": "db", "region": "eu"}, False),
        ({}, False),
    ],
)
def test_the_selector_picks_among_the_generated_applications(labels: dict[str, str], selected: bool) -> None:
    staging = parse_chains_text(CHAIN)["web"].stage("staging")
    assert staging.selects(labels) is selected


@pytest.mark.parametrize(
    ("expression", "labels", "selected"),
    [
        ("{key: region, operator: NotIn, values: [ap]}", {"region": "eu"}, True),
        ("{key: region, operator: NotIn, values: [ap]}", {"region": "ap"}, False),
        ("{key: canary, operator: Exists}", {"canary": ""}, True),
        ("{key: canary, operator: Exists}", {}, False),
        ("{key: canary, operator: DoesNotExist}", {}, True),
        ("{key: canary, operator: DoesNotExist}", {"canary": "yes"}, False),
    ],
)
def test_match_expressions(expression: str, labels: dict[str, str], selected: bool) -> None:
    text = CHAIN.replace("{key: region, operator: In, values: [eu, us]}", expression).replace(
        "matchLabels: {tier: web}", "matchLabels: {}"
    )
    assert parse_chains_text(text)["web"].stage("staging").selects(labels) is selected


def _bad(old: str, new: str) -> str:
    assert old in CHAIN
    return CHAIN.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        (
            _bad("applicationSet: web-staging", "applicationSet: web-staging\n      application: web-stg"),
            "spec.stages[1].applicationSet",
            "exactly one of application",
        ),
        (
            _bad("      application: web-dev\n", ""),
            "spec.stages[0].application",
            "exactly one of application",
        ),
        (
            _bad("applicationSet: web-prod", "applicationSet: ''"),
            "spec.stages[2].applicationSet",
            "must not be empty",
        ),
        (
            _bad("application: web-dev\n", "application: web-dev\n      selector: {matchLabels: {a: b}}\n"),
            "spec.stages[0].selector",
            "picks among an applicationSet's Applications",
        ),
        (
            _bad("image: {path: dev/web.yaml,", "image: {overlay: fromApplication,"),
            "spec.stages[0].image.overlay",
            "fromApplication is for an applicationSet stage",
        ),
        (
            _bad("matchLabels: {tier: web}", "matchLabel: {tier: web}"),
            "spec.stages[1].selector.matchLabel",
            "unknown field 'matchLabel'",
        ),
        (
            _bad("operator: In, values: [eu, us]", "operator: In, values: []"),
            "spec.stages[1].selector.matchExpressions[0].values",
            "must be non-empty",
        ),
        (
            _bad("operator: In, values: [eu, us]", "operator: Exists, values: [eu]"),
            "spec.stages[1].selector.matchExpressions[0].values",
            "must be empty",
        ),
        (
            _bad("operator: In,", "operator: Like,"),
            "spec.stages[1].selector.matchExpressions[0].operator",
            "invalid value 'Like'",
        ),
        (
            _bad("applicationSet: web-prod", "applicationSet: web-staging"),
            "spec.stages[2].applicationSet",
            "is already stage 'staging'",
        ),
    ],
)
def test_bad_input_names_the_field(text: str, field: str, words: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_chains_text(text, "chains.yaml")
    assert caught.value.field == field
    assert words in str(caught.value)
    assert "chains.yaml:" in str(caught.value) and "PromotionChain/web" in str(caught.value)


SHA, OTHER, NOW = "a" * 40, "b" * 40, 1000.0


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
    ("statuses", "combined"),
    [
        ([up()], up()),
        ([up(), up()], up()),
        (
            [up(synced_healthy_since=NOW - 600), up(synced_healthy_since=NOW - 60)],
            up(synced_healthy_since=NOW - 60),
        ),
        ([up(), up(source_commit=OTHER)], up(source_commit="")),
        ([up(), up(sync_status="OutOfSync")], up(sync_status="OutOfSync")),
        (
            [up(), up(health="Progressing", synced_healthy_since=None)],
            up(health="Progressing", synced_healthy_since=None),
        ),
        ([up(), up(verification="Running")], up(verification="Running")),
        ([up(verification="Running"), up(verification="Failed")], up(verification="Failed")),
        ([up(verification=""), up(verification="")], up(verification="")),
        ([], UpstreamStatus("", NO_APPLICATIONS, "Missing")),
    ],
)
def test_a_stage_of_several_applications_is_the_least_of_them(
    statuses: list[UpstreamStatus], combined: UpstreamStatus
) -> None:
    assert combine(statuses) == combined


@pytest.mark.parametrize(
    ("statuses", "verdict", "words"),
    [
        ([up(), up()], Verdict.PROMOTE, "Synced and Healthy"),
        ([up(), up(health="Degraded", synced_healthy_since=None)], Verdict.WAIT, "Synced and Degraded"),
        ([up(), up(sync_status="OutOfSync")], Verdict.WAIT, "OutOfSync and Healthy"),
        ([up(), up(source_commit=OTHER)], Verdict.WAIT, "upstream is at an unknown commit"),
        ([up(), up(synced_healthy_since=NOW - 10)], Verdict.WAIT, "soaking: 50s left"),
        ([up(), up(verification="Failed")], Verdict.FAIL, "verification 'smoke' failed"),
        ([], Verdict.WAIT, "no Applications"),
    ],
)
def test_the_auto_gate_needs_all_applications_healthy(
    statuses: list[UpstreamStatus], verdict: Verdict, words: str
) -> None:
    decision = judge_auto(AutoGate(soak=60.0, verification="smoke"), SHA, combine(statuses), NOW)
    assert decision.verdict is verdict and words in decision.reason, decision


def test_a_pending_promotion_into_no_applications_is_held_saying_why() -> None:
    chain = parse_chains_text(CHAIN)["web"]
    started = machine.start(
        chain,
        "staging",
        promotion_id="p",
        source_commit=SHA,
        images=("registry.local/web:1",),
        author="",
        now=1.0,
    )
    assert started.application == "web-staging" and started.state == machine.PENDING
    held = machine.held(started, "ApplicationSet web-staging generates no Applications", 2.0)
    assert (held.state, held.message, held.updated) == (
        machine.PENDING,
        "ApplicationSet web-staging generates no Applications",
        2.0,
    )
    assert machine.held(held, held.message, 3.0) is held
    waiting = machine.start(
        chain,
        "prod",
        promotion_id="q",
        source_commit=SHA,
        images=("registry.local/web:1",),
        author="",
        now=1.0,
    )
    with pytest.raises(machine.PromotionError, match="is WaitingApproval, not Pending"):
        machine.held(waiting, "why", 2.0)
