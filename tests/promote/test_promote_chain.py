"""The PromotionChain parser: a valid chain read whole, and every bad input refused with the file,
line, object and field it is about."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitloop.errors import SpecError
from gitloop.spec.gitloop_promotion import (
    ApprovalGate,
    AutoGate,
    StageImage,
    load_chains,
    parse_chains_text,
)

CHAIN = """\
apiVersion: gitloop.dev/v1alpha1
kind: PromotionChain
metadata: {name: web}
spec:
  stages:
    - name: dev
      application: web-dev
      image: {overlay: overlays/dev, name: registry.local/web}
    - name: staging
      application: web-staging
      image: {overlay: overlays/staging, name: registry.local/web}
      auto: {soak: 5m, verification: smoke}
    - name: prod
      application: web-prod
      image: {path: prod/values.yaml, name: registry.local/web}
      approval: {requiredApprovals: 2, roles: ["role:release"], excludeAuthor: false}
"""


def test_a_chain_is_read_whole() -> None:
    chain = parse_chains_text(CHAIN, "chains.yaml")["web"]
    assert [s.name for s in chain.stages] == ["dev", "staging", "prod"]
    dev, staging, prod = chain.stages
    assert dev.gate is None and dev.image == StageImage("registry.local/web", overlay="overlays/dev")
    assert staging.gate == AutoGate(soak=300.0, verification="smoke")
    assert prod.gate == ApprovalGate(required_approvals=2, roles=("role:release",), exclude_author=False)
    assert prod.image.path == "prod/values.yaml"
    assert chain.upstream("prod") is staging
    assert chain.next_after("staging") is prod and chain.next_after("prod") is None
    assert chain.stage_of_application("web-staging") is staging


def test_defaults() -> None:
    text = CHAIN.replace("auto: {soak: 5m, verification: smoke}", "auto: {verification: null}").replace(
        'approval: {requiredApprovals: 2, roles: ["role:release"], excludeAuthor: false}', "approval: {}"
    )
    chain = parse_chains_text(text)["web"]
    assert chain.stage("staging").gate == AutoGate(soak=0.0, verification=None)
    assert chain.stage("prod").gate == ApprovalGate(required_approvals=1, roles=(), exclude_author=True)


def test_other_kinds_beside_it_are_passed_over(tmp_path: Path) -> None:
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "web.yaml").write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: web-dev}\n---\n" + CHAIN
    )
    assert list(load_chains([tmp_path])) == ["web"]


def _bad(old: str, new: str) -> str:
    assert old in CHAIN
    return CHAIN.replace(old, new)


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        (_bad("  stages:", "  stage: []\n  stages:"), "spec.stage", "unknown field 'stage'"),
        (_bad("name: dev\n", "name: dev\n      gate: auto\n"), "spec.stages[0].gate", "unknown field 'gate'"),
        (_bad("soak: 5m,", "soak: 5m, soke: 1,"), "spec.stages[1].auto.soke", "unknown field 'soke'"),
        (_bad("soak: 5m", "soak: soon"), "spec.stages[1].auto.soak", "invalid duration"),
        (
            _bad("requiredApprovals: 2", "requiredApprovals: 0"),
            "spec.stages[2].approval.requiredApprovals",
            ">= 1",
        ),
        (
            _bad("requiredApprovals: 2", "requiredApprovals: two"),
            "spec.stages[2].approval.requiredApprovals",
            "integer",
        ),
        (
            _bad('roles: ["role:release"]', "roles: [release]"),
            "spec.stages[2].approval.roles[0]",
            "role:<name>",
        ),
        (
            _bad("excludeAuthor: false", "excludeAuthor: no-way"),
            "spec.stages[2].approval.excludeAuthor",
            "true or false",
        ),
        (
            _bad("      auto: {soak: 5m, verification: smoke}\n", ""),
            "spec.stages[1]",
            "exactly one of auto or approval",
        ),
        (
            _bad("auto: {soak: 5m, verification: smoke}", "auto: {}\n      approval: {}"),
            "spec.stages[1]",
            "exactly one of auto or approval",
        ),
        (
            _bad(
                "image: {overlay: overlays/dev, name: registry.local/web}",
                "image: {overlay: overlays/dev, name: w}\n      auto: {}",
            ),
            "spec.stages[0].auto",
            "first stage has no gate",
        ),
        (
            _bad("{overlay: overlays/staging, name", "{path: a.yaml, overlay: overlays/staging, name"),
            "spec.stages[1].image",
            "exactly one of path",
        ),
        (
            _bad("{overlay: overlays/staging, name: registry.local/web}", "{overlay: o}"),
            "spec.stages[1].image.name",
            "required",
        ),
        (
            _bad("      image: {overlay: overlays/dev, name: registry.local/web}\n", ""),
            "spec.stages[0].image",
            "required",
        ),
        (_bad("name: staging", "name: dev"), "spec.stages[1].name", "named twice"),
        (
            _bad("application: web-staging", "application: web-dev"),
            "spec.stages[1].application",
            "already stage 'dev'",
        ),
        (_bad("application: web-prod", "application: ''"), "spec.stages[2].application", "must not be empty"),
        (CHAIN.split("    - name: staging")[0], "spec.stages", "at least two stages"),
        (_bad("gitloop.dev/v1alpha1", "gitloop.dev/v1"), "apiVersion", "use gitloop.dev/v1alpha1"),
        (
            _bad("metadata: {name: web}", "metadata: {name: web}\nstatus: {}"),
            "status",
            "unknown field 'status'",
        ),
        (_bad("spec:\n  stages:", "spec:\n  stages: {}\n  x:"), "spec.x", "unknown field 'x'"),
    ],
)
def test_bad_input_names_the_field(text: str, field: str, words: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_chains_text(text, "chains.yaml")
    error = caught.value
    assert error.field == field
    assert words in str(error)
    assert "chains.yaml:" in str(error) and "PromotionChain/web" in str(error)


def test_a_chain_defined_twice_is_refused() -> None:
    with pytest.raises(SpecError, match="defined twice"):
        parse_chains_text(CHAIN + "---\n" + CHAIN, "chains.yaml")


def test_unknown_stage_lists_the_stages() -> None:
    chain = parse_chains_text(CHAIN)["web"]
    with pytest.raises(SpecError, match="no stage 'qa' \\(stages: dev, staging, prod\\)"):
        chain.stage("qa")
    with pytest.raises(SpecError, match="first of PromotionChain"):
        chain.upstream("dev")
