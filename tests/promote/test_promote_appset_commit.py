"""The config commit of a promotion into an ApplicationSet stage: which files it writes (``stage_files``)
and, on a real local repository, every generated Application's overlay set in ONE commit on the old tip
carrying the promotion's trailers and one ``Gitloop-File`` per overlay."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitloop.errors import SpecError
from gitloop.model.trailers import trailer_values
from gitloop.promote import machine
from gitloop.promote.message import read_promotion
from gitloop.service.server.promotion_commit import land_promotion, stage_files
from gitloop.spec.gitloop_promotion import PromotionChain, parse_chains_text

SHA = "0123456789abcdef0123456789abcdef01234567"
CHAIN = """\
apiVersion: gitloop.dev/v1alpha1
kind: PromotionChain
metadata: {name: shop}
spec:
  stages:
    - {name: dev, application: shop-dev, image: {overlay: overlays/dev, name: registry.local/shop}}
    - name: staging
      applicationSet: shop-staging
      image: {overlay: fromApplication, name: shop}
      auto: {}
    - name: prod
      applicationSet: shop-prod
      image: {overlay: overlays/prod/, name: shop}
      auto: {}
"""
OVERLAYS = ("overlays/staging-eu", "overlays/staging-us")


def _kustomization(tag: str) -> str:
    return textwrap.dedent(f"""\
        resources: [../../base]
        images:
          - name: shop
            newName: registry.local/shop
            newTag: {tag}
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
    done = subprocess.run(["git", *args], cwd=work, env=env, capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture
def chain() -> PromotionChain:
    return parse_chains_text(CHAIN)["shop"]


@pytest.mark.parametrize(
    ("stage", "paths", "files"),
    [
        (
            "staging",
            ["overlays/a", "overlays/b/"],
            ["overlays/a/kustomization.yaml", "overlays/b/kustomization.yaml"],
        ),
        ("staging", ["overlays/a", "/overlays/a"], ["overlays/a/kustomization.yaml"]),
        ("staging", [".", ""], ["kustomization.yaml"]),
        ("staging", [], []),
        ("prod", ["overlays/a", "overlays/b"], ["overlays/prod/kustomization.yaml"]),
        ("dev", ["whatever"], ["overlays/dev/kustomization.yaml"]),
    ],
)
def test_which_files_a_stage_writes(
    chain: PromotionChain, stage: str, paths: list[str], files: list[str]
) -> None:
    assert stage_files(chain.stage(stage), paths) == files


@pytest.fixture
def config(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    bare, work = tmp_path / "config.git", tmp_path / "work"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True, capture_output=True)
    for overlay in OVERLAYS:
        (work / overlay).mkdir(parents=True)
        (work / overlay / "kustomization.yaml").write_text(_kustomization("v1"))
    _git(work, "add", "--all")
    _git(work, "commit", "-q", "-m", "staging overlays")
    _git(work, "push", "-q", "origin", "HEAD:main")
    yield bare, work


def _promotion(chain: PromotionChain) -> machine.Promotion:
    return machine.start(
        chain,
        "staging",
        promotion_id="shop-staging-0123456-abcdef",
        source_commit=SHA,
        images=("registry.local/shop:abc",),
        author="",
        now=1.0,
    )


def _tip(bare: Path, work: Path) -> str:
    return _git(work, "ls-remote", str(bare), "refs/heads/main").split()[0]


def test_every_overlay_is_written_in_one_commit(chain: PromotionChain, config: tuple[Path, Path]) -> None:
    bare, work = config
    before = _tip(bare, work)
    promotion = _promotion(chain)
    files = stage_files(chain.stage("staging"), OVERLAYS)
    commit = land_promotion(
        promotion,
        chain.stage("dev"),
        chain.stage("staging"),
        repo=str(bare),
        branch="main",
        credentials=None,
        files=files,
    )
    assert commit is not None and _tip(bare, work) == commit
    _git(work, "fetch", "-q", "origin")
    assert _git(work, "rev-parse", f"{commit}^").strip() == before  # one commit on the old tip
    assert sorted(_git(work, "diff", "--name-only", before, commit).split()) == files
    for file in files:
        assert "newTag: abc" in _git(work, "show", f"{commit}:{file}")
    message = _git(work, "log", "-1", "--format=%B", commit)
    read = read_promotion(message)
    assert read is not None and (read.promotion, read.source_commit) == (promotion.id, SHA)
    assert trailer_values(message, "Gitloop-Image") == ["registry.local/shop:abc"]
    assert trailer_values(message, "Gitloop-File") == files
    again = land_promotion(
        promotion,
        chain.stage("dev"),
        chain.stage("staging"),
        repo=str(bare),
        branch="main",
        credentials=None,
        files=files,
    )
    assert again is None and _tip(bare, work) == commit  # every overlay has the image: no commit


def test_only_the_overlays_that_change_are_in_the_commit(
    chain: PromotionChain, config: tuple[Path, Path]
) -> None:
    bare, work = config
    (work / OVERLAYS[1] / "kustomization.yaml").write_text(_kustomization("abc"))
    _git(work, "commit", "-q", "-am", "us already has it")
    _git(work, "push", "-q", "origin", "HEAD:main")
    before = _tip(bare, work)
    files = stage_files(chain.stage("staging"), OVERLAYS)
    commit = land_promotion(
        _promotion(chain),
        chain.stage("dev"),
        chain.stage("staging"),
        repo=str(bare),
        branch="main",
        credentials=None,
        files=files,
    )
    assert commit is not None
    _git(work, "fetch", "-q", "origin")
    assert _git(work, "rev-parse", f"{commit}^").strip() == before
    assert _git(work, "diff", "--name-only", before, commit).split() == [f"{OVERLAYS[0]}/kustomization.yaml"]


def test_a_missing_overlay_is_named(chain: PromotionChain, config: tuple[Path, Path]) -> None:
    bare, _ = config
    files = stage_files(chain.stage("staging"), [*OVERLAYS, "overlays/staging-ap"])
    with pytest.raises(SpecError, match="not found in branch main") as caught:
        land_promotion(
            _promotion(chain),
            chain.stage("dev"),
            chain.stage("staging"),
            repo=str(bare),
            branch="main",
            credentials=None,
            files=files,
        )
    assert "overlays/staging-ap/kustomization.yaml" in str(caught.value)
