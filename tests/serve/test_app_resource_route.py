"""``GET /api/v1/applications/{name}/resource`` (Argo CD's ``GetResource``) over the fake CD engine: a node
of the Application's tree (managed or owned) answers ``{"manifest"}``, anything else 404 naming it, a
missing parameter 400 naming it, Secret values masked, and ``applications, get`` guards it."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serve_fakes import FakeApps

from gitloop.api.app import create_app
from gitloop.gitops.diff import REPLACEMENT
from gitloop.gitops.resource import ResourceRef, find
from gitloop.ports import Store
from gitloop.service.server import Server
from gitloop.service.server.access import ServedAccess
from gitloop.spec.serve_auth import AuthConfig, RBACConfig

ROUTE = "/api/v1/applications/{app}/resource"


def _obj(api_version: str, kind: str, name: str, uid: str, owner: str = "", **body: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "shop", "uid": uid}
    if owner:
        meta["ownerReferences"] = [{"uid": owner, "name": "owner", "kind": "Owner", "apiVersion": "v1"}]
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **body}


DEPLOYMENT = _obj("apps/v1", "Deployment", "web", "u-deploy", spec={"replicas": 1})
REPLICASET = _obj("apps/v1", "ReplicaSet", "web-5d8", "u-rs", owner="u-deploy", spec={"replicas": 1})
POD = _obj("v1", "Pod", "web-5d8-x1", "u-pod", owner="u-rs", spec={"containers": [{"name": "web"}]})
SECRET = _obj("v1", "Secret", "creds", "u-secret", data={"password": "c2VjcmV0"}, type="Opaque")
STRANGER = _obj("v1", "ConfigMap", "elsewhere", "u-cm", data={"k": "v"})
"""A live object of another Application: not a node of ``dev``'s tree."""


@pytest.fixture
def live_apps(apps: FakeApps) -> FakeApps:
    apps.live["dev"] = [DEPLOYMENT, REPLICASET, POD, SECRET]
    apps.live["other"] = [STRANGER]
    return apps


def _params(obj: dict[str, Any], **overrides: str) -> dict[str, str]:
    group, _, version = obj["apiVersion"].rpartition("/")
    given = {
        "resourceName": obj["metadata"]["name"],
        "namespace": obj["metadata"]["namespace"],
        "group": group,
        "version": version,
        "kind": obj["kind"],
    }
    return {k: v for k, v in {**given, **overrides}.items() if v != "-"}


def _manifest(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"manifest"} and isinstance(body["manifest"], str)
    found: dict[str, Any] = json.loads(body["manifest"])
    return found


def _secret_masked(found: dict[str, Any]) -> None:
    assert found["data"] == {"password": REPLACEMENT}


CASES: list[tuple[str, str, dict[str, str], int, str | Callable[[dict[str, Any]], None]]] = [
    ("a managed Deployment", "dev", _params(DEPLOYMENT), 200, lambda m: None),
    ("an owned ReplicaSet", "dev", _params(REPLICASET), 200, lambda m: None),
    ("an owned Pod (no version: the node's)", "dev", _params(POD, version="-"), 200, lambda m: None),
    ("a Secret, masked", "dev", _params(SECRET), 200, _secret_masked),
    ("another Application's object", "dev", _params(STRANGER), 404, "ConfigMap 'elsewhere'"),
    ("a wrong namespace", "dev", _params(POD, namespace="kube-system"), 404, "Pod 'web-5d8-x1' in namespace"),
    ("a wrong group", "dev", _params(DEPLOYMENT, group="extensions"), 404, "Deployment.extensions 'web'"),
    ("an unknown Application", "nope", _params(POD), 404, "nope"),
    ("no resourceName", "dev", _params(POD, resourceName="-"), 400, "resourceName"),
    ("no kind", "dev", _params(POD, kind="-"), 400, "kind"),
    ("an empty kind", "dev", _params(POD, kind=" "), 400, "kind"),
]


@pytest.mark.parametrize(("case", "app", "params", "status", "expect"), CASES, ids=[c[0] for c in CASES])
def test_the_route_reads_only_nodes_of_the_tree(
    client: TestClient,
    live_apps: FakeApps,
    case: str,
    app: str,
    params: dict[str, str],
    status: int,
    expect: str | Callable[[dict[str, Any]], None],
) -> None:
    answer = client.get(ROUTE.format(app=app), params=params)
    if status == 200:
        found = _manifest(answer)
        assert (found["kind"], found["metadata"]["name"]) == (params["kind"], params["resourceName"]), case
        assert not isinstance(expect, str)
        expect(found)
        return
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["code"] == {400: 3, 404: 5}[status] and isinstance(expect, str)
    assert expect in body["message"], body["message"]


def test_a_repeated_parameter_is_refused(client: TestClient, live_apps: FakeApps) -> None:
    answer = client.get(ROUTE.format(app="dev") + "?resourceName=a&resourceName=b&kind=Pod")
    assert answer.status_code == 400 and "resourceName" in answer.json()["message"]


def test_an_app_of_apps_child_has_no_live_object_to_read() -> None:
    tree = {
        "nodes": [
            {"group": "argoproj.io", "kind": "Application", "namespace": "", "name": "child", "uid": ""},
        ]
    }
    with pytest.raises(LookupError, match="no live object"):
        find(tree, ResourceRef(name="child", kind="Application", group="argoproj.io"), "parent")


POLICY = "g, reader, role:readonly\n"


@pytest.fixture
def guarded(server: Server, store: Store, live_apps: FakeApps) -> Iterator[tuple[TestClient, dict[str, str]]]:
    access = ServedAccess.build(store, AuthConfig(), RBACConfig(policy_csv=POLICY))
    tokens = {}
    for name in ("reader", "nobody"):
        access.accounts.create(name, f"{name}-password")
        tokens[name] = access.tokens.issue(name, kind="api", expires_in=None)[1]
    served = dataclasses.replace(server, access_control=access)
    with TestClient(create_app(served), raise_server_exceptions=False) as client:
        yield client, tokens


@pytest.mark.parametrize(("who", "status"), [("reader", 200), ("nobody", 403), ("anonymous", 401)])
def test_reading_a_resource_needs_get_on_the_application(
    guarded: tuple[TestClient, dict[str, str]], who: str, status: int
) -> None:
    client, tokens = guarded
    headers = {"Authorization": f"Bearer {tokens[who]}"} if who in tokens else {}
    answer = client.get(ROUTE.format(app="dev"), params=_params(POD), headers=headers)
    assert answer.status_code == status, answer.text
    if status == 200:
        assert _manifest(answer)["kind"] == "Pod"
    else:
        assert "web-5d8-x1" not in answer.text
