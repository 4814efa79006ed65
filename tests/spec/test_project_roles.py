"""AppProject ``spec.roles``: what a good role reads as, the policy lines it grants
(gitloop.access.projectroles), and each refusal naming the project, the role, the policy index and
``file:line``, as Argo CD validates a project's roles."""

from __future__ import annotations

import pytest

from gitloop.access.policy import PolicyLine
from gitloop.access.projectroles import project_policy
from gitloop.errors import SpecError
from gitloop.spec.argocd import AppProject, parse_apps_text
from gitloop.spec.argocd.project import ProjectRole

HEAD = """\
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: shop}
spec:
  roles:
"""

GOOD = (
    HEAD
    + """\
  - name: ci-deployer
    description: CI syncs the shop
    policies:
    - p, proj:shop:ci-deployer, applications, sync, shop/*, allow
    - p, proj:shop:ci-deployer, logs, get, shop/ns/web-*, allow
    groups: [shop-ci, "my-org:shop team"]
    jwtTokens:
    - {iat: 1700000000, id: abc}
  - name: viewer
"""
)


def _project(text: str) -> AppProject:
    found = parse_apps_text(text, "shop.yaml").project("shop")
    assert found is not None
    return found


def test_roles_read_and_granted() -> None:
    project = _project(GOOD)
    deployer, viewer = project.roles
    assert deployer == ProjectRole(
        "ci-deployer",
        "CI syncs the shop",
        (
            PolicyLine(
                "p", ("proj:shop:ci-deployer", "applications", "sync", "shop/*", "allow"), "shop.yaml:9"
            ),
            PolicyLine(
                "p", ("proj:shop:ci-deployer", "logs", "get", "shop/ns/web-*", "allow"), "shop.yaml:10"
            ),
        ),
        ("shop-ci", "my-org:shop team"),
    )
    assert viewer == ProjectRole("viewer")
    lines = project_policy([project])
    assert lines[:2] == deployer.policies
    assert [line.fields for line in lines[2:]] == [
        ("shop-ci", "proj:shop:ci-deployer"),
        ("my-org:shop team", "proj:shop:ci-deployer"),
    ]
    assert project_policy([_project(HEAD.replace("  roles:\n", "  roles: []\n"))]) == ()


def _role(policy: str = "", *, name: str = "ci", groups: str = "") -> str:
    text = HEAD + f"  - name: {name}\n"
    if policy:
        text += f"    policies:\n    - {policy}\n"
    if groups:
        text += f"    groups: {groups}\n"
    return text


ERRORS = [
    (_role(name="-bad"), "roles[0].name: project shop: role name '-bad' is invalid"),
    (_role(name="a/b"), "role name 'a/b' is invalid"),
    (HEAD + "  - name: ci\n  - name: ci\n", "roles[1].name: project shop: role 'ci' is defined twice"),
    (HEAD + "  - description: x\n", "roles[0].name: required field is missing"),
    (HEAD + "  - name: ci\n    token: x\n", "unknown field 'token'"),
    (
        _role("p, proj:other:ci, applications, get, shop/*, allow"),
        "shop.yaml:8: project shop: role ci: policies[0]: the subject must be 'proj:shop:ci', not 'proj:other:ci'",
    ),
    (
        _role("p, proj:shop:ci, applications, get, other/*, allow"),
        "policies[0]: the object must be 'shop/*', 'shop/<app>' or 'shop/<namespace>/<app>', not 'other/*'",
    ),
    (_role("p, proj:shop:ci, applications, get, shop/a/b/c, allow"), "not 'shop/a/b/c'"),
    (_role("p, proj:shop:ci, applications, get, *, allow"), "not '*'"),
    (
        _role("p, proj:shop:ci, clusters, get, shop/*, allow"),
        "resource 'clusters' cannot be granted by a project role; use one of applications, applicationsets, logs",
    ),
    (_role("g, someone, proj:shop:ci"), "a role's policy is a p line, not 'g'"),
    (
        _role("p, proj:shop:ci, applications, get, shop/*, maybe"),
        "shop.yaml:8: project shop: role ci: policies[0]: effect: effect must be allow or deny",
    ),
    (
        _role("p, proj:shop:ci, applications, fly, shop/*, allow"),
        "action 'fly' is not valid for applications",
    ),
    (_role(groups='[""]'), "roles[0].groups[0]: project shop: role ci: group '' is invalid"),
    (_role(groups='["a,b"]'), "group 'a,b' is invalid"),
]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_refused_roles(text: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        _project(text)
    assert message in str(caught.value)
