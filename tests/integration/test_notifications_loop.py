"""Notifications from a real loop (issue 12 acceptance): a real ``gitloop serve`` on the local cluster and
git server, an Application annotated for ``on-deployed`` and ``on-sync-failed`` with a webhook service;
a local HTTP receiver gets ``on-deployed`` exactly once for the first commit (and a local SMTP server the
same as an email), and a second commit with a manifest the API server refuses makes the automated sync
fail and delivers ``on-sync-failed``."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import time
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path

import pytest
from cd_support import CdWorld, configmap

from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitserver import GitServer

sys.path.insert(0, str(Path(__file__).parents[1] / "serve"))  # the serve tests' process helpers
sys.path.insert(0, str(Path(__file__).parents[1] / "notify"))  # the notification tests' receivers
from notify_receivers import HttpReceiver, Mailbox, Request, serve_http, serve_smtp
from serve_process import ServeProcess, free_port, serve_env

pytestmark = pytest.mark.integration

POLICY = "syncPolicy:\n  automated: {prune: true}\n  syncOptions: [CreateNamespace=true]\n"
SUBSCRIBE = "notifications.argoproj.io/subscribe."


@pytest.fixture
def world(local_cluster: LocalCluster, git_server: GitServer, tmp_path: Path) -> Iterator[CdWorld]:
    found = CdWorld.create(
        local_cluster,
        git_server,
        tmp_path,
        {"k8s/cm.yaml": configmap("notified")},
        policy=POLICY,
        name="note",
    )
    text = found.apps_file.read_text()
    annotated = (
        f"metadata:\n  name: {found.app}\n  namespace: argocd\n  annotations:\n"
        f"    {SUBSCRIBE}on-deployed.hook: ''\n    {SUBSCRIBE}on-sync-failed.hook: oncall\n"
        f"    {SUBSCRIBE}on-deployed.mail: dev@example.com\n"
        f"    {SUBSCRIBE}on-created.hook: ''\n    {SUBSCRIBE}on-sync-status-unknown.hook: ''\n"
    )
    found.apps_file.write_text(
        text.replace(f"metadata: {{name: {found.app}, namespace: argocd}}\n", annotated)
    )
    yield found
    asyncio.run(found.cleanup())


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    yield from serve_http(HttpReceiver())


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    for port in serve_smtp(box):
        yield box, port


def _of(requests: list[Request], trigger: str) -> list[Request]:
    return [r for r in requests if r.json()["trigger"] == trigger]


def _wait(receiver: HttpReceiver, trigger: str, serve: ServeProcess, timeout: float = 90.0) -> Request:
    deadline = time.monotonic() + timeout
    while True:
        found = _of(list(receiver.requests), trigger)
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"no {trigger} delivered\n{serve.output()}"
        time.sleep(0.2)


def test_deployed_once_and_a_failing_sync_are_delivered(
    world: CdWorld, receiver: HttpReceiver, mailbox: tuple[Mailbox, int], tmp_path: Path
) -> None:
    box, smtp_port = mailbox
    assert "annotations" in world.apps_file.read_text()
    config = tmp_path / "serve.yaml"
    config.write_text(
        textwrap.dedent(f"""\
            listen: 127.0.0.1:{free_port()}
            pollInterval: 2s
            applications:
              - files: [{world.apps_file.parent}]
            clusters:
              - {{name: local, kubeconfig: {world.cluster.kubeconfig}}}
            notifications:
              url: https://gitloop.example
              services:
                hook: {{type: webhook, url: '{receiver.url}', headers: [{{name: X-Source, value: gitloop}}]}}
                mail: {{type: email, host: 127.0.0.1, port: {smtp_port}, from: gitloop@example.com}}
            """)
    )
    env = serve_env(tmp_path / "state")
    env["GITLOOP_CACHE_DIR"] = str(tmp_path / "cache")
    with ServeProcess(config, env) as serve:
        deployed = _wait(receiver, "on-deployed", serve)
        body = deployed.json()
        assert body["subject"] == world.app and body["recipient"] == ""
        assert body["title"] == f"New version of an application {world.app} is up and running."
        assert f"https://gitloop.example/applications/{world.app}" in body["body"]
        assert deployed.headers["X-Source"] == "gitloop"
        # A manifest the API server refuses (an invalid name): the automated sync of it fails.
        world.commit({"k8s/bad.yaml": configmap("Not_A_Valid_Name")}, "an invalid manifest")
        failed = _wait(receiver, "on-sync-failed", serve).json()
        assert failed["recipient"] == "oncall"
        assert failed["title"] == f"Failed to sync application {world.app}."
        assert "has failed at" in failed["body"]
        time.sleep(5)  # more reconciliations: nothing is sent again
        assert serve.stop() == 0, serve.output()
    requests = list(receiver.requests)
    assert len(_of(requests, "on-deployed")) == 1, [r.json() for r in requests]
    assert len(_of(requests, "on-sync-failed")) == 1, [r.json() for r in requests]
    assert len(_of(requests, "on-created")) == 1, [r.json() for r in requests]
    assert _of(requests, "on-sync-status-unknown") == [], "a new Application's status is not Unknown"
    (mail,) = box.messages
    assert mail.rcpt_tos == ["dev@example.com"]
    message = message_from_bytes(mail.content)  # type: ignore[arg-type]
    assert message["Subject"] == f"New version of an application {world.app} is up and running."
