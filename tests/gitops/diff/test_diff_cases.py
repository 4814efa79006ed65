"""Every case under testdata/ is a ``<case>-config.yaml`` (desired, from git) and ``<case>-live.yaml``
pair, either side possibly absent, plus an optional ``<case>-predicted.yaml`` (a server-side apply dry
run). The table says what comparing them gives; ``case@variant`` reuses a case's files with other
ignore rules or options."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gitloop.gitops.diff import (
    CompareOptions,
    IgnoreDifferences,
    IgnoreRule,
    NormalizeOptions,
    StatusPolicy,
    compare,
    unified_diff,
)
from gitloop.model.resources import Manifest
from gitloop.model.sync import SyncStatus
from gitloop.spec.manifests import load_manifests

TESTDATA = Path(__file__).parent / "testdata"

SYNCED = SyncStatus.SYNCED
OUT = SyncStatus.OUT_OF_SYNC


@dataclass(frozen=True)
class Case:
    status: SyncStatus
    rules: tuple[IgnoreRule, ...] = ()
    options: CompareOptions | None = None
    shows: tuple[str, ...] = ()
    """Lines the unified diff must contain (exactly, with their +/- prefix)."""
    pruning: bool = False
    counts: bool = True


def deployment_rule(**fields: Any) -> IgnoreRule:
    return IgnoreRule("apps", "Deployment", **fields)


EXPECTED: dict[str, Case] = {
    "deployment-server-defaults": Case(SYNCED),
    "deployment-replicas": Case(OUT, shows=("-  replicas: 5", "+  replicas: 3")),
    "deployment-replicas@json-pointer": Case(
        SYNCED, rules=(deployment_rule(json_pointers=("/spec/replicas",)),)
    ),
    "deployment-replicas@jq": Case(SYNCED, rules=(deployment_rule(jq_path_expressions=(".spec.replicas",)),)),
    "deployment-replicas@managers": Case(
        SYNCED, rules=(deployment_rule(managed_fields_managers=("kube-controller-manager",)),)
    ),
    "deployment-replicas@managers-wildcard": Case(
        SYNCED, rules=(IgnoreRule(group="*", kind="*", managed_fields_managers=("kube-controller-manager",)),)
    ),
    "deployment-replicas@other-manager": Case(
        OUT, rules=(deployment_rule(managed_fields_managers=("kubectl-edit",)),)
    ),
    "deployment-replicas@named": Case(
        SYNCED, rules=(deployment_rule(name="web", namespace="shop", json_pointers=("/spec/replicas",)),)
    ),
    "deployment-replicas@other-name": Case(
        OUT, rules=(deployment_rule(name="api", json_pointers=("/spec/replicas",)),)
    ),
    "deployment-replicas@other-namespace": Case(
        OUT, rules=(deployment_rule(namespace="staging", json_pointers=("/spec/replicas",)),)
    ),
    "deployment-replicas@other-kind": Case(
        OUT, rules=(IgnoreRule(group="apps", kind="StatefulSet", json_pointers=("/spec/replicas",)),)
    ),
    "deployment-replicas@core-group": Case(
        OUT, rules=(IgnoreRule(group="", kind="Deployment", json_pointers=("/spec/replicas",)),)
    ),
    "deployment-replicas@glob": Case(
        SYNCED, rules=(IgnoreRule(group="*", kind="Deploy*", json_pointers=("/spec/replicas",)),)
    ),
    "deployment-label-dropped": Case(OUT, shows=("-    tier: backend",)),
    "deployment-other-manager-label": Case(SYNCED),
    "deployment-last-applied-dropped": Case(OUT, shows=("-  minReadySeconds: 10",)),
    "deployment-last-applied-same": Case(SYNCED),
    "deployment-sidecar-injected": Case(SYNCED),
    "deployment-container-removed": Case(OUT, shows=("-      - image: registry.example/log-shipper:0.9",)),
    "deployment-image-changed": Case(
        OUT,
        shows=("-      - image: registry.example/web:1.4.0", "+      - image: registry.example/web:1.5.0"),
    ),
    "deployment-image-changed@jq-select": Case(
        SYNCED,
        rules=(
            deployment_rule(
                jq_path_expressions=('.spec.template.spec.containers[] | select(.name == "web") | .image',)
            ),
        ),
    ),
    "deployment-image-changed@jq-select-other": Case(
        OUT,
        rules=(
            deployment_rule(
                jq_path_expressions=(
                    '.spec.template.spec.containers[] | select(.name == "metrics") | .image',
                )
            ),
        ),
    ),
    "deployment-image-changed@jq-failing": Case(
        OUT, rules=(deployment_rule(jq_path_expressions=(".spec.template.spec.initContainers[].image",)),)
    ),
    "deployment-env-reordered": Case(OUT),
    "deployment-dry-run-synced": Case(SYNCED),
    "deployment-dry-run-drift": Case(
        OUT,
        shows=("-      - image: registry.example/web:1.3.9", "+      - image: registry.example/web:1.4.0"),
    ),
    "service-defaults": Case(SYNCED),
    "service-port-changed": Case(OUT, shows=("-    targetPort: 8080", "+    targetPort: 9090")),
    "configmap-data-changed": Case(
        OUT, shows=("-  LOG_LEVEL: debug", "+  LOG_LEVEL: info", "-    cache.size=256", "+    cache.size=512")
    ),
    "configmap-create": Case(OUT, shows=("--- /dev/null", "+  greeting: hello")),
    "configmap-prune": Case(OUT, pruning=True, shows=("+++ /dev/null", "-  greeting: bye")),
    "configmap-prune-extraneous": Case(OUT, pruning=True, counts=False),
    "configmap-tracking": Case(SYNCED),
    "configmap-finalizers": Case(SYNCED),
    "secret-string-data": Case(SYNCED),
    "secret-changed": Case(OUT, shows=("-  password: ++++++++", "+  password: ++++++++++++")),
    "crd-object-status": Case(SYNCED),
    "crd-object-status@status-compared": Case(
        OUT, options=CompareOptions(normalize=NormalizeOptions(status=StatusPolicy.NONE))
    ),
    "crd-object-status@status-crd-only": Case(
        OUT, options=CompareOptions(normalize=NormalizeOptions(status=StatusPolicy.CRD))
    ),
    "crd-object-list-defaults": Case(SYNCED),
    "crd-object-list-longer": Case(OUT, shows=("-  - run: make deploy",)),
    "clusterrole-empty-rules": Case(SYNCED),
}

SECRET_VALUES = (
    "db-user",
    "ZGItdXNlcg==",
    "correct horse battery",
    "Y29ycmVjdCBob3JzZSBiYXR0ZXJ5",
    "Y29ycmVjdCBob3JzZSBiYXR0ZXJ5IHN0YXBsZQ==",
)


def _load(case: str, side: str) -> Manifest | None:
    path = TESTDATA / f"{case}-{side}.yaml"
    if not path.exists():
        return None
    [(_, manifest)] = load_manifests([path])
    return manifest


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_case(name: str) -> None:
    expected = EXPECTED[name]
    files = name.partition("@")[0]
    desired, live, predicted = (_load(files, side) for side in ("config", "live", "predicted"))
    assert desired is not None or live is not None, f"no testdata for {files}"

    result = compare(
        desired,
        live,
        predicted=predicted,
        ignores=IgnoreDifferences(expected.rules),
        options=expected.options,
    )
    text = unified_diff(result)

    assert result.status is expected.status, text
    assert result.requires_pruning is expected.pruning
    assert result.counts is expected.counts
    assert (text == "") is (expected.status is SYNCED)
    for line in expected.shows:
        assert line in text.splitlines(), f"{line!r} not in:\n{text}"
    for value in SECRET_VALUES:
        assert value not in text
        assert value not in repr(result)


def test_every_testdata_file_has_a_case() -> None:
    cases = {name.partition("@")[0] for name in EXPECTED}
    for path in TESTDATA.glob("*.yaml"):
        case, _, side = path.stem.rpartition("-")
        assert side in ("config", "live", "predicted"), path.name
        assert case in cases, f"{path.name} is in no case"
