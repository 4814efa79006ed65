"""The resource tree and its Events: the cases under testdata/tree-*.yaml, and the node fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gitloop.gitops.tree import involved, node, resource_tree
from gitloop.model.resources import ResourceKey

CASES = sorted((Path(__file__).parent / "testdata").glob("tree-*.yaml"))


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_tree(path: Path) -> None:
    case = _load(path)
    roots = {ResourceKey.of(obj): obj for obj in case["tracked"]}
    tree = resource_tree(roots, case["cluster"])
    shown = [
        f"{n['kind']}/{n['name']} <- " + ",".join(f"{p['kind']}/{p['name']}" for p in n["parentRefs"])
        for n in tree["nodes"]
    ]
    assert shown == case["expected"]
    assert tree["orphanedNodes"] == [] and tree["hosts"] == []
    assert [e["metadata"]["name"] for e in involved(case["events"], tree)] == case["events_expected"]


def test_a_node_has_argo_cds_fields() -> None:
    case = _load(CASES[0])
    deployment = node(case["tracked"][0])
    assert deployment == {
        "group": "apps",
        "version": "v1",
        "kind": "Deployment",
        "namespace": "shop",
        "name": "web",
        "uid": "d1",
        "resourceVersion": "10",
        "parentRefs": [],
        "images": ["registry.local/web:1"],
        "createdAt": "2026-12-07T10:00:00Z",
        "info": [],
        "health": {"status": "Healthy"},
    }
    pod = node(case["cluster"][1], [case["cluster"][0]])
    assert pod["parentRefs"] == [
        {"group": "apps", "kind": "ReplicaSet", "namespace": "shop", "name": "web-abc", "uid": "r1"}
    ]
    assert pod["health"]["status"]  # the engine's Pod rule decides
