"""The ApplicationSet controller: each policy × create/update/delete, and the rule that a generator or
render error changes nothing and deletes nothing (argo-cd#18780)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from appset_fakes import FakeSink, FakeTree

from gitloop.appset.controller import (
    ERROR_OCCURRED,
    PARAMETERS_GENERATED,
    RESOURCES_UP_TO_DATE,
    AppSetController,
    render,
    status_json,
)
from gitloop.appset.ports import StaticClusters
from gitloop.spec.argocd import parse_apps_text
from gitloop.spec.argocd.application import RESOURCES_FINALIZER
from gitloop.spec.argocd.applicationset import ApplicationSet

REPO = "https://git.example/config.git"


def _appset(
    policy: str = "sync",
    *,
    preserve: bool = False,
    revision: str = "HEAD",
    name_tpl: str = "web-{{path.basename}}",
) -> ApplicationSet:
    doc: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "web"},
        "spec": {
            "generators": [
                {"git": {"repoURL": REPO, "revision": revision, "directories": [{"path": "envs/*"}]}}
            ],
            "template": {
                "metadata": {"name": name_tpl},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": REPO, "targetRevision": "HEAD", "path": "{{path}}"},
                    "destination": {
                        "server": "https://kubernetes.default.svc",
                        "namespace": "{{path.basename}}",
                    },
                },
            },
            "syncPolicy": {"applicationsSync": policy, "preserveResourcesOnDeletion": preserve},
        },
    }
    [appset] = parse_apps_text(json.dumps(doc), "web.yaml").appsets.values()
    return appset


def _tree(*envs: str) -> FakeTree:
    files = {f"envs/{e}/kustomization.yaml": "" for e in envs}
    return FakeTree({REPO: {"HEAD": {"sha": "c0ffee", "files": files}}})


def _seed(sink: FakeSink, envs: tuple[str, ...]) -> None:
    """Applications as an earlier reconcile left them (``old`` paths, so an update is visible)."""
    for env in envs:
        app = render(_appset(), {"path": f"old/{env}", "path.basename": env})
        sink.upsert(app, "appset:web")


# Before: web-dev and web-prod exist (at old paths); git now has envs/prod and envs/qa.
# policy -> (created, updated, deleted)
POLICIES = {
    "sync": (("qa",), ("prod",), ("dev",)),
    "create-only": (("qa",), (), ()),
    "create-update": (("qa",), ("prod",), ()),
    "create-delete": (("qa",), (), ("dev",)),
}


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_each_policy_creates_updates_and_deletes_as_argo_cd_says(policy: str) -> None:
    created_env, updated_env, deleted_env = POLICIES[policy]
    sink = FakeSink()
    _seed(sink, ("dev", "prod"))
    controller = AppSetController(sink, _tree("prod", "qa"), StaticClusters(), clock=lambda: 1000.0)
    status = asyncio.run(controller.reconcile(_appset(policy)))
    assert status.created == tuple(f"web-{e}" for e in created_env)
    assert status.updated == tuple(f"web-{e}" for e in updated_env)
    assert status.deleted == tuple(f"web-{e}" for e in deleted_env)
    assert [name for name, _ in sink.deletions] == [f"web-{e}" for e in deleted_env]
    prod = sink.apps["web-prod"]
    assert prod.source.path == ("envs/prod" if updated_env else "old/prod")
    assert status.error == ""
    assert status.condition(ERROR_OCCURRED) is not None and not status.condition(ERROR_OCCURRED).status  # type: ignore[union-attr]


def test_generated_applications_carry_the_resources_finalizer_unless_preserved() -> None:
    kept = render(_appset(), {"path": "envs/dev", "path.basename": "dev"})
    preserved = render(_appset(preserve=True), {"path": "envs/dev", "path.basename": "dev"})
    assert kept.finalizers == (RESOURCES_FINALIZER,)
    assert preserved.finalizers == ()
    assert kept.namespace == "argocd"
    assert kept.destination.namespace == "dev"


def _errored(sink: FakeSink, appset: ApplicationSet, tree: FakeTree) -> dict[str, Any]:
    before = dict(sink.apps)
    controller = AppSetController(sink, tree, StaticClusters(), clock=lambda: 1000.0)
    status = asyncio.run(controller.reconcile(appset))
    assert sink.apps == before, "an error must change nothing"
    assert sink.deletions == []
    assert status.created == status.updated == status.deleted == ()
    assert status.applications == tuple(sorted(before))
    return status_json(status)


def test_a_generator_error_deletes_nothing_and_says_why() -> None:
    sink = FakeSink()
    _seed(sink, ("dev", "prod"))
    shown = _errored(sink, _appset(revision="no-such-branch"), _tree("dev"))
    conditions = {c["type"]: c for c in shown["conditions"]}
    assert conditions[ERROR_OCCURRED]["status"] == "True"
    assert conditions[ERROR_OCCURRED]["reason"] == "ApplicationGenerationFromParamsError"
    assert "no-such-branch" in conditions[ERROR_OCCURRED]["message"]
    assert conditions[PARAMETERS_GENERATED]["status"] == "False"
    assert conditions[RESOURCES_UP_TO_DATE]["status"] == "False"
    assert [r["name"] for r in shown["resources"]] == ["web-dev", "web-prod"]


def test_a_render_error_names_the_applicationset_and_the_params_and_deletes_nothing() -> None:
    sink = FakeSink()
    _seed(sink, ("dev",))
    shown = _errored(sink, _appset(name_tpl="Web_{{path.basename}}"), _tree("prod"))
    error = {c["type"]: c for c in shown["conditions"]}[ERROR_OCCURRED]
    assert error["reason"] == "RenderTemplateParamsError"
    assert "ApplicationSet/web, params {path: envs/prod" in error["message"]
    assert "metadata.name" in error["message"]


def test_two_param_sets_rendering_one_name_is_an_error_that_deletes_nothing() -> None:
    sink = FakeSink()
    _seed(sink, ("dev",))
    shown = _errored(sink, _appset(name_tpl="web"), _tree("dev", "prod"))
    error = {c["type"]: c for c in shown["conditions"]}[ERROR_OCCURRED]
    assert error["reason"] == "ApplicationValidationError"
    assert "duplicate name: web" in error["message"]


def test_a_name_another_owner_registered_is_not_taken_over() -> None:
    sink = FakeSink()
    app = render(_appset(), {"path": "mine/dev", "path.basename": "dev"})
    sink.upsert(app, "api")
    controller = AppSetController(sink, _tree("dev", "prod"), StaticClusters())
    status = asyncio.run(controller.reconcile(_appset()))
    assert sink.owners == {"web-dev": "api", "web-prod": "appset:web"}
    assert sink.apps["web-dev"].source.path == "mine/dev"
    assert status.created == ("web-prod",)
    error = status.condition(ERROR_OCCURRED)
    assert error is not None and error.status and error.reason == "CreateApplicationError"
    assert "web-dev already exists and is not owned by ApplicationSet web" in error.message


def test_a_failed_deletion_is_reported_and_the_others_go_on() -> None:
    sink = FakeSink(failing={"web-dev"})
    _seed(sink, ("dev", "qa"))
    controller = AppSetController(sink, _tree("prod"), StaticClusters())
    status = asyncio.run(controller.reconcile(_appset()))
    assert status.deleted == ("web-qa",)
    assert "web-dev" in sink.apps
    error = status.condition(ERROR_OCCURRED)
    assert error is not None and error.reason == "DeleteApplicationError" and "PreDelete" in error.message


@pytest.mark.parametrize(("preserve", "cascade"), [(False, None), (True, False)])
def test_deleting_the_applicationset_deletes_its_applications(preserve: bool, cascade: bool | None) -> None:
    sink = FakeSink()
    _seed(sink, ("dev", "prod"))
    sink.upsert(render(_appset(), {"path": "x", "path.basename": "other"}), "api")
    controller = AppSetController(sink, _tree(), StaticClusters())
    assert asyncio.run(controller.remove(_appset("create-only", preserve=preserve))) == []
    assert sink.deletions == [("web-dev", cascade), ("web-prod", cascade)]
    assert list(sink.apps) == ["web-other"]


def test_a_condition_keeps_its_transition_time_while_its_status_holds() -> None:
    sink = FakeSink()
    now = [1000.0]
    controller = AppSetController(sink, _tree("dev"), StaticClusters(), clock=lambda: now[0])
    first = asyncio.run(controller.reconcile(_appset()))
    now[0] = 2000.0
    second = asyncio.run(controller.reconcile(_appset(), first))
    third = asyncio.run(controller.reconcile(_appset(revision="gone"), second))
    assert second.condition(ERROR_OCCURRED).last_transition == 1000.0  # type: ignore[union-attr]
    assert third.condition(ERROR_OCCURRED).last_transition == 2000.0  # type: ignore[union-attr]
    assert third.condition(ERROR_OCCURRED).to_json()["lastTransitionTime"] == "1970-01-01T00:33:20Z"  # type: ignore[union-attr]
