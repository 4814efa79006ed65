"""Every ``/api/v1`` route of a real ``gitloop serve`` against Argo CD's shapes: a real local cluster, a
real git server, two Applications (one deploys a Deployment, a Service and a Secret; one hangs on a
hook so its operation can be terminated). Each answer is checked for the keys and types Argo CD's
swagger gives its objects (``Application``, ``ApplicationList``, ``ApplicationTree``,
``ResourceDiff``, ``ManifestResponse``, ``EventList``, ``AppProject``, ``Cluster``, the stream's
``{"result": {"type", "application"}}`` and the error ``{"error", "code", "message"}``); Applications are
created (``POST``), replaced (``PUT``) and deleted (``DELETE``); then the control plane's routes:
sync windows, an ``ApplicationSet`` (``ApplicationSetList``) created, read and deleted with the
Applications it generated, a ``Cluster`` registered, read, relabelled and removed, and ``/api/status``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from serve_process import ServeProcess, serve_env

from gitloop.errors import NotFoundError
from gitloop.kube import KubeCluster
from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitseed import commit_files
from gitloop.localinfra.gitserver import GitServer

pytestmark = pytest.mark.integration

SECRET_VALUE = "s3cr3t-value"


def _files(replicas: int) -> dict[str, str]:
    deployment = textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: web}}
        spec:
          replicas: {replicas}
          selector: {{matchLabels: {{app: web}}}}
          template:
            metadata: {{labels: {{app: web}}}}
            spec: {{containers: [{{name: web, image: "localhost/web:1"}}]}}
        """)
    service = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n"
    secret = f"apiVersion: v1\nkind: Secret\nmetadata: {{name: web}}\nstringData: {{token: {SECRET_VALUE}}}\n"
    hook = textwrap.dedent("""\
        apiVersion: batch/v1
        kind: Job
        metadata: {name: never-done, annotations: {argocd.argoproj.io/hook: Sync}}
        spec:
          backoffLimit: 0
          template:
            spec:
              restartPolicy: Never
              containers: [{name: run, image: "localhost/tool:1"}]
        """)
    return {
        "web/deployment.yaml": deployment,
        "web/service.yaml": service,
        "web/secret.yaml": secret,
        "hung/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hung}\ndata: {a: b}\n",
        "hung/hook.yaml": hook,
    }


def _app(name: str, url: str, path: str, namespace: str, labels: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {{name: {name}, namespace: argocd, labels: {labels}}}
        spec:
          project: default
          source: {{repoURL: {url}, targetRevision: main, path: {path}}}
          destination: {{server: https://kubernetes.default.svc, namespace: {namespace}}}
          syncPolicy: {{syncOptions: [CreateNamespace=true]}}
        ---
        """)


# -- Argo CD's shapes -----------------------------------------------------------------------------------


def has(obj: Any, shape: Mapping[str, Any], where: str = "") -> None:
    """``obj`` has every key of ``shape`` with a value of its type (a nested mapping: checked inside)."""
    assert isinstance(obj, dict), f"{where or 'object'} is not an object: {obj!r}"
    for key, kind in shape.items():
        assert key in obj, f"{where}.{key} missing in {sorted(obj)}"
        if isinstance(kind, dict):
            has(obj[key], kind, f"{where}.{key}")
        else:
            assert isinstance(obj[key], kind), f"{where}.{key} is {type(obj[key]).__name__}, not {kind}"


APPLICATION = {
    "apiVersion": str,
    "kind": str,
    "metadata": {"name": str, "namespace": str},
    "spec": {
        "source": {"repoURL": str, "path": str, "targetRevision": str},
        "destination": dict,
        "project": str,
    },
    "status": {
        "sync": {"status": str, "revision": str, "comparedTo": {"source": dict, "destination": dict}},
        "health": {"status": str},
        "resources": list,
        "conditions": list,
        "summary": dict,
        "history": list,
        "reconciledAt": (str, type(None)),
    },
}
RESOURCE_STATUS = {"group": str, "version": str, "kind": str, "namespace": str, "name": str, "status": str}
OPERATION_STATE = {
    "operation": {"sync": dict, "initiatedBy": dict},
    "phase": str,
    "message": str,
    "startedAt": str,
}
HISTORY = {
    "id": int,
    "revision": str,
    "source": dict,
    "deployedAt": str,
    "deployStartedAt": (str, type(None)),
}
NODE = {
    "group": str,
    "version": str,
    "kind": str,
    "namespace": str,
    "name": str,
    "uid": str,
    "resourceVersion": str,
    "parentRefs": list,
    "images": list,
}
RESOURCE_DIFF = {
    "group": str,
    "kind": str,
    "namespace": str,
    "name": str,
    "targetState": str,
    "liveState": str,
    "normalizedLiveState": str,
    "predictedLiveState": str,
    "diff": str,
    "hook": bool,
    "modified": bool,
}
ERROR = {"error": str, "code": int, "message": str}


def application(obj: Any) -> dict[str, Any]:
    has(obj, APPLICATION, "Application")
    assert (obj["apiVersion"], obj["kind"]) == ("argoproj.io/v1alpha1", "Application")
    for resource in obj["status"]["resources"]:
        has(resource, RESOURCE_STATUS, "status.resources[]")
    for entry in obj["status"]["history"]:
        has(entry, HISTORY, "status.history[]")
    if "operationState" in obj["status"]:
        has(obj["status"]["operationState"], OPERATION_STATE, "status.operationState")
    return dict(obj)


def error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    has(response.json(), ERROR, "error")


# -- the world ------------------------------------------------------------------------------------------


def _until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(0.2)


class Stream:
    """``GET /api/v1/stream/applications`` read line by line in a thread."""

    def __init__(self, serve: ServeProcess, params: dict[str, str]) -> None:
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        timeout = httpx.Timeout(10.0, read=None)
        self._client = httpx.Client(base_url=serve.url, timeout=timeout, headers=serve.headers())
        self.content_type = ""
        self._thread = threading.Thread(target=self._read, args=(params,), daemon=True)
        self._thread.start()

    def _read(self, params: dict[str, str]) -> None:
        with (
            contextlib.suppress(httpx.HTTPError, RuntimeError),
            self._client.stream("GET", "/api/v1/stream/applications", params=params) as response,
        ):
            self.content_type = response.headers.get("content-type", "")
            for line in response.iter_lines():
                if line.startswith("data: "):
                    self.events.put(json.loads(line.removeprefix("data: ")))

    def next(self, timeout: float = 30.0) -> dict[str, Any]:
        return self.events.get(timeout=timeout)

    def close(self) -> None:
        self._client.close()


@pytest.fixture
def world(
    local_cluster: LocalCluster, second_cluster: LocalCluster, tmp_path: Path
) -> Iterator[tuple[ServeProcess, dict[str, str]]]:
    suffix = uuid.uuid4().hex[:6]
    names = {
        "web": f"web-{suffix}",
        "hung": f"hung-{suffix}",
        "ns": f"v1-{suffix}",
        "hung-ns": f"v1h-{suffix}",
    }
    env = serve_env(tmp_path / "state")
    env["GITLOOP_CACHE_DIR"] = str(tmp_path / "cache")
    git_env = {k: v for k, v in env.items() if k != "GITLOOP_STATE_DIR"}
    with GitServer(tmp_path / "repos", env=git_env) as git:
        url = git.create_repo("config")
        commit_files(url, _files(1), "one replica")
        names["url"] = url
        apps = tmp_path / "apps"
        apps.mkdir()
        (apps / "apps.yaml").write_text(
            _app(names["web"], url, "web", names["ns"], "{team: shop, tier: web}")
            + _app(names["hung"], url, "hung", names["hung-ns"], "{team: ops}")
        )
        assert local_cluster.kubeconfig is not None
        names["kubeconfig"] = str(second_cluster.kubeconfig)  # registered through the API
        (tmp_path / "serve.yaml").write_text(
            "listen: 127.0.0.1:0\npollInterval: 10m\napplications:\n  - files: [apps]\n"
            f"clusters:\n  - {{name: local, kubeconfig: {local_cluster.kubeconfig}}}\n"
        )
        try:
            with ServeProcess(tmp_path / "serve.yaml", env) as serve:
                yield serve, names
                assert serve.stop() == 0, serve.output()
            assert SECRET_VALUE not in serve.output()
        finally:
            asyncio.run(_delete_namespaces(local_cluster, [names["ns"], names["hung-ns"]]))


async def _delete_namespaces(cluster: LocalCluster, namespaces: list[str]) -> None:
    async with KubeCluster.from_kubeconfig(cluster.kubeconfig) as kube:
        for namespace in namespaces:
            with contextlib.suppress(NotFoundError):
                await kube.delete("v1", "Namespace", namespace, propagation="Background")


def test_every_v1_route_answers_argo_cds_shapes(world: tuple[ServeProcess, dict[str, str]]) -> None:
    serve, names = world
    web, hung = names["web"], names["hung"]
    stream = Stream(serve, {"selector": "team=shop"})
    try:
        with serve.client() as client:
            _walk(client, stream, names, web, hung)
            _walk_control_plane(client, web, names["kubeconfig"])
            assert stream.content_type.startswith("text/event-stream")
    finally:
        stream.close()


def _walk(client: httpx.Client, stream: Stream, names: dict[str, str], web: str, hung: str) -> None:
    # The stream starts with the current state: the one Application the selector picks, ADDED.
    first = stream.next()
    has(first, {"result": {"type": str, "application": dict}}, "stream event")
    assert first["result"]["type"] == "ADDED" and first["result"]["application"]["metadata"]["name"] == web
    application(first["result"]["application"])

    # ApplicationList, filtered and paged.
    listed = client.get("/api/v1/applications").json()
    has(listed, {"apiVersion": str, "kind": str, "metadata": dict, "items": list}, "ApplicationList")
    assert listed["kind"] == "ApplicationList"
    assert sorted(application(a)["metadata"]["name"] for a in listed["items"]) == sorted([web, hung])
    picked = client.get("/api/v1/applications", params={"selector": "tier in (web)", "projects": "default"})
    assert [a["metadata"]["name"] for a in picked.json()["items"]] == [web]
    first_page = client.get("/api/v1/applications", params={"limit": 1}).json()
    token = first_page["metadata"]["continue"]
    second = client.get("/api/v1/applications", params={"limit": 1, "continue": token}).json()
    assert [a["metadata"]["name"] for a in first_page["items"] + second["items"]] == sorted([web, hung])
    error(client.get("/api/v1/applications", params={"selector": "tier in web"}), 400)
    error(client.get("/api/v1/applications/nope"), 404)

    # Sync (Argo CD's SyncRequest) → the Application with its operation; 409 while it runs.
    started = application(client.post(f"/api/v1/applications/{web}/sync", json={"prune": True}).json())
    assert started["status"]["operationState"]["phase"] in ("Running", "Succeeded")
    synced = _until(lambda: _synced(client, web), 120, "the sync to finish Synced and Healthy")
    has(
        synced["status"]["operationState"],
        {"syncResult": {"resources": list, "revision": str}},
        "operationState",
    )
    assert len(synced["status"]["history"]) == 1
    assert stream.next()["result"]["type"] == "MODIFIED"

    # ApplicationTree: Deployment → ReplicaSet → Pod by ownerReferences.
    tree = _until(lambda: _tree_with_pods(client, web), 60, "the Pods in the resource tree")
    has(tree, {"nodes": list, "orphanedNodes": list, "hosts": list}, "ApplicationTree")
    by_kind = {n["kind"]: n for n in tree["nodes"]}
    for node in tree["nodes"]:
        has(node, NODE, f"node {node['kind']}")
    assert by_kind["ReplicaSet"]["parentRefs"][0]["uid"] == by_kind["Deployment"]["uid"]
    assert by_kind["Pod"]["parentRefs"][0]["uid"] == by_kind["ReplicaSet"]["uid"]
    assert by_kind["Deployment"]["health"]["status"] == "Healthy"
    assert by_kind["Deployment"]["images"] == ["localhost/web:1"]

    # ResourceDiff items: JSON strings, the Secret masked.
    managed = client.get(f"/api/v1/applications/{web}/managed-resources").json()
    for item in managed["items"]:
        has(item, RESOURCE_DIFF, f"ResourceDiff {item.get('kind')}")
        assert json.loads(item["targetState"])["kind"] == item["kind"]
        assert json.loads(item["liveState"])["kind"] == item["kind"]
    assert {i["kind"] for i in managed["items"]} == {"Deployment", "Service", "Secret"}
    assert SECRET_VALUE not in json.dumps(managed)

    # ManifestResponse: the desired objects as gitloop applies them, the Secret masked.
    manifests = client.get(f"/api/v1/applications/{web}/manifests").json()
    has(manifests, {"manifests": list, "revision": str, "namespace": str, "server": str}, "ManifestResponse")
    kinds = sorted(json.loads(m)["kind"] for m in manifests["manifests"])
    assert kinds == ["Deployment", "Secret", "Service"] and SECRET_VALUE not in json.dumps(manifests)

    # EventList: the Events about the Application's objects.
    events = client.get(f"/api/v1/applications/{web}/events").json()
    has(events, {"apiVersion": str, "kind": str, "metadata": dict, "items": list}, "EventList")
    assert events["kind"] == "EventList"
    assert all(e["involvedObject"]["namespace"] == names["ns"] for e in events["items"])

    # A second deployment, then a rollback to the first (history id) → the Application with its operation.
    commit_files(names["url"], {"web/deployment.yaml": _files(2)["web/deployment.yaml"]}, "two replicas")
    application(client.get(f"/api/v1/applications/{web}", params={"refresh": "hard"}).json())
    client.post(f"/api/v1/applications/{web}/sync", json={})
    _until(lambda: _deployed(client, web, 2), 120, "the second sync to finish")
    first_id = client.get(f"/api/v1/applications/{web}").json()["status"]["history"][0]["id"]
    rolled = application(client.put(f"/api/v1/applications/{web}/rollback", json={"id": first_id}).json())
    assert rolled["status"]["operationState"]["gitloop"]["rollbackOf"] == first_id
    _until(lambda: _deployed(client, web, 3), 120, "the rollback to finish")
    # git holds two replicas, the cluster one: OutOfSync once the comparison after the operation is in
    # (the operation's end and that refresh are two steps, as in Argo CD).
    _until(lambda: _sync_status(client, web) == "OutOfSync", 30, "OutOfSync after the rollback")
    error(client.put(f"/api/v1/applications/{web}/rollback", json={"id": 9999}), 400)

    # Terminate: no operation → 400; a sync hanging on its hook → {} and the operation ends Failed.
    error(client.delete(f"/api/v1/applications/{web}/operation"), 400)
    application(client.post(f"/api/v1/applications/{hung}/sync", json={}).json())
    error(client.post(f"/api/v1/applications/{hung}/sync", json={}), 409)
    answer = client.delete(f"/api/v1/applications/{hung}/operation")
    assert answer.status_code == 200 and answer.json() == {}
    ended = _until(lambda: _ended(client, hung), 60, "the terminated operation to end")
    assert ended["phase"] == "Failed" and "terminated" in ended["message"].lower()

    # AppProjectList, AppProject, ClusterList.
    projects = client.get("/api/v1/projects").json()
    has(projects, {"items": list}, "AppProjectList")
    default = client.get("/api/v1/projects/default").json()
    has(
        default,
        {"metadata": {"name": str}, "spec": {"sourceRepos": list, "destinations": list}},
        "AppProject",
    )
    assert [p["metadata"]["name"] for p in projects["items"]] == ["default"]
    error(client.get("/api/v1/projects/nope"), 404)
    clusters = client.get("/api/v1/clusters").json()
    has(clusters, {"items": list}, "ClusterList")
    (cluster,) = clusters["items"]
    has(
        cluster,
        {"server": str, "name": str, "connectionState": {"status": str, "message": str}, "info": dict},
        "Cluster",
    )
    assert cluster["connectionState"]["status"] == "Successful" and cluster["info"]["applicationsCount"] == 2

    # Create, replace and delete an Application (tests/serve/test_api_v1_lifecycle.py walks them in depth).
    copy = f"{hung}-copy"
    spec = client.get(f"/api/v1/applications/{hung}").json()["spec"]
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": copy},
        "spec": spec,
    }
    assert application(client.post("/api/v1/applications", json=doc).json())["metadata"]["name"] == copy
    error(client.post("/api/v1/applications", json={**doc, "spec": {**spec, "project": "other"}}), 409)
    error(client.post("/api/v1/applications", json={"kind": "Application"}), 400)
    application(client.put(f"/api/v1/applications/{copy}", json=doc).json())
    error(client.put("/api/v1/applications/nope", json=doc), 404)
    answer = client.delete(f"/api/v1/applications/{copy}", params={"cascade": "false"})
    assert answer.status_code == 200 and answer.json() == {}
    _until(lambda: client.get(f"/api/v1/applications/{copy}").status_code == 404, 60, "the deletion")
    error(client.delete(f"/api/v1/applications/{copy}"), 404)

    # The old paths stay: aliases of today's shapes.
    assert client.get("/api/applications").json()["items"]


APPLICATION_SET = {
    "apiVersion": str,
    "kind": str,
    "metadata": {"name": str, "namespace": str},
    "spec": {"generators": list, "template": {"metadata": dict, "spec": dict}},
    "status": {"conditions": list, "resources": list},
}
CLUSTER = {
    "server": str,
    "name": str,
    "labels": dict,
    "connectionState": {"status": str, "message": str},
    "info": {"applicationsCount": int, "connectionState": dict},
}


def _walk_control_plane(client: httpx.Client, web: str, kubeconfig: str) -> None:
    # Sync windows of an Application (its project has none: it may sync).
    windows = client.get(f"/api/v1/applications/{web}/syncwindows").json()
    has(windows, {"activeWindows": list, "assignedWindows": list, "canSync": bool}, "SyncWindows")
    assert windows["canSync"] is True
    error(client.get("/api/v1/applications/nope/syncwindows"), 404)

    # ApplicationSet: created from a list generator, listed, read, deleted with its Applications.
    appset = f"{web}-set"
    template = client.get(f"/api/v1/applications/{web}").json()["spec"]
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": appset},
        "spec": {
            "syncPolicy": {"preserveResourcesOnDeletion": True},
            "generators": [{"list": {"elements": [{"env": "a"}, {"env": "b"}]}}],
            "template": {"metadata": {"name": f"{appset}-{{{{env}}}}"}, "spec": template},
        },
    }
    created = client.post("/api/v1/applicationsets", json=doc)
    assert created.status_code == 200, created.text
    has(created.json(), APPLICATION_SET, "ApplicationSet")
    assert client.post("/api/v1/applicationsets", json=doc).status_code == 200, "the same spec again"
    other = {**doc, "spec": {**doc["spec"], "generators": [{"list": {"elements": [{"env": "c"}]}}]}}
    error(client.post("/api/v1/applicationsets", json=other), 409)
    error(client.post("/api/v1/applicationsets", json={"kind": "ApplicationSet"}), 400)
    generated = [f"{appset}-a", f"{appset}-b"]
    _until(
        lambda: all(client.get(f"/api/v1/applications/{n}").status_code == 200 for n in generated),
        30,
        "the generated Applications",
    )
    listed = client.get("/api/v1/applicationsets").json()
    has(listed, {"metadata": dict, "items": list}, "ApplicationSetList")
    assert [a["metadata"]["name"] for a in listed["items"]] == [appset]
    shown = client.get(f"/api/v1/applicationsets/{appset}").json()
    has(shown, APPLICATION_SET, "ApplicationSet")
    assert sorted(r["name"] for r in shown["status"]["resources"]) == generated
    error(client.get("/api/v1/applicationsets/nope"), 404)
    assert client.delete(f"/api/v1/applicationsets/{appset}").status_code == 200
    _until(
        lambda: all(client.get(f"/api/v1/applications/{n}").status_code == 404 for n in generated),
        30,
        "the generated Applications deleted with their ApplicationSet",
    )
    error(client.delete(f"/api/v1/applicationsets/{appset}"), 404)

    # Cluster: registered, read by name and by server, relabelled, removed.
    body = {"name": "again", "labels": {"env": "test"}, "config": {"kubeconfig": kubeconfig}}
    added = client.post("/api/v1/clusters", json=body)
    assert added.status_code == 200, added.text
    has(added.json(), CLUSTER, "Cluster")
    error(client.post("/api/v1/clusters", json=body), 409)
    error(client.post("/api/v1/clusters", json={**body, "name": "x", "config": {"kubeconfig": "/nope"}}), 400)
    again = client.get("/api/v1/clusters/again").json()
    has(again, CLUSTER, "Cluster")
    assert again["labels"] == {"env": "test"}
    relabelled = client.put("/api/v1/clusters/again", json={"labels": {"env": "other"}})
    assert relabelled.status_code == 200 and relabelled.json()["labels"] == {"env": "other"}, relabelled.text
    assert client.delete("/api/v1/clusters/again").status_code == 200
    error(client.get("/api/v1/clusters/again"), 404)

    # The control plane's own status: where the config's Applications came from.
    status = client.get("/api/status").json()
    (source,) = status["applicationSources"]
    assert "error" not in source and source["lastRead"], source


def _synced(client: httpx.Client, name: str) -> dict[str, Any] | None:
    found = application(client.get(f"/api/v1/applications/{name}").json())
    state = found["status"].get("operationState") or {}
    done = state.get("phase") == "Succeeded" and found["status"]["sync"]["status"] == "Synced"
    return found if done and found["status"]["health"]["status"] == "Healthy" else None


def _sync_status(client: httpx.Client, name: str) -> str:
    status: str = application(client.get(f"/api/v1/applications/{name}").json())["status"]["sync"]["status"]
    return status


def _deployed(client: httpx.Client, name: str, entries: int) -> dict[str, Any] | None:
    found = application(client.get(f"/api/v1/applications/{name}").json())
    state = found["status"].get("operationState") or {}
    return found if state.get("phase") == "Succeeded" and len(found["status"]["history"]) == entries else None


def _tree_with_pods(client: httpx.Client, name: str) -> dict[str, Any] | None:
    tree: dict[str, Any] = client.get(f"/api/v1/applications/{name}/resource-tree").json()
    return tree if any(n["kind"] == "Pod" for n in tree["nodes"]) else None


def _ended(client: httpx.Client, name: str) -> dict[str, Any] | None:
    state: dict[str, Any] = (
        client.get(f"/api/v1/applications/{name}").json()["status"].get("operationState") or {}
    )
    return state if state.get("phase") in ("Failed", "Error", "Succeeded") else None
