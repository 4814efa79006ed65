"""AppProject rules from testdata/project-rules.yaml: ``!`` deny rules of sourceRepos and destinations,
and the refusals of invalid rules and sync windows (file, field and reason)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gitloop.errors import SpecError
from gitloop.spec.argocd import AppProject, parse_apps_text

TABLE = yaml.safe_load((Path(__file__).parent / "testdata" / "project-rules.yaml").read_text())


def _project(spec: dict[str, Any]) -> AppProject:
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "p"},
        "spec": spec,
    }
    found = parse_apps_text(yaml.safe_dump(doc), "project.yaml").project("p")
    assert found is not None
    return found


SOURCES = [(p, c) for p in TABLE["projects"] for c in p["sources"]]
TARGETS = [(p, c) for p in TABLE["projects"] for c in p["targets"]]


@pytest.mark.parametrize(("project", "case"), SOURCES, ids=[f"{p['name']}: {c['url']}" for p, c in SOURCES])
def test_source_repos(project: dict[str, Any], case: dict[str, Any]) -> None:
    found = _project({"sourceRepos": project["sourceRepos"], "destinations": project["destinations"]})
    assert found.permits_source(case["url"]) is case["permitted"]


@pytest.mark.parametrize(
    ("project", "case"),
    TARGETS,
    ids=[f"{p['name']}: {c.get('server') or c.get('name')} {c['namespace']}" for p, c in TARGETS],
)
def test_destinations(project: dict[str, Any], case: dict[str, Any]) -> None:
    found = _project({"sourceRepos": project["sourceRepos"], "destinations": project["destinations"]})
    permitted = found.permits_destination(case.get("server", ""), case.get("name", ""), case["namespace"])
    assert permitted is case["permitted"]


@pytest.mark.parametrize("case", TABLE["invalid"], ids=[c["case"] for c in TABLE["invalid"]])
def test_invalid_rules(case: dict[str, Any]) -> None:
    with pytest.raises(SpecError) as raised:
        _project(case["spec"])
    text = str(raised.value)
    assert "project.yaml" in text and case["field"] in text and case["message"] in text
