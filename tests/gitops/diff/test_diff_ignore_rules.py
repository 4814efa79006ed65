"""``ignoreDifferences`` rules: reading them, matching resources, and the managedFieldsManagers rule."""

from __future__ import annotations

from typing import Any

import pytest

from gitloop.errors import SpecError
from gitloop.gitops.diff import IgnoreDifferences, IgnoreRule, rules_from_overrides, rules_from_spec
from gitloop.gitops.diff.fieldpath import parse_fields_v1
from gitloop.gitops.diff.ignore import drop_managed_differences
from gitloop.model.resources import ResourceKey

DEPLOYMENT = ResourceKey("apps", "Deployment", "shop", "web")
SERVICE = ResourceKey("", "Service", "shop", "web")
CRD = ResourceKey("apiextensions.k8s.io", "CustomResourceDefinition", "", "widgets.example.com")


def test_rules_from_spec() -> None:
    spec = [
        {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]},
        {"kind": "Service", "name": "web", "namespace": "shop", "jqPathExpressions": [".spec.clusterIP"]},
        {"group": "*", "kind": "*", "managedFieldsManagers": ["kube-controller-manager"]},
    ]
    assert rules_from_spec(spec) == (
        IgnoreRule("apps", "Deployment", json_pointers=("/spec/replicas",)),
        IgnoreRule("", "Service", "web", "shop", jq_path_expressions=(".spec.clusterIP",)),
        IgnoreRule("*", "*", managed_fields_managers=("kube-controller-manager",)),
    )
    assert rules_from_spec(None) == ()


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"group": "apps"}, "spec.ignoreDifferences"),
        (["x"], "spec.ignoreDifferences[0]"),
        ([{"kind": 3}], "spec.ignoreDifferences[0].kind"),
        ([{"kind": "A"}, {"kind": "B", "jsonPointers": "/spec"}], "spec.ignoreDifferences[1].jsonPointers"),
        ([{"kind": "A", "managedFieldsManagers": [1]}], "spec.ignoreDifferences[0].managedFieldsManagers"),
    ],
)
def test_rules_from_spec_errors_name_the_field(spec: Any, field: str) -> None:
    with pytest.raises(SpecError) as raised:
        rules_from_spec(spec)
    assert raised.value.field == field


def test_rules_from_overrides() -> None:
    overrides = {
        "apps/Deployment": {"jsonPointers": ["/spec/replicas"]},
        "Service": {"managedFieldsManagers": ["mesh"]},
        "*/*": {"jsonPointers": ["/status"]},
    }
    assert rules_from_overrides(overrides) == (
        IgnoreRule("apps", "Deployment", json_pointers=("/spec/replicas",)),
        IgnoreRule("", "Service", managed_fields_managers=("mesh",)),
        IgnoreRule("*", "*", json_pointers=("/status",)),
    )
    with pytest.raises(SpecError, match="override key"):
        rules_from_overrides({"a/b/c": {}})


@pytest.mark.parametrize(
    ("rule", "key", "matches"),
    [
        (IgnoreRule("apps", "Deployment"), DEPLOYMENT, True),
        (IgnoreRule("apps", "Deployment", name="web"), DEPLOYMENT, True),
        (IgnoreRule("apps", "Deployment", name="api"), DEPLOYMENT, False),
        (IgnoreRule("apps", "Deployment", namespace="shop"), DEPLOYMENT, True),
        (IgnoreRule("apps", "Deployment", namespace="prod"), DEPLOYMENT, False),
        (IgnoreRule("", "Deployment"), DEPLOYMENT, False),
        (IgnoreRule("", "Service"), SERVICE, True),
        (IgnoreRule("apps", "Service"), SERVICE, False),
        (IgnoreRule("*", "*"), SERVICE, True),
        (IgnoreRule("*", "*"), CRD, True),
        (IgnoreRule("*.k8s.io", "*"), CRD, True),
        (IgnoreRule("*.k8s.io", "*"), DEPLOYMENT, False),
        (IgnoreRule("apps", "Deploy*"), DEPLOYMENT, True),
        (IgnoreRule("apps", ""), DEPLOYMENT, False),
        (IgnoreRule("apps", "deployment"), DEPLOYMENT, False),
        (IgnoreRule("apiextensions.k8s.io", "CustomResourceDefinition", namespace=""), CRD, True),
    ],
)
def test_matching(rule: IgnoreRule, key: ResourceKey, matches: bool) -> None:
    assert rule.matches(key) is matches


def test_every_matching_rule_applies_once() -> None:
    ignores = IgnoreDifferences(
        [
            IgnoreRule(
                "apps", "Deployment", json_pointers=("/spec/replicas",), managed_fields_managers=("hpa",)
            ),
            IgnoreRule(
                "*", "*", json_pointers=("/spec/replicas", "/metadata/labels/x"), jq_path_expressions=(".a",)
            ),
            IgnoreRule("*", "*", jq_path_expressions=(".a", ".b"), managed_fields_managers=("hpa", "mesh")),
            IgnoreRule("", "Service", json_pointers=("/spec/clusterIP",)),
        ]
    )
    found = ignores.for_resource(DEPLOYMENT)
    assert found.pointers == (("spec", "replicas"), ("metadata", "labels", "x"))
    assert [deletion.expression for deletion in found.jq] == [".a", ".b"]
    assert found.managers == ("hpa", "mesh")
    obj = {
        "spec": {"replicas": 2, "paused": True},
        "metadata": {"labels": {"x": "1"}},
        "a": 1,
        "b": 2,
        "c": 3,
    }
    assert found.apply(obj) == {"spec": {"paused": True}, "metadata": {"labels": {}}, "c": 3}
    assert obj["a"] == 1  # not changed in place
    assert IgnoreDifferences().for_resource(DEPLOYMENT).apply(obj) == obj


@pytest.mark.parametrize(
    "rule",
    [
        IgnoreRule("*", "*", json_pointers=("spec/replicas",)),
        IgnoreRule("*", "*", jq_path_expressions=(".a[",)),
    ],
)
def test_unusable_rules_are_spec_errors(rule: IgnoreRule) -> None:
    with pytest.raises(SpecError):
        IgnoreDifferences([rule])


OWNED = parse_fields_v1(
    {
        "f:spec": {
            "f:replicas": {},
            "f:paused": {},
            "f:template": {"f:spec": {"f:containers": {'k:{"name":"web"}': {"f:image": {}}}}},
            "f:minReadySeconds": {},
        }
    }
)


def deployment(replicas: int, image: str, **spec: Any) -> dict[str, Any]:
    containers = [{"name": "web", "image": image}, {"name": "proxy", "image": image}]
    return {"spec": {"replicas": replicas, "template": {"spec": {"containers": containers}}, **spec}}


def test_managed_fields_that_differ_are_dropped_from_every_side() -> None:
    live = deployment(5, "web:2", paused=True, minReadySeconds=3)
    desired = deployment(3, "web:1", paused=True)
    predicted = deployment(3, "web:1", paused=True, minReadySeconds=3)
    removed = drop_managed_differences(live, [desired, None, predicted], OWNED)
    assert sorted(removed) == [".spec.replicas", '.spec.template.spec.containers[name="web"].image']
    expected_containers = [{"name": "web"}, {"name": "proxy", "image": "web:2"}]
    assert live["spec"] == {
        "paused": True,
        "minReadySeconds": 3,
        "template": {"spec": {"containers": expected_containers}},
    }
    assert desired["spec"]["template"]["spec"]["containers"] == [
        {"name": "web"},
        {"name": "proxy", "image": "web:1"},
    ]
    assert "replicas" not in desired["spec"] and "replicas" not in predicted["spec"]
    # equal values and fields only one side has are left alone
    assert desired["spec"]["paused"] is True and predicted["spec"]["minReadySeconds"] == 3
