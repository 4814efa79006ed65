"""The RBAC enforcer (gitloop.access.rbac) over testdata/rbac/policy.csv: built-in roles, ``g`` chains,
deny over allow, globs in objects, the default role, anonymous requests, project roles, and answers
that stay right under concurrent calls."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gitloop.access.policy import parse_policy
from gitloop.access.rbac import Enforcer
from gitloop.spec.argocd import AppProject, parse_apps_text

POLICY_FILE = Path(__file__).parent / "testdata" / "rbac" / "policy.csv"
LINES = parse_policy(POLICY_FILE.read_text(), source=str(POLICY_FILE))

# subject, resource, action, object, allowed without a default role
CASES = [
    # built-in roles
    ("admin", "applications", "delete", "any/app", True),
    ("admin", "accounts", "update", "bob", True),
    ("admin", "pipelineruns", "cancel", "ns/run", True),
    ("admin", "widgets", "get", "x", False),  # outside the vocabulary
    # org admins through their group
    ("platform-team", "applications", "override", "team/app", True),
    ("platform-team", "clusters", "get", "in-cluster", True),
    ("platform-team", "clusters", "delete", "in-cluster", False),
    # team alpha
    ("alice", "applications", "sync", "alpha/web", True),
    ("alice", "applications", "sync", "alpha/ns/web", True),
    ("alice", "applications", "sync", "beta/web", False),
    ("alice", "applications", "delete", "alpha/web", False),
    ("alice", "applications", "action/apps/Deployment/restart", "alpha/web", True),
    ("alice", "applications", "action/apps/StatefulSet/restart", "alpha/web", False),
    ("alice", "pipelineruns", "create", "ci/build", True),
    ("alice", "pipelineruns", "cancel", "ci/build", False),
    # deny beats allow
    ("dana", "applications", "sync", "staging-db/pg", True),
    ("dana", "applications", "create", "staging-db/pg", False),
    ("dana", "applications", "sync", "prod-db/pg", False),
    # g chains: carol -> leads -> role:alpha, role:readonly
    ("carol", "applications", "sync", "alpha/web", True),
    ("carol", "repositories", "get", "https://git.example/x", True),
    ("carol", "repositories", "update", "https://git.example/x", False),
    # braces and globs in objects
    ("wendy", "applications", "sync", "prod-eu/web-shop", True),
    ("wendy", "applications", "sync", "prod-us/web-api", True),
    ("wendy", "applications", "sync", "prod-ap/web-api", False),
    ("wendy", "applications", "sync", "prod-eu/api", False),
    # nobody and anonymous
    ("stranger", "applications", "get", "alpha/web", False),
    ("", "applications", "get", "alpha/web", False),
    ("mallory", "applications", "get", "secret/x", False),  # a deny beats the readonly role's allow
    ("mallory", "applications", "get", "public/x", True),
]


@pytest.fixture(scope="module")
def enforcer() -> Enforcer:
    return Enforcer(LINES)


@pytest.mark.parametrize(("subject", "resource", "action", "obj", "expected"), CASES)
def test_policy_table(
    enforcer: Enforcer, subject: str, resource: str, action: str, obj: str, expected: bool
) -> None:
    assert enforcer.allowed(subject, resource, action, obj) is expected


# subject, resource, action, object, allowed with policy.default role:readonly
DEFAULT_CASES = [
    ("", "applications", "get", "alpha/web", True),  # anonymous acts with the default role
    ("", "applications", "sync", "alpha/web", False),
    ("stranger", "pipelineruns", "logs", "ci/build", True),
    ("stranger", "pipelineruns", "create", "ci/build", False),
    ("mallory", "applications", "get", "secret/x", True),  # the default role is asked first
    ("alice", "applications", "sync", "alpha/web", True),
    ("dana", "applications", "create", "staging-db/pg", False),
]


@pytest.mark.parametrize(("subject", "resource", "action", "obj", "expected"), DEFAULT_CASES)
def test_default_role(subject: str, resource: str, action: str, obj: str, expected: bool) -> None:
    enforcer = Enforcer(LINES, default_role="role:readonly")
    assert enforcer.allowed(subject, resource, action, obj) is expected


def test_roles_of(enforcer: Enforcer) -> None:
    assert enforcer.roles_of("carol") == ("leads", "role:alpha", "role:readonly")
    assert enforcer.roles_of("admin") == ("role:admin", "role:readonly")
    assert enforcer.roles_of("") == ()


PROJECT = """\
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: shop}
spec:
  roles:
  - name: deployer
    description: CI syncs the shop
    policies:
    - p, proj:shop:deployer, applications, sync, shop/*, allow
    - p, proj:shop:deployer, applications, get, shop/*, allow
    - p, proj:shop:deployer, applications, sync, shop/payments, deny
    groups: [shop-ci]
"""

PROJECT_CASES = [
    ("proj:shop:deployer", "applications", "sync", "shop/web", True),
    ("proj:shop:deployer", "applications", "sync", "shop/payments", False),
    ("proj:shop:deployer", "applications", "sync", "other/web", False),
    ("proj:shop:deployer", "applications", "delete", "shop/web", False),
    ("shop-ci", "applications", "get", "shop/web", True),
    ("proj:shop:other", "applications", "get", "shop/web", False),
]


@pytest.mark.parametrize(("subject", "resource", "action", "obj", "expected"), PROJECT_CASES)
def test_project_roles(
    enforcer: Enforcer, subject: str, resource: str, action: str, obj: str, expected: bool
) -> None:
    project = parse_apps_text(PROJECT, "shop.yaml").project("shop")
    assert isinstance(project, AppProject)
    assert enforcer.with_projects([project]).allowed(subject, resource, action, obj) is expected
    assert not enforcer.allowed(subject, resource, action, obj)


def test_concurrent_calls_agree() -> None:
    enforcer = Enforcer(LINES)
    requests = [case[:4] for case in CASES] * 20
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda request: enforcer.allowed(*request), requests))
    assert answers == [case[4] for case in CASES] * 20


def test_answers_survive_eviction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gitloop.access.rbac.PARTITIONS", 2)
    monkeypatch.setattr("gitloop.access.rbac.CACHE_SIZE", 3)
    enforcer = Enforcer(LINES)
    for _ in range(3):
        for subject, resource, action, obj, expected in CASES:
            assert enforcer.allowed(subject, resource, action, obj) is expected
