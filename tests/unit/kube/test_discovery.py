"""Discovery documents into ApiResource values: preferred versions, subresources left out."""

from __future__ import annotations

from gitloop.kube.discovery import group_versions, resources_of
from gitloop.model.resources import GroupVersionKind

CORE = {"kind": "APIVersions", "versions": ["v1"]}
GROUPS = {
    "kind": "APIGroupList",
    "groups": [
        {
            "name": "batch",
            "versions": [{"groupVersion": "batch/v1", "version": "v1"}, {"groupVersion": "batch/v1beta1"}],
            "preferredVersion": {"groupVersion": "batch/v1"},
        },
        {
            "name": "apps",
            "versions": [{"groupVersion": "apps/v1"}],
            "preferredVersion": {"groupVersion": "apps/v1"},
        },
    ],
}


def test_group_versions_core_first_with_preference() -> None:
    assert group_versions(CORE, GROUPS) == [
        ("v1", True),
        ("batch/v1", True),
        ("batch/v1beta1", False),
        ("apps/v1", True),
    ]


def test_resources_skip_subresources_and_carry_scope() -> None:
    rl = {
        "groupVersion": "apps/v1",
        "resources": [
            {"name": "deployments", "kind": "Deployment", "namespaced": True, "verbs": ["get", "patch"]},
            {"name": "deployments/status", "kind": "Deployment", "namespaced": True, "verbs": ["get"]},
        ],
    }
    (dep,) = resources_of("apps/v1", rl)
    assert dep.gvk == GroupVersionKind("apps", "v1", "Deployment")
    assert dep.plural == "deployments" and dep.namespaced and dep.verbs == {"get", "patch"}
    core = resources_of(
        "v1", {"resources": [{"name": "namespaces", "kind": "Namespace", "namespaced": False}]}
    )
    assert core[0].gvk.group == "" and core[0].gvk.api_version == "v1" and not core[0].namespaced
