"""Display: unified diffs of normalised YAML, deterministic, optionally coloured."""

from __future__ import annotations

from typing import Any

from gitloop.gitops.diff import ResourceDiff, colorize, compare, unified_diff
from gitloop.gitops.diff.render import label, to_yaml
from gitloop.model.resources import ResourceKey
from gitloop.model.sync import SyncStatus


def config_map(data: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm", "namespace": "ns", **meta},
        "data": data,
    }


def test_unified_diff_live_is_a_and_predicted_is_b() -> None:
    text = unified_diff(compare(config_map({"b": "2", "a": "new"}), config_map({"a": "old", "b": "2"})))
    assert text.splitlines() == [
        "--- a/core/ConfigMap/ns/cm",
        "+++ b/core/ConfigMap/ns/cm",
        "@@ -1,6 +1,6 @@",
        " apiVersion: v1",
        " data:",
        "-  a: old",
        "+  a: new",
        "   b: '2'",
        " kind: ConfigMap",
        " metadata:",
    ]


def test_key_order_does_not_matter() -> None:
    first = {
        "data": {"z": "1", "a": "2"},
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"name": "cm"},
    }
    second = {
        "apiVersion": "v1",
        "metadata": {"name": "cm"},
        "kind": "ConfigMap",
        "data": {"a": "2", "z": "1"},
    }
    assert to_yaml(first) == to_yaml(second)
    assert unified_diff(compare(first, second)) == ""


def test_multi_line_strings_are_blocks() -> None:
    assert to_yaml({"script": "set -e\nmake test\n"}) == "script: |\n  set -e\n  make test\n"
    assert to_yaml(None) == ""


def test_created_and_pruned_resources_diff_against_dev_null() -> None:
    created = unified_diff(compare(config_map({"a": "1"}), None)).splitlines()
    assert created[:2] == ["--- /dev/null", "+++ b/core/ConfigMap/ns/cm"]
    assert all(line.startswith("+") for line in created[3:])
    pruned = unified_diff(compare(None, config_map({"a": "1"}))).splitlines()
    assert pruned[:2] == ["--- a/core/ConfigMap/ns/cm", "+++ /dev/null"]
    assert all(line.startswith("-") for line in pruned[3:])


def test_context_lines() -> None:
    live = config_map({f"k{i}": str(i) for i in range(10)})
    desired = config_map({**live["data"], "k5": "changed"})
    assert len(unified_diff(compare(desired, live), context=0).splitlines()) == 5
    assert len(unified_diff(compare(desired, live), context=1).splitlines()) == 7


def test_labels() -> None:
    assert (
        label(ResourceDiff(ResourceKey("apps", "Deployment", "shop", "web"), SyncStatus.SYNCED))
        == "apps/Deployment/shop/web"
    )
    assert (
        label(ResourceDiff(ResourceKey("", "Namespace", "", "shop"), SyncStatus.SYNCED))
        == "core/Namespace/shop"
    )


def test_failed_comparison_has_no_diff() -> None:
    failed = ResourceDiff.failed(ResourceKey("", "ConfigMap", "ns", "cm"), "dry run failed: forbidden")
    assert failed.status is SyncStatus.UNKNOWN
    assert unified_diff(failed) == ""


def test_colour() -> None:
    text = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n same\n"
    assert colorize(text) == (
        "\x1b[1m--- a/x\x1b[0m\n"
        "\x1b[1m+++ b/x\x1b[0m\n"
        "\x1b[36m@@ -1 +1 @@\x1b[0m\n"
        "\x1b[31m-old\x1b[0m\n"
        "\x1b[32m+new\x1b[0m\n"
        " same\n"
    )
    assert colorize("") == ""


def test_secrets_are_masked_even_in_a_hand_made_result() -> None:
    live = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"password": "cGxhaW4="}}
    hand_made = ResourceDiff(ResourceKey("", "Secret", "", "s"), SyncStatus.OUT_OF_SYNC, live=live)
    text = unified_diff(hand_made)
    assert "cGxhaW4=" not in text
    assert "-  password: ++++++++" in text.splitlines()
