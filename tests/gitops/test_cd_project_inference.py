"""A project's destination rules see the destination cluster's server and name both, as Argo CD infers
the one an Application leaves out from the registered cluster: a project that lists servers permits an
Application that names its cluster, and one that lists names permits one that gives the server. Argo CD's
in-cluster alias is ``https://kubernetes.default.svc`` and ``in-cluster`` together, whichever cluster it is."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from test_cd_reconciler import URL, World, configmap

from gitloop.gitops.observe import ClusterView

SERVER = "https://10.0.0.7:6443"


def world(tmp_path: Path, project_destination: str, app_destination: str) -> World:
    apps = textwrap.dedent(f"""\
        apiVersion: argoproj.io/v1alpha1
        kind: AppProject
        metadata: {{name: team}}
        spec:
          sourceRepos: ['*']
          destinations: [{{{project_destination}, namespace: shop}}]
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {{name: guestbook}}
        spec:
          project: team
          source: {{repoURL: {URL}, path: app, targetRevision: main}}
          destination: {{{app_destination}, namespace: shop}}
        """)
    found = World(tmp_path, apps, {"app/a.yaml": configmap("a")})
    found.view = ClusterView(found.cluster, name="prod", server=SERVER)
    return found


@pytest.mark.parametrize(
    ("project_destination", "app_destination", "permitted"),
    [
        (f"server: '{SERVER}'", "name: prod", True),
        ("server: 'https://10.0.0.*'", "name: prod", True),
        ("name: prod", f"server: '{SERVER}'", True),
        ("name: 'pr*'", f"server: '{SERVER}'", True),
        ("server: 'https://other:6443'", "name: prod", False),
        ("name: staging", f"server: '{SERVER}'", False),
        (f"server: '!{SERVER}'", "name: prod", False),
        ("server: 'https://kubernetes.default.svc'", "name: in-cluster", True),
        ("name: in-cluster", "server: 'https://kubernetes.default.svc'", True),
        (f"server: '{SERVER}'", "name: in-cluster", False),
    ],
)
def test_the_destination_is_checked_with_the_inferred_server_and_name(
    tmp_path: Path, project_destination: str, app_destination: str, permitted: bool
) -> None:
    found = world(tmp_path, project_destination, app_destination)
    problems = found.engine.problems(found.engine.app("guestbook"))
    if permitted:
        assert problems == []
    else:
        assert problems and "do not match any of the allowed destinations in project 'team'" in problems[0]
