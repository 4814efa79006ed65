"""``RespectIgnoreDifferences=true``: ignored fields keep their live values in what a sync applies."""

from __future__ import annotations

from typing import Any

import pytest

from gitloop.gitops.diff import IgnoreDifferences, IgnoreRule, respect_ignore_differences


def deployment(
    replicas: int | None = None, images: dict[str, str] | None = None, **extra: Any
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "template": {"spec": {"containers": [{"name": n, "image": i} for n, i in (images or {}).items()]}}
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": spec,
        **extra,
    }


def rule(**fields: Any) -> IgnoreDifferences:
    return IgnoreDifferences([IgnoreRule("apps", "Deployment", **fields)])


REPLICAS = rule(json_pointers=("/spec/replicas",))
WEB_IMAGE = rule(jq_path_expressions=('.spec.template.spec.containers[] | select(.name == "web") | .image',))


@pytest.mark.parametrize(
    ("desired", "live", "ignores", "expected"),
    [
        pytest.param(deployment(3), deployment(5), REPLICAS, deployment(5), id="pointer-takes-live-value"),
        pytest.param(deployment(3), deployment(), REPLICAS, deployment(), id="absent-live-leaves-it-out"),
        pytest.param(deployment(3), None, REPLICAS, deployment(3), id="resource-to-create"),
        pytest.param(deployment(3), deployment(5), IgnoreDifferences(), deployment(3), id="no-rules"),
        pytest.param(
            deployment(3),
            deployment(5),
            IgnoreDifferences([IgnoreRule("apps", "StatefulSet", json_pointers=("/spec/replicas",))]),
            deployment(3),
            id="rule-for-another-kind",
        ),
        pytest.param(
            deployment(3, {"metrics": "m:2", "web": "w:2"}),
            deployment(5, {"web": "w:1", "metrics": "m:1"}),
            WEB_IMAGE,
            deployment(3, {"metrics": "m:2", "web": "w:1"}),
            id="jq-item-found-by-name",
        ),
        pytest.param(
            deployment(3, status={"replicas": 3}),
            deployment(5, status={"replicas": 5}),
            rule(json_pointers=("/spec/replicas", "/status")),
            deployment(5),
            id="ignored-status-is-not-copied-from-live",
        ),
    ],
)
def test_respect(desired: Any, live: Any, ignores: IgnoreDifferences, expected: Any) -> None:
    assert respect_ignore_differences(desired, live, ignores) == expected


def test_removed_list_item_is_put_back_in_place() -> None:
    ignores = rule(
        jq_path_expressions=('.spec.template.spec.initContainers[] | select(.name == "mesh-init")',)
    )
    desired = deployment(1)
    desired["spec"]["template"]["spec"]["initContainers"] = [{"name": "setup", "image": "s:2"}]
    live = deployment(1)
    live["spec"]["template"]["spec"]["initContainers"] = [
        {"name": "mesh-init", "image": "i"},
        {"name": "setup", "image": "s:1"},
    ]
    patched = respect_ignore_differences(desired, live, ignores)
    assert patched["spec"]["template"]["spec"]["initContainers"] == [
        {"name": "mesh-init", "image": "i"},
        {"name": "setup", "image": "s:2"},
    ]


def test_fields_of_ignored_managers_take_live_values() -> None:
    live = deployment(7, {"web": "w:1"})
    live["metadata"]["managedFields"] = [
        {
            "manager": "kube-controller-manager",
            "operation": "Update",
            "fieldsV1": {"f:spec": {"f:replicas": {}}},
        }
    ]
    patched = respect_ignore_differences(
        deployment(3, {"web": "w:2"}), live, rule(managed_fields_managers=("kube-controller-manager",))
    )
    assert patched == deployment(7, {"web": "w:2"})


def test_inputs_are_not_changed() -> None:
    desired, live = deployment(3, {"web": "w:2"}), deployment(5, {"web": "w:1"})
    respect_ignore_differences(desired, live, WEB_IMAGE)
    assert desired == deployment(3, {"web": "w:2"}) and live == deployment(5, {"web": "w:1"})
