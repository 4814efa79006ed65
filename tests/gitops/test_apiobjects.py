"""Argo CD's API objects built from the engine's data: ResourceDiff, ManifestResponse, AppProject,
ApplicationList, Cluster — field names, JSON-string states, Secret values masked."""

from __future__ import annotations

import json

from gitloop.gitops import apiobjects
from gitloop.gitops.diff import compare
from gitloop.model.clusters import ClusterRef
from gitloop.spec.argocd import DEFAULT_PROJECT

SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "db", "namespace": "shop"},
    "data": {"pw": "aGVsbG8="},
}
LIVE = {**SECRET, "data": {"pw": "b2xk"}, "metadata": {**SECRET["metadata"], "resourceVersion": "7"}}


def test_a_resource_diff_has_argo_cds_fields_and_masks_secrets() -> None:
    item = apiobjects.managed_resource(compare(SECRET, LIVE), LIVE)
    assert set(item) == {
        "group", "kind", "namespace", "name", "targetState", "liveState", "normalizedLiveState",
        "predictedLiveState", "diff", "hook", "modified", "resourceVersion",
    }  # fmt: skip
    assert item["resourceVersion"] == "7"
    assert (item["kind"], item["namespace"], item["name"], item["modified"], item["hook"]) == (
        "Secret", "shop", "db", True, False,
    )  # fmt: skip
    for state in ("targetState", "liveState", "normalizedLiveState", "predictedLiveState"):
        assert json.loads(item[state])["kind"] == "Secret"
    shown = json.dumps(item)
    assert "aGVsbG8=" not in shown and "b2xk" not in shown and "++++++++" in shown


def test_a_missing_live_object_is_the_json_null() -> None:
    item = apiobjects.managed_resource(compare(SECRET, None), None)
    assert item["liveState"] == "null" and item["normalizedLiveState"] == "null"


def test_manifests_are_json_strings_with_secrets_masked() -> None:
    answer = apiobjects.manifest_response([SECRET], revision="abc", namespace="shop", server="https://k")
    assert answer["revision"] == "abc" and answer["namespace"] == "shop" and answer["server"] == "https://k"
    (manifest,) = answer["manifests"]
    assert json.loads(manifest)["data"]["pw"] == "++++++++"
    assert SECRET["data"]["pw"] == "aGVsbG8="  # the engine's object is left alone


def test_the_default_project_and_a_list_page() -> None:
    shown = apiobjects.project(DEFAULT_PROJECT)
    assert shown["kind"] == "AppProject" and shown["metadata"] == {"name": "default", "namespace": "argocd"}
    assert shown["spec"]["sourceRepos"] == ["*"] and shown["spec"]["clusterResourceWhitelist"] == [
        {"group": "*", "kind": "*"}
    ]
    assert apiobjects.application_list([], "tok")["metadata"] == {"continue": "tok"}
    assert apiobjects.application_list([])["metadata"] == {}


def test_a_cluster_says_its_connection_state() -> None:
    ref = ClusterRef("local", "https://k", {"env": "dev"})
    shown = apiobjects.cluster(ref, status="Failed", message="refused", attempted_at=1.0, applications=3)
    assert shown["connectionState"] == {
        "status": "Failed",
        "message": "refused",
        "attemptedAt": "1970-01-01T00:00:01Z",
    }
    assert shown["info"]["applicationsCount"] == 3
    assert (shown["server"], shown["name"], shown["labels"]) == ("https://k", "local", {"env": "dev"})
    assert "project" not in shown and shown["config"] == {}
