"""App of Apps, pure: every case of testdata/appofapps.yaml — a parent's manifests split into resources
and children, the children compared with what the engine registered, folded into the parent's state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gitloop.gitops import appofapps
from gitloop.gitops.applications import Applications
from gitloop.gitops.comparison import Comparison
from gitloop.gitops.sync.selection import ResourceSelector
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.resources import Manifest, ResourceKey
from gitloop.model.sync import SyncStatus
from gitloop.spec.argocd import parse_apps_text

TABLE = yaml.safe_load((Path(__file__).parent / "testdata" / "appofapps.yaml").read_text())
API = "argoproj.io/v1alpha1"


def application(name: str, path: str = "", namespace: str = "") -> Manifest:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    spec = {
        "project": "default",
        "source": {"repoURL": "https://git.example/config.git", "path": path or name},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "shop"},
    }
    return {"apiVersion": API, "kind": "Application", "metadata": meta, "spec": spec}


def manifest(short: dict[str, Any]) -> Manifest:
    if "app" in short:
        return application(short["app"], short.get("path", ""), short.get("namespace", ""))
    if "project" in short:
        return {"apiVersion": API, "kind": "AppProject", "metadata": {"name": short["project"]}, "spec": {}}
    if "appset" in short:
        return {
            "apiVersion": API,
            "kind": "ApplicationSet",
            "metadata": {"name": short["appset"]},
            "spec": {},
        }
    return short


def registered(case: dict[str, Any]) -> tuple[Applications, dict[str, HealthResult]]:
    apps = Applications()
    health: dict[str, HealthResult] = {}
    for entry in case.get("registered", []):
        doc = application(entry["name"], entry.get("path", ""))
        [app] = parse_apps_text(yaml.safe_dump(doc)).apps.values()
        apps.put(app, owner=entry.get("owner", "app:root"))
        if "health" in entry:
            health[entry["name"]] = HealthResult(HealthStatus(entry["health"]))
    for name in case.get("projects", []):
        [project] = parse_apps_text(yaml.safe_dump(manifest({"project": name}))).projects.values()
        apps.put_project(project, owner="app:root")
    return apps, health


def described(key: ResourceKey) -> str:
    return f"{key.kind}/{key.namespace}/{key.name}"


@pytest.mark.parametrize("case", TABLE["cases"], ids=[c["case"] for c in TABLE["cases"]])
def test_split_and_compare_children(case: dict[str, Any]) -> None:
    manifests = [manifest(m) for m in case["manifests"]]
    resources, children = appofapps.split(manifests, parent="root")
    if "problems" in case:
        text = "; ".join(children.problems)
        assert children.problems and all(part in text for part in case["problems"]), text
        return
    assert not children.problems
    assert [f"{m['kind']}/{m['metadata']['name']}" for m in resources] == case.get("resources", [])
    apps, health = registered(case)
    handed = {name: manifest({"appset": name}) for name in case.get("handed", [])}
    statuses, conditions = appofapps.compare_children("root", children, apps, health.get, handed)
    found = {}
    for status in statuses:
        words = [status.status.value, *([status.health.status.value] if status.health else [])]
        found[described(status.key)] = " ".join([*words, *(["prune"] if status.requires_pruning else [])])
    assert found == case["statuses"]
    assert [f"{c.type.value}: {c.message}" for c in conditions] == case.get("conditions", [])
    parent = case.get("parent", {"sync": "Synced", "health": "Healthy"})
    own = Comparison((), (), SyncStatus(parent["sync"]), HealthResult(HealthStatus(parent["health"])))
    folded = appofapps.fold(own, statuses, conditions)
    assert (folded.sync_status.value, folded.health.status.value) == (case["sync"], case["health"])
    assert len(folded.resources) == len(statuses) and len(folded.conditions) == len(conditions)


def test_a_sync_restricted_to_resources_registers_the_children_it_selects() -> None:
    _, children = appofapps.split([application("one"), application("two")], parent="root")
    chosen = appofapps.selected(children, [ResourceSelector.parse("argoproj.io:Application:argocd/two")])
    assert [a.name for a in chosen.apps] == ["two"]
    assert appofapps.selected(children, []) is children
