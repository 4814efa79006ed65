"""The three-way merge that predicts the live object when there is no server-side apply dry run."""

from __future__ import annotations

from typing import Any

import pytest

from gitloop.gitops.diff.fieldpath import FieldSet, ListShape, parse_fields_v1
from gitloop.gitops.diff.merge import fields_of, predict


def c(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, **fields}


@pytest.mark.parametrize(
    ("live", "desired", "applied", "expected"),
    [
        pytest.param(
            {"containers": [c("a", x=1), c("b")]},
            {"containers": [c("a"), c("new"), c("b")]},
            {},
            {"containers": [c("a", x=1), c("new"), c("b")]},
            id="new-item-after-its-predecessor-in-git",
        ),
        pytest.param(
            {"containers": [c("sidecar"), c("a")]},
            {"containers": [c("new"), c("a")]},
            {},
            {"containers": [c("sidecar"), c("new"), c("a")]},
            id="new-first-item-before-the-first-git-item",
        ),
        pytest.param(
            {"containers": [c("sidecar"), c("a", image="1")]},
            {"containers": [c("a", image="2")]},
            {},
            {"containers": [c("sidecar"), c("a", image="2")]},
            id="other-managers-item-kept-in-place",
        ),
        pytest.param(
            {"containers": [c("a"), c("gone")]},
            {"containers": [c("a")]},
            {"f:containers": {'k:{"name":"gone"}': {".": {}, "f:name": {}}}},
            {"containers": [c("a")]},
            id="item-gitloop-applied-and-git-dropped-goes",
        ),
        pytest.param(
            {"containers": [c("a"), c("a")]},
            {"containers": [c("a", image="x")]},
            {},
            {"containers": [c("a", image="x")]},
            id="duplicate-keys-merge-by-position",
        ),
        pytest.param(
            {"finalizers": ["theirs", "ours-dropped", "kept"]},
            {"finalizers": ["kept", "new"]},
            {"f:finalizers": {'v:"ours-dropped"': {}, 'v:"kept"': {}}},
            {"finalizers": ["theirs", "kept", "new"]},
            id="set-list-by-value",
        ),
        pytest.param(
            {"args": ["a", "b", "c"]},
            {"args": ["a", "c"]},
            {},
            {"args": ["a", "c"]},
            id="scalar-list-is-replaced",
        ),
        pytest.param(
            {"spec": {"x": 1}},
            {"spec": {"securityContext": {}, "tolerations": [], "x": 1}},
            {},
            {"spec": {"x": 1}},
            id="empty-desired-map-or-list-is-unset",
        ),
        pytest.param(
            {"spec": {"tolerations": [{"key": "a"}]}},
            {"spec": {"tolerations": []}},
            {},
            {"spec": {"tolerations": []}},
            id="empty-desired-list-clears-a-live-one",
        ),
        pytest.param(
            {
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"},
                }
            },
            {},
            {"f:strategy": {"f:rollingUpdate": {"f:maxSurge": {}}}},
            {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%"}}},
            id="prune-only-what-gitloop-applied",
        ),
        pytest.param(
            {"metadata": {"labels": {"a": "1"}, "name": "x"}},
            {"metadata": {"name": "x"}},
            {"f:metadata": {"f:labels": {"f:a": {}}}},
            {"metadata": {"name": "x"}},
            id="map-left-empty-by-pruning-goes",
        ),
        pytest.param(
            {"value": {"nested": 1}},
            {"value": "flat"},
            {},
            {"value": "flat"},
            id="type-change-takes-the-desired-value",
        ),
    ],
)
def test_predict(
    live: dict[str, Any], desired: dict[str, Any], applied: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert predict(live, desired, parse_fields_v1(applied), {}) == expected


def test_positional_items_keep_defaults_but_lose_what_last_applied_had() -> None:
    last_applied = {"stages": [{"run": "make", "cache": True}]}
    live = {"stages": [{"run": "make", "cache": True, "timeout": "10m"}]}
    desired = {"stages": [{"run": "make"}]}
    applied = fields_of(last_applied, {})
    assert predict(live, desired, applied, {}) == {"stages": [{"run": "make", "timeout": "10m"}]}


def test_keys_from_managed_fields_match_items_missing_a_defaulted_key_field() -> None:
    path = ("spec", "ports")
    shapes: dict[tuple[str, ...], ListShape] = {path: ListShape(keys=("port", "protocol"))}
    live = {
        "spec": {"ports": [{"port": 53, "protocol": "UDP", "name": "dns"}, {"port": 80, "protocol": "TCP"}]}
    }
    desired = {"spec": {"ports": [{"port": 80, "name": "http"}]}}
    assert predict(live, desired, None, shapes) == {
        "spec": {
            "ports": [
                {"port": 53, "protocol": "UDP", "name": "dns"},
                {"port": 80, "protocol": "TCP", "name": "http"},
            ]
        }
    }


def test_fields_of_a_last_applied_object() -> None:
    obj = {
        "metadata": {"labels": {"a": "1"}, "finalizers": ["f"]},
        "spec": {"containers": [{"name": "web", "image": "x"}], "args": ["-v"], "stages": [{"run": "make"}]},
    }
    assert fields_of(obj, {}).paths() == [
        ".metadata",
        ".metadata.finalizers",
        '.metadata.finalizers[="f"]',
        ".metadata.labels",
        ".metadata.labels.a",
        ".spec",
        ".spec.args",
        ".spec.containers",
        '.spec.containers[name="web"]',
        '.spec.containers[name="web"].image',
        '.spec.containers[name="web"].name',
        ".spec.stages",
        ".spec.stages[0]",
        ".spec.stages[0].run",
    ]


def test_no_applied_fields_keeps_everything_live_has() -> None:
    live = {"spec": {"replicas": 1, "extra": {"a": 1}}}
    assert predict(live, {"spec": {"replicas": 1}}, None, {}) == live
    assert predict(live, {"spec": {"replicas": 1}}, FieldSet(), {}) == live
