"""The promotion's config commit on a real git repository (a bare upstream in ``tmp_path``): every image
of the source commit set in the target stage's file in ONE commit, pushed through the handoff, with the
promotion's trailers; and which name each image is written under."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitloop.model.trailers import parse_trailers, trailer_values
from gitloop.promote import machine
from gitloop.promote.approvals import Approval
from gitloop.promote.message import read_promotion
from gitloop.service.server.promotion_commit import image_updates, land_promotion, stage_file
from gitloop.spec.gitloop_promotion import PromotionChain, parse_chains_text

SHA = "0123456789abcdef0123456789abcdef01234567"
CHAIN = """\
apiVersion: gitloop.dev/v1alpha1
kind: PromotionChain
metadata: {name: shop}
spec:
  stages:
    - {name: dev, application: shop-dev, image: {overlay: overlays/dev, name: registry.local/shop}}
    - name: prod
      application: shop-prod
      image: {overlay: overlays/prod/, name: shop}
      approval: {requiredApprovals: 1}
"""
KUSTOMIZATION = textwrap.dedent("""\
    resources: [../../base]
    images:
      - name: shop
        newName: registry.local/shop
        newTag: v1
      - name: registry.local/worker
        newTag: v1
    """)


def _git(work: Path, *args: str) -> str:
    env = {
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "dev",
        "GIT_AUTHOR_EMAIL": "dev@example.com",
        "GIT_COMMITTER_NAME": "dev",
        "GIT_COMMITTER_EMAIL": "dev@example.com",
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        ["git", *args], cwd=work, env=env, capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def chain() -> PromotionChain:
    return parse_chains_text(CHAIN)["shop"]


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    bare, work = tmp_path / "config.git", tmp_path / "work"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True, capture_output=True)
    (work / "overlays" / "prod").mkdir(parents=True)
    (work / "overlays" / "prod" / "kustomization.yaml").write_text(KUSTOMIZATION)
    _git(work, "add", "--all")
    _git(work, "commit", "-q", "-m", "prod overlay")
    _git(work, "push", "-q", "origin", "HEAD:main")
    yield bare, work


def _promotion(chain: PromotionChain, images: tuple[str, ...]) -> machine.Promotion:
    started = machine.start(
        chain,
        "prod",
        promotion_id="shop-prod-0123456-abcdef",
        source_commit=SHA,
        images=images,
        author="",
        now=1.0,
    )
    return machine.Promotion(
        **{**started.__dict__, "approvals": (Approval("carol", 2.0), Approval("dave", 3.0))}
    )


@pytest.mark.parametrize(
    ("images", "updates"),
    [
        (("registry.local/shop:abc",), ["shop=registry.local/shop:abc"]),
        (("registry.local/other:abc",), ["shop=registry.local/other:abc"]),
        (
            ("registry.local/shop:abc", "registry.local/worker@sha256:" + "a" * 64),
            [
                "shop=registry.local/shop:abc",
                "registry.local/worker=registry.local/worker@sha256:" + "a" * 64,
            ],
        ),
    ],
)
def test_which_name_each_image_is_written_under(
    chain: PromotionChain, images: tuple[str, ...], updates: list[str]
) -> None:
    promotion = _promotion(chain, images)
    assert image_updates(promotion, chain.stage("dev"), chain.stage("prod")) == updates


def test_stage_file(chain: PromotionChain) -> None:
    assert stage_file(chain.stage("prod")) == "overlays/prod/kustomization.yaml"


def test_all_images_land_in_one_commit_with_the_trailers(
    chain: PromotionChain, upstream: tuple[Path, Path]
) -> None:
    bare, work = upstream
    before = _git(work, "ls-remote", str(bare), "refs/heads/main").split()[0]
    promotion = _promotion(chain, ("registry.local/shop:abc", "registry.local/worker:abc"))
    commit = land_promotion(
        promotion, chain.stage("dev"), chain.stage("prod"), repo=str(bare), branch="main", credentials=None
    )
    assert commit is not None
    _git(work, "fetch", "-q", "origin")
    assert _git(work, "rev-parse", f"{commit}^").strip() == before  # one commit on the old tip
    text = _git(work, "show", f"{commit}:overlays/prod/kustomization.yaml")
    assert "newTag: abc" in text and "newTag: v1" not in text
    message = _git(work, "log", "-1", "--format=%B", commit)
    read = read_promotion(message)
    assert read is not None
    assert (read.promotion, read.source_commit, read.approved_by) == (promotion.id, SHA, ("carol", "dave"))
    assert trailer_values(message, "Gitloop-Image") == [
        "registry.local/shop:abc",
        "registry.local/worker:abc",
    ]
    assert parse_trailers(message)["Gitloop-File"] == "overlays/prod/kustomization.yaml"
    again = land_promotion(
        promotion, chain.stage("dev"), chain.stage("prod"), repo=str(bare), branch="HEAD", credentials=None
    )
    assert again is None  # the stage already has every image: nothing to commit
