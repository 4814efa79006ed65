"""ApplicationSet generators, one testdata file per case: the ApplicationSet, the git repositories and the
registered clusters it reads, and the parameter sets expected (or the error)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from appset_fakes import FakeTree

from gitloop.appset.generators import generate_all, inputs_for
from gitloop.appset.paths import match_dir, match_file, normalized
from gitloop.appset.ports import StaticClusters
from gitloop.errors import GitloopError
from gitloop.model.clusters import ClusterRef
from gitloop.spec.argocd import parse_apps_text
from gitloop.spec.yaml.documents import load_file, plain

TESTDATA = Path(__file__).parent / "testdata" / "generators"
CASES = sorted(p.name for p in TESTDATA.glob("*.yaml"))


def _case(name: str) -> dict[str, Any]:
    [document] = load_file(TESTDATA / name)
    case: dict[str, Any] = plain(document.body)
    return case


def _run(case: dict[str, Any]) -> list[dict[str, Any]]:
    [appset] = parse_apps_text(json.dumps(case["appset"]), "case").appsets.values()
    clusters = StaticClusters([ClusterRef(**c) for c in case.get("clusters", [])])
    return generate_all(appset, inputs_for(appset, FakeTree(case.get("repos", {})), clusters))


@pytest.mark.parametrize("name", CASES)
def test_generator_case(name: str) -> None:
    case = _case(name)
    assert ("expect" in case) != ("error" in case), "a case expects parameter sets or an error"
    if "error" in case:
        with pytest.raises(GitloopError) as caught:
            _run(case)
        assert case["error"] in str(caught.value)
        return
    assert _run(case) == case["expect"]


@pytest.mark.parametrize(
    ("pattern", "path", "as_dir", "as_file"),
    [
        ("envs/*", "envs/dev", True, True),
        ("envs/*", "envs/dev/sub", False, False),
        ("envs/**", "envs/dev/sub", False, True),
        ("**/config.json", "a/b/config.json", False, True),
        ("**/config.json", "config.json", False, True),
        ("env?/d*", "envs/dev", True, True),
        ("envs/[a-d]*", "envs/dev", True, True),
        ("envs/[^a-d]*", "envs/dev", False, False),
        ("envs/\\*", "envs/*", True, True),
        ("envs", "envs/dev", False, False),
    ],
)
def test_path_patterns_are_go_path_match_and_globstar_for_files(
    pattern: str, path: str, as_dir: bool, as_file: bool
) -> None:
    assert match_dir(pattern, path) is as_dir
    assert match_file(pattern, path) is as_file


@pytest.mark.parametrize(
    ("name", "expected"),
    [("My_App", "my-app"), ("-edge.", "edge"), ("a.b-c", "a.b-c"), ("Ünï", "n")],
)
def test_normalized_names_are_dns_safe(name: str, expected: str) -> None:
    assert normalized(name) == expected
