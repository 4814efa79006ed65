"""Argo CD Application / AppProject parsing: one testdata file per case, one table of expectations."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitloop.errors import SpecError
from gitloop.spec.argocd import (
    DEFAULT_PROJECT,
    AppProject,
    Backoff,
    load_apps,
    parse_apps_text,
    project_problems,
)

TESTDATA = Path(__file__).parent / "testdata"

INVALID = {
    "app-unknown-field.yaml": ("app-unknown-field.yaml:9", "spec.source.pathh", "unknown field 'pathh'"),
    "app-missing-destination.yaml": ("app-missing-destination.yaml:5", "spec.destination", "required"),
    "app-server-and-name.yaml": (
        "app-server-and-name.yaml:11",
        "spec.destination.name",
        "both name and server",
    ),
    "app-bad-backoff.yaml": ("app-bad-backoff.yaml:15", "spec.syncPolicy.retry.backoff.duration", "duration"),
    "app-bad-sync-option.yaml": (
        "app-bad-sync-option.yaml:13",
        "spec.syncPolicy.syncOptions[0]",
        "Key=value",
    ),
    "app-two-tools.yaml": ("app-two-tools.yaml:11", "spec.source.kustomize", "multiple application sources"),
    "app-no-project.yaml": ("app-no-project.yaml:5", "spec.project", "required"),
    "app-wrong-kind.yaml": ("app-wrong-kind.yaml:2", "kind", "unsupported kind 'Applicaton'"),
    "app-duplicate.yaml": ("app-duplicate.yaml:10", "Application/twin", "defined twice"),
    "project-unknown-field.yaml": ("project-unknown-field.yaml:6", "spec.sourceRepo", "unknown field"),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_documents_name_file_line_and_field(name: str) -> None:
    where, field, message = INVALID[name]
    with pytest.raises(SpecError) as caught:
        load_apps([TESTDATA / name])
    text = str(caught.value)
    assert where in text and field in text and message in text, text


def test_seed_application_reads_with_argo_defaults() -> None:
    app = load_apps([TESTDATA / "app-seed.yaml"]).app("myapp")
    assert app.namespace == "argocd" and app.project == "default"
    assert app.source.repo_url == "https://github.com/org/gitops-repo"
    assert (app.source.path, app.source.target_revision) == ("k8s", "main")
    assert app.destination.server == "https://kubernetes.default.svc"
    assert app.destination.namespace == "production"
    policy = app.sync_policy
    assert policy.auto_sync and policy.automated is not None
    assert policy.automated.prune and policy.automated.self_heal and not policy.automated.allow_empty
    assert policy.sync_options == ("CreateNamespace=true",)
    assert policy.retry is None and app.revision_history_limit == 10
    assert not app.multi_source and str(app.origin).endswith("app-seed.yaml:1")


def test_full_application_with_sources_helm_retry_and_ignores() -> None:
    apps = load_apps([TESTDATA / "app-full.yaml", TESTDATA / "project-team.yaml"])
    app = apps.app("full")
    assert app.multi_source and len(app.sources) == 2
    helm = app.sources[0].helm
    assert helm is not None and helm.release_name == "web" and helm.value_files == ("values-prod.yaml",)
    assert [(p.name, p.value, p.force_string) for p in helm.parameters] == [
        ("replicas", "3", False),
        ("image.tag", "1.0", True),
    ]
    assert helm.values_object == {"ingress": {"enabled": False}}
    assert app.sources[0].raw["helm"]["releaseName"] == "web"
    assert app.sources[1].is_ref_only and app.rendered_sources == (app.sources[0],)
    assert app.destination.name == "in-cluster" and app.destination.server == ""
    assert app.sync_policy.auto_sync
    retry = app.sync_policy.retry
    assert retry is not None and retry.limit == 5
    assert retry.backoff == Backoff(duration=10.0, factor=3, max_duration=120.0)
    assert [retry.backoff.delay(n) for n in range(4)] == [10.0, 30.0, 90.0, 120.0]
    assert retry.allows(4) and not retry.allows(5)
    ignore = app.ignore_differences[0]
    assert (ignore.group, ignore.kind, ignore.json_pointers) == ("apps", "Deployment", ("/spec/replicas",))
    assert app.revision_history_limit == 3
    assert apps.project("team") is not None and apps.project("default") is DEFAULT_PROJECT


def _team() -> AppProject:
    project = load_apps([TESTDATA / "project-team.yaml"]).project("team")
    assert project is not None
    return project


@pytest.mark.parametrize(
    ("url", "permitted"),
    [
        ("https://git.example/config.git", True),
        ("https://GIT.example/config/", True),
        ("https://git.example/secret.git", False),
        ("https://git.example/deeper/repo", False),
        ("https://elsewhere.example/config", False),
    ],
)
def test_project_source_repos(url: str, permitted: bool) -> None:
    assert _team().permits_source(url) is permitted


@pytest.mark.parametrize(
    ("server", "name", "namespace", "permitted"),
    [
        ("https://kubernetes.default.svc", "", "team-a", True),
        ("https://kubernetes.default.svc", "", "prod", False),
        ("", "in-cluster", "web", True),
        ("", "other", "web", False),
    ],
)
def test_project_destinations(server: str, name: str, namespace: str, permitted: bool) -> None:
    assert _team().permits_destination(server, name, namespace) is permitted


def test_project_kinds() -> None:
    team = _team()
    assert team.permits_kind("", "Namespace", namespaced=False)
    assert not team.permits_kind("rbac.authorization.k8s.io", "ClusterRole", namespaced=False)
    assert team.permits_kind("apps", "Deployment", namespaced=True)
    assert not team.permits_kind("", "ResourceQuota", namespaced=True)
    assert DEFAULT_PROJECT.permits_kind("rbac.authorization.k8s.io", "ClusterRole", namespaced=False)


def test_project_problems_explain_refusals() -> None:
    apps = parse_apps_text(
        (TESTDATA / "project-team.yaml").read_text()
        + "---\n"
        + (TESTDATA / "app-seed.yaml").read_text().replace("project: default", "project: team"),
        "apps.yaml",
    )
    app = apps.app("myapp")
    problems = project_problems(app, apps.project("team"))
    assert any("repo https://github.com/org/gitops-repo is not permitted" in p for p in problems)
    assert any("do not match any of the allowed destinations" in p for p in problems)
    assert project_problems(app, None) == ["Application referencing project team which does not exist"]
    assert project_problems(app, DEFAULT_PROJECT) == []
    with pytest.raises(SpecError, match="no Application named 'nope'"):
        apps.app("nope")
