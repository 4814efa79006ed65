"""``Engine.replace_owned`` on fakes of gitloop's ports: one owner's Applications and AppProjects made
exactly what it gives — created, changed, pruned with the deletion rules, never taken from another owner."""

from __future__ import annotations

import textwrap
from pathlib import Path

from test_cd_reconciler import World, app_yaml, configmap, run

from gitloop.gitops.status import ConditionType
from gitloop.spec.argocd import Application, parse_apps_text

PROJECT = textwrap.dedent("""\
    apiVersion: argoproj.io/v1alpha1
    kind: AppProject
    metadata: {name: team}
    spec:
      sourceRepos: ['*']
      destinations: [{server: '*', namespace: '*'}]
    """)


def children(*names: str, project: str = "default", path: str = "app") -> list[Application]:
    text = "---\n".join(
        app_yaml(n, path=path).replace("project: default", f"project: {project}") for n in names
    )
    return list(parse_apps_text(text).apps.values())


def test_an_owner_gets_exactly_what_it_gives_and_nothing_of_another_owner(tmp_path: Path) -> None:
    world = World(tmp_path, app_yaml("other"), {"app/a.yaml": configmap("a")})
    owner = "app:root"
    project = parse_apps_text(PROJECT).projects["team"]

    async def scenario() -> None:
        engine = world.engine
        done = await engine.replace_owned(owner, children("one", "two", project="team"), [project])
        assert (done.created, done.updated, done.deleted) == (["one", "two"], [], [])
        assert engine.apps.owned(owner) == ["one", "two"]
        assert engine.apps.project_owner("team") == owner

        again = await engine.replace_owned(owner, children("one", "two", project="team"), [project])
        assert (again.created, again.updated, again.deleted) == ([], [], []), "nothing changed"

        changed = children("one", project="team", path="other")
        done = await engine.replace_owned(owner, changed, [project], prune=False)
        assert (done.updated, done.kept, done.deleted) == (["one"], ["two"], []), "prune off keeps two"

        done = await engine.replace_owned(owner, changed, [project])
        assert done.deleted == ["two"] and "two" not in engine.apps.apps

        taken = await engine.replace_owned(owner, children("other"), [])
        assert taken.refused == ["other"] and engine.apps.owner("other") == "config"
        assert taken.deleted == ["one"], "one is no longer given"
        assert engine.apps.project_owner("team") is None, "the owner's project goes with its last word"

    run(scenario)


def test_an_application_whose_project_goes_away_gets_the_missing_project_condition(tmp_path: Path) -> None:
    world = World(tmp_path, app_yaml("other"), {"app/a.yaml": configmap("a")})
    project = parse_apps_text(PROJECT).projects["team"]

    async def scenario() -> None:
        engine = world.engine
        await engine.replace_owned(
            "config", [*engine.apps.apps.values(), *children("mine", project="team")], [project]
        )
        status = await engine.refresh("mine")
        assert not [c for c in status.conditions if c.type is ConditionType.INVALID_SPEC_ERROR]
        engine.delete_project("team")
        status = await engine.refresh("mine")
        messages = [c.message for c in status.conditions if c.type is ConditionType.INVALID_SPEC_ERROR]
        assert messages == ["Application referencing project team which does not exist"]

    run(scenario)
