"""managedFields: reading FieldsV1 into field sets, and following paths into objects."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gitloop.gitops.diff.fieldpath import (
    Field,
    Index,
    Key,
    ListShape,
    MalformedFields,
    Value,
    canonical_json,
    list_shapes,
    managed_by,
    parse_fields_v1,
    path_str,
    remove,
    resolve,
)

FIELDS_V1: dict[str, Any] = {
    "f:metadata": {"f:labels": {".": {}, "f:app": {}}, "f:finalizers": {'v:"example.com/keep"': {}}},
    "f:spec": {
        "f:replicas": {},
        "f:template": {
            "f:spec": {
                "f:containers": {
                    'k:{"name":"web"}': {
                        ".": {},
                        "f:image": {},
                        "f:ports": {
                            'k:{"containerPort":8080,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}
                        },
                    }
                },
                "f:tolerations": {"i:0": {"f:key": {}}},
            }
        },
    },
}

OBJECT: dict[str, Any] = {
    "metadata": {"labels": {"app": "web"}, "finalizers": ["other", "example.com/keep"]},
    "spec": {
        "replicas": 2,
        "template": {
            "spec": {
                "containers": [
                    {"name": "sidecar", "image": "s"},
                    {"name": "web", "image": "w", "ports": [{"containerPort": 8080, "protocol": "TCP"}]},
                ],
                "tolerations": [{"key": "k", "operator": "Exists"}],
            }
        },
    },
}


def test_parse_lists_every_member_and_leaf() -> None:
    assert parse_fields_v1(FIELDS_V1).paths() == sorted(
        [
            '.metadata.finalizers[="example.com/keep"]',
            ".metadata.labels",
            ".metadata.labels.app",
            ".spec.replicas",
            '.spec.template.spec.containers[name="web"]',
            '.spec.template.spec.containers[name="web"].image',
            '.spec.template.spec.containers[name="web"].ports[containerPort=8080,protocol="TCP"]',
            '.spec.template.spec.containers[name="web"].ports[containerPort=8080,protocol="TCP"].containerPort',
            ".spec.template.spec.tolerations[0].key",
        ]
    )


def test_leaves_stop_at_nodes_without_children() -> None:
    leaves = {path_str(path) for path in parse_fields_v1(FIELDS_V1).leaves()}
    assert ".spec.replicas" in leaves
    assert '.spec.template.spec.containers[name="web"].image' in leaves
    assert ".metadata.labels" not in leaves  # a member with children is not a leaf


@pytest.mark.parametrize(
    ("raw", "element"),
    [
        ("f:spec", Field("spec")),
        ("f:kubernetes.io/name", Field("kubernetes.io/name")),
        ('k:{"name":"web"}', Key((("name", '"web"'),))),
        ('k:{"port":80,"protocol":"TCP"}', Key((("port", "80"), ("protocol", '"TCP"')))),
        ('v:"a"', Value('"a"')),
        ("v:3", Value("3")),
        ("i:2", Index(2)),
    ],
)
def test_path_elements(raw: str, element: object) -> None:
    assert list(parse_fields_v1({raw: {}}).children) == [element]


@pytest.mark.parametrize(
    "tree", [{"x:spec": {}}, {"k:[1]": {}}, {"k:{}": {}}, {"k:{nope": {}}, {"i:one": {}}, {"f:spec": []}, []]
)
def test_malformed(tree: Any) -> None:
    with pytest.raises(MalformedFields):
        parse_fields_v1(tree)


@pytest.mark.parametrize(
    ("path", "found", "value"),
    [
        ((Field("spec"), Field("replicas")), True, 2),
        (
            (
                Field("spec"),
                Field("template"),
                Field("spec"),
                Field("containers"),
                Key((("name", '"web"'),)),
                Field("image"),
            ),
            True,
            "w",
        ),
        ((Field("metadata"), Field("finalizers"), Value('"example.com/keep"')), True, "example.com/keep"),
        (
            (
                Field("spec"),
                Field("template"),
                Field("spec"),
                Field("tolerations"),
                Index(0),
                Field("operator"),
            ),
            True,
            "Exists",
        ),
        (
            (
                Field("spec"),
                Field("template"),
                Field("spec"),
                Field("containers"),
                Key((("name", '"gone"'),)),
            ),
            False,
            None,
        ),
        ((Field("spec"), Field("replicas"), Field("deeper")), False, None),
        ((Field("spec"), Field("template"), Field("spec"), Field("tolerations"), Index(3)), False, None),
    ],
)
def test_resolve(path: Any, found: bool, value: Any) -> None:
    assert resolve(OBJECT, path) == (found, value)


def test_key_matches_items_that_lack_a_defaulted_key_field() -> None:
    key = Key((("containerPort", "8080"), ("protocol", '"TCP"')))
    assert key.matches({"containerPort": 8080})
    assert not key.matches({"containerPort": 9090})
    assert not key.matches({"name": "http"})
    assert not key.matches("8080")


def test_remove_map_entry_and_list_item() -> None:
    obj = copy.deepcopy(OBJECT)
    containers = (Field("spec"), Field("template"), Field("spec"), Field("containers"))
    assert remove(obj, (*containers, Key((("name", '"sidecar"'),))))
    assert [c["name"] for c in obj["spec"]["template"]["spec"]["containers"]] == ["web"]
    assert remove(obj, (Field("metadata"), Field("labels"), Field("app")))
    assert obj["metadata"]["labels"] == {}
    assert not remove(obj, (Field("metadata"), Field("labels"), Field("app")))
    assert not remove(obj, ())


def live_with(*entries: Any) -> dict[str, Any]:
    return {"metadata": {"name": "x", "managedFields": list(entries)}}


def test_managed_by_unites_the_managers_entries_and_skips_unreadable_ones() -> None:
    live = live_with(
        {"manager": "gitloop", "operation": "Apply", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
        {"manager": "gitloop", "operation": "Update", "fieldsV1": {"f:spec": {"f:paused": {}}}},
        {"manager": "gitloop", "operation": "Apply", "fieldsV1": {"bad": {}}},
        {"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:metadata": {"f:labels": {}}}},
        {"operation": "Update"},
        "not an entry",
    )
    assert managed_by(live, ["gitloop"]).paths() == [".spec.paused", ".spec.replicas"]
    assert managed_by(live, ["kubectl"]).paths() == [".metadata.labels"]
    assert managed_by(live, ["nobody"]).paths() == []
    assert managed_by(None, ["gitloop"]).paths() == []
    assert managed_by({"metadata": {"managedFields": "nope"}}, ["gitloop"]).paths() == []


def test_list_shapes_come_from_every_manager() -> None:
    live = live_with(
        {"manager": "gitloop", "fieldsV1": FIELDS_V1},
        {"manager": "other", "fieldsV1": {"f:spec": {"f:ports": {'k:{"port":80,"protocol":"TCP"}': {}}}}},
    )
    shapes = list_shapes(live)
    assert shapes[("spec", "template", "spec", "containers")] == ListShape(keys=("name",))
    assert shapes[("spec", "template", "spec", "containers", "[]", "ports")] == ListShape(
        keys=("containerPort", "protocol")
    )
    assert shapes[("metadata", "finalizers")] == ListShape(is_set=True)
    assert shapes[("spec", "ports")] == ListShape(keys=("port", "protocol"))
    assert ("spec", "template", "spec", "tolerations") not in shapes


def test_canonical_json_ignores_key_order() -> None:
    assert canonical_json({"b": 1, "a": [1, "x"]}) == canonical_json({"a": [1, "x"], "b": 1})
