"""Normalisation: server-owned fields, status, nulls, roles and resource quantities."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gitloop.gitops.diff import NormalizeOptions, StatusPolicy, normalize
from gitloop.gitops.diff.normalize import last_applied
from gitloop.gitops.diff.quantity import canonical

LIVE: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
        "name": "web",
        "namespace": "shop",
        "uid": "u-1",
        "resourceVersion": "12",
        "generation": 3,
        "creationTimestamp": "2024-05-02T10:11:12Z",
        "selfLink": "/apis/apps/v1/namespaces/shop/deployments/web",
        "managedFields": [{"manager": "gitloop"}],
        "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
            "gitloop.dev/tracking-id": "shop:apps/Deployment:shop/web",
        },
        "labels": {},
    },
    "spec": {"template": {"metadata": {"creationTimestamp": None}, "spec": {"nodeSelector": None}}},
    "status": {"replicas": 1},
}


def test_server_owned_fields_go() -> None:
    assert normalize(LIVE) == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"template": {"metadata": {}, "spec": {}}},
    }


def test_input_is_not_changed() -> None:
    before = copy.deepcopy(LIVE)
    normalize(LIVE)
    assert before == LIVE


def test_other_annotations_stay() -> None:
    obj = {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"annotations": {"team": "a", "gitloop.dev/tracking-id": "x"}},
    }
    assert normalize(obj)["metadata"] == {"annotations": {"team": "a"}}


CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "status": {"x": 1}}
WIDGET = {"apiVersion": "example.com/v1", "kind": "Widget", "status": {"x": 1}}


@pytest.mark.parametrize(
    ("policy", "obj", "keeps_status"),
    [
        (StatusPolicy.ALL, CRD, False),
        (StatusPolicy.ALL, WIDGET, False),
        (StatusPolicy.CRD, CRD, False),
        (StatusPolicy.CRD, WIDGET, True),
        (StatusPolicy.NONE, CRD, True),
        (StatusPolicy.NONE, WIDGET, True),
    ],
)
def test_status_policy(policy: StatusPolicy, obj: dict[str, Any], keeps_status: bool) -> None:
    assert ("status" in normalize(obj, NormalizeOptions(status=policy))) is keeps_status


def role(kind: str = "ClusterRole", **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": "r"}, **fields}


RULES = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
AGGREGATION = {"clusterRoleSelectors": [{"matchLabels": {"aggregate": "true"}}]}


@pytest.mark.parametrize(
    ("obj", "options", "rules"),
    [
        (role(rules=[]), NormalizeOptions(), None),
        (role("Role", rules=[]), NormalizeOptions(), None),
        (role(rules=RULES), NormalizeOptions(), RULES),
        (role(rules=RULES, aggregationRule=AGGREGATION), NormalizeOptions(), RULES),
        (
            role(rules=RULES, aggregationRule=AGGREGATION),
            NormalizeOptions(ignore_aggregated_roles=True),
            None,
        ),
        (role(rules=RULES), NormalizeOptions(ignore_aggregated_roles=True), RULES),
        ({"apiVersion": "example.com/v1", "kind": "Role", "rules": []}, NormalizeOptions(), []),
    ],
)
def test_roles(obj: dict[str, Any], options: NormalizeOptions, rules: Any) -> None:
    assert normalize(obj, options).get("rules") == rules


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        (0.5, "500m"),
        ("0.5", "500m"),
        (1, "1"),
        ("1000m", "1"),
        ("1500m", "1500m"),
        (1.5, "1500m"),
        ("100m", "100m"),
        ("250m", "250m"),
        (1000, "1k"),
        ("1500", "1500"),
        ("1200000", "1200k"),
        ("1Gi", "1Gi"),
        ("1024Mi", "1Gi"),
        ("1536Mi", "1536Mi"),
        ("0.5Gi", "512Mi"),
        ("1.5Ki", "1536"),
        ("512", "512"),
        ("100Ki", "100Ki"),
        ("1e3", "1e3"),
        ("1E3", "1e3"),
        ("1500e-3", "1500e-3"),
        ("1M", "1M"),
        ("1000k", "1M"),
        ("1E", "1E"),
        ("0", "0"),
        ("0Gi", "0"),
        ("0.1n", "1n"),
        ("+2", "2"),
        ("-500m", "-500m"),
    ],
)
def test_quantity(written: Any, stored: str) -> None:
    assert canonical(written) == stored
    assert canonical(stored) == stored  # what the server stores is already canonical


@pytest.mark.parametrize("value", ["abc", "1Xi", "", "1.2.3", True, None, [1], {"a": 1}, "1 Gi"])
def test_not_a_quantity(value: Any) -> None:
    assert canonical(value) is None


def test_quantities_only_under_resources() -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "spec": {
            "containers": [
                {"resources": {"limits": {"cpu": 2, "memory": "2048Mi"}, "requests": {"cpu": "weird"}}}
            ],
            "replicasLike": {"limits": {"cpu": 0.5}},
        },
    }
    spec = normalize(obj)["spec"]
    assert spec["containers"][0]["resources"] == {
        "limits": {"cpu": "2", "memory": "2Gi"},
        "requests": {"cpu": "weird"},
    }
    assert spec["replicasLike"] == {"limits": {"cpu": 0.5}}


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        ('{"kind": "ConfigMap", "data": {"a": "1"}}', {"kind": "ConfigMap", "data": {"a": "1"}}),
        ("not json", None),
        ("[1, 2]", None),
        (None, None),
    ],
)
def test_last_applied(annotation: str | None, expected: Any) -> None:
    notes = {} if annotation is None else {"kubectl.kubernetes.io/last-applied-configuration": annotation}
    assert last_applied({"metadata": {"annotations": notes}}) == expected
    assert last_applied(None) is None


def test_keys_become_strings_as_kubernetes_sees_them() -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "data": {8080: "port", True: "yes", None: "n", 1.5: "x", "a": None},
    }
    assert normalize(obj)["data"] == {"8080": "port", "true": "yes", "null": "n", "1.5": "x"}
