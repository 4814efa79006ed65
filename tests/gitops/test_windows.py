"""Sync windows: every case of testdata/windows.yaml, decided by ``gitloop.gitops.windows.state``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitloop.gitops.windows import state
from gitloop.spec.argocd import Application, parse_apps_text

TABLE = yaml.safe_load((Path(__file__).parent / "testdata" / "windows.yaml").read_text())
DEFAULT_APP = {"name": "web", "server": "https://kubernetes.default.svc", "namespace": "prod"}


def _objects(case: dict[str, Any]) -> tuple[Application, Any]:
    app = case.get("app", DEFAULT_APP)
    destination = {"namespace": app["namespace"]}
    if "cluster" in app:
        destination["name"] = app["cluster"]
    else:
        destination["server"] = app["server"]
    project = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "team"},
        "spec": {"sourceRepos": ["*"], "syncWindows": case["windows"]},
    }
    application = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": app["name"]},
        "spec": {
            "project": "team",
            "source": {"repoURL": "https://git.example/config", "path": "web"},
            "destination": destination,
        },
    }
    found = parse_apps_text(yaml.safe_dump_all([project, application]), "windows.yaml")
    return found.apps[app["name"]], found.projects["team"]


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


@pytest.mark.parametrize("case", TABLE["cases"], ids=[c["case"] for c in TABLE["cases"]])
def test_window_state(case: dict[str, Any]) -> None:
    app, project = _objects(case)
    windows = project.sync_windows
    found = state(windows, app, _epoch(case["now"]))
    expect = case["expect"]
    assert found.allowed is expect["allowed"]
    assert found.manual_allowed is expect["manual"]
    assert found.assigned == tuple(windows[i] for i in expect["assigned"])
    assert found.active == tuple(windows[i] for i in expect["active"])
    assert found.blocking == tuple(windows[i] for i in expect["blocking"])
    assert found.next_change == (None if expect["next"] is None else _epoch(expect["next"]))
    message = found.message()
    assert bool(message) is not expect["allowed"]
    for window in found.blocking:
        assert window.label in message
