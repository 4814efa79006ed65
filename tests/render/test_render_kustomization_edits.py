"""The ``kustomize edit`` equivalents, on kustomization mappings: kustomize v5's rules, no binaries."""

from __future__ import annotations

from typing import Any

import pytest

from gitloop.errors import RenderError
from gitloop.render import kustomization as edit

SPLITS = [
    ("nginx", ("nginx", "", "")),
    ("nginx:1.25", ("nginx", "1.25", "")),
    ("nginx@sha256:abc", ("nginx", "", "sha256:abc")),
    ("nginx:1.25@sha256:abc", ("nginx", "1.25", "sha256:abc")),
    ("registry.local:5000/team/app", ("registry.local:5000/team/app", "", "")),
    ("registry.local:5000/team/app:v2", ("registry.local:5000/team/app", "v2", "")),
    ("registry.local:5000/team/app@sha256:abc", ("registry.local:5000/team/app", "", "sha256:abc")),
]


@pytest.mark.parametrize(("reference", "expected"), SPLITS)
def test_split_image(reference: str, expected: tuple[str, str, str]) -> None:
    assert edit.split_image(reference) == expected


PARSES: list[tuple[str, dict[str, str]]] = [
    ("nginx:1.27", {"name": "nginx", "newTag": "1.27"}),
    ("nginx@sha256:abc", {"name": "nginx", "digest": "sha256:abc"}),
    ("nginx=mirror/nginx", {"name": "nginx", "newName": "mirror/nginx"}),
    ("nginx=mirror/nginx:1.27", {"name": "nginx", "newName": "mirror/nginx", "newTag": "1.27"}),
    (
        "nginx=mirror/nginx:1.27@sha256:abc",
        {"name": "nginx", "newName": "mirror/nginx", "newTag": "1.27", "digest": "sha256:abc"},
    ),
    ("nginx=*:1.27", {"name": "nginx", "newName": "*", "newTag": "1.27"}),
]


@pytest.mark.parametrize(("arg", "expected"), PARSES)
def test_parse_image(arg: str, expected: dict[str, str]) -> None:
    assert edit.parse_image(arg) == expected


def test_a_bare_image_name_is_not_an_override() -> None:
    with pytest.raises(RenderError, match="invalid format of image"):
        edit.parse_image("nginx")


def test_set_images_replaces_entries_wholesale_keeps_others_and_sorts() -> None:
    k: dict[str, Any] = {
        "images": [
            {"name": "redis", "newTag": "7"},
            {"name": "nginx", "newName": "mirror/nginx", "newTag": "1.25"},
            {"name": "app", "newName": "registry/app", "newTag": "old"},
        ]
    }

    edit.set_images(k, ["nginx:1.27", "app=*:new", "busybox@sha256:abc"])

    assert k["images"] == [
        {"name": "app", "newName": "registry/app", "newTag": "new"},
        {"name": "busybox", "digest": "sha256:abc"},
        {"name": "nginx", "newTag": "1.27"},
        {"name": "redis", "newTag": "7"},
    ]


def test_a_preserved_part_that_did_not_exist_is_dropped() -> None:
    k: dict[str, Any] = {}
    edit.set_images(k, ["nginx=*:1.27"])
    assert k["images"] == [{"name": "nginx", "newTag": "1.27"}]


def test_set_replicas_merges_by_name() -> None:
    k: dict[str, Any] = {"replicas": [{"name": "b", "count": 1}, {"name": "a", "count": 1}]}
    edit.set_replicas(k, [("b", 3), ("c", 2)])
    assert k["replicas"] == [{"name": "a", "count": 1}, {"name": "b", "count": 3}, {"name": "c", "count": 2}]


def test_labels_without_selector_join_an_entry_with_the_same_flags() -> None:
    k: dict[str, Any] = {"labels": [{"pairs": {"a": "1"}, "includeSelectors": True}, {"pairs": {"b": "2"}}]}

    edit.add_labels(k, {"c": "3"}, force=False, without_selector=True, include_templates=False)
    edit.add_labels(k, {"d": "4"}, force=False, without_selector=True, include_templates=True)

    assert k["labels"] == [
        {"pairs": {"a": "1"}, "includeSelectors": True},
        {"pairs": {"b": "2", "c": "3"}},
        {"pairs": {"d": "4"}, "includeTemplates": True},
    ]
    with pytest.raises(RenderError, match="label b already in kustomization file"):
        edit.add_labels(k, {"b": "9"}, force=False, without_selector=True, include_templates=False)


def test_annotations_patches_components_and_namespace() -> None:
    k: dict[str, Any] = {
        "commonAnnotations": {"a": "1"},
        "patches": [{"path": "p.yaml"}],
        "components": ["../x"],
    }

    edit.add_annotations(k, {"a": "2"}, force=True)
    edit.add_patches(k, [{"patch": "[]", "target": {"kind": "Deployment"}}])
    edit.add_components(k, ["../x", "../y"])
    edit.set_namespace(k, "team-a")

    assert k == {
        "commonAnnotations": {"a": "2"},
        "patches": [{"path": "p.yaml"}, {"patch": "[]", "target": {"kind": "Deployment"}}],
        "components": ["../x", "../y"],
        "namespace": "team-a",
    }
    with pytest.raises(RenderError, match="not a valid namespace name"):
        edit.set_namespace(k, "Team_A")
