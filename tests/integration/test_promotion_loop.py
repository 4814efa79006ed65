"""Promotion along a chain, on a real ``gitloop serve`` over the real local cluster and git server (issue
12 acceptance): a PromotionChain dev → staging (automatic, soak 0s) → prod (two approvals) kept beside
the Applications; a change (a source commit by alice, its image handed to dev with gitloop's trailers)
reaches staging by itself; prod waits; alice's approval is refused (she is the author); carol's second
approval counts once; dave's promotes; the prod config commit carries the source commit, the promotion
id and both approvers as trailers, and sets the image in prod's file; a local HTTP receiver subscribed
on prod gets ``on-promotion-awaiting-approval`` and ``on-promotion-succeeded`` exactly once each."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gitloop.errors import NotFoundError
from gitloop.kube import KubeCluster
from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitrepos import git_executable
from gitloop.localinfra.gitserver import GitServer

sys.path.insert(0, str(Path(__file__).parents[1] / "serve"))  # the serve tests' process helpers
sys.path.insert(0, str(Path(__file__).parents[1] / "notify"))  # the notification tests' receivers
from notify_receivers import HttpReceiver, serve_http
from serve_process import GITLOOP, ServeProcess, free_port, serve_env

pytestmark = pytest.mark.integration

IMAGE = "registry.local/web"
STAGES = ("dev", "staging", "prod")
POLICY = """\
p, role:release, promotions, get, *, allow
p, role:release, promotions, approve, *, allow
g, alice, role:release
g, carol, role:release
g, dave, role:release
"""
SUBSCRIBED = (
    "notifications.argoproj.io/subscribe.on-promotion-awaiting-approval.hook: release, "
    "notifications.argoproj.io/subscribe.on-promotion-succeeded.hook: ''"
)


def _deployment(image: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: web}}
        spec:
          replicas: 0
          selector: {{matchLabels: {{app: web}}}}
          template:
            metadata: {{labels: {{app: web}}}}
            spec:
              containers:
                - name: web
                  image: {image}
        """)


class Repo:
    """The monorepo of the test: the source (``src/``) and the stages' manifests, one clone pushed from."""

    def __init__(self, url: str, work: Path) -> None:
        self.url, self.work = url, work
        self.git("clone", "--quiet", url, str(work), cwd=work.parent)

    def git(self, *args: str, cwd: Path | None = None, author: str = "ci") -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(
            GIT_AUTHOR_NAME=author.title(),
            GIT_AUTHOR_EMAIL=f"{author}@example.com",
            GIT_COMMITTER_NAME="ci",
            GIT_COMMITTER_EMAIL="ci@example.com",
        )
        done = subprocess.run(
            [git_executable(), *args],
            cwd=cwd or self.work,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, (args, done.stderr)
        return done.stdout.strip()

    def commit(self, files: dict[str, str], message: str, *, author: str = "ci") -> str:
        if self.git("ls-remote", "--heads", "origin", "main"):
            self.git("pull", "--quiet", "--rebase", "origin", "main")
        for rel, text in files.items():
            (self.work / rel).parent.mkdir(parents=True, exist_ok=True)
            (self.work / rel).write_text(text)
        self.git("add", "--all")
        self.git("commit", "--quiet", "-m", message, author=author)
        self.git("push", "--quiet", "origin", "HEAD:main")
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def world(
    local_cluster: LocalCluster, git_server: GitServer, tmp_path: Path
) -> Iterator[tuple[Repo, Path, str]]:
    suffix = uuid.uuid4().hex[:6]
    repo = Repo(git_server.create_repo(f"promo-{suffix}"), tmp_path / "work")
    repo.commit({f"{s}/web.yaml": _deployment(f"{IMAGE}:v0") for s in STAGES}, "three stages")
    apps = tmp_path / "apps"
    apps.mkdir()
    documents = [
        textwrap.dedent(f"""\
            apiVersion: argoproj.io/v1alpha1
            kind: Application
            metadata:
              name: web-{stage}-{suffix}
              namespace: argocd
              annotations: {{{SUBSCRIBED if stage == "prod" else ""}}}
            spec:
              project: default
              source: {{repoURL: {repo.url}, targetRevision: main, path: {stage}}}
              destination: {{server: https://kubernetes.default.svc, namespace: promo-{stage}-{suffix}}}
              syncPolicy: {{automated: {{prune: true}}, syncOptions: [CreateNamespace=true]}}
            """)
        for stage in STAGES
    ]
    documents.append(
        textwrap.dedent(f"""\
            apiVersion: gitloop.dev/v1alpha1
            kind: PromotionChain
            metadata: {{name: web}}
            spec:
              stages:
                - {{name: dev, application: web-dev-{suffix}, image: {{path: dev/web.yaml, name: {IMAGE}}}}}
                - name: staging
                  application: web-staging-{suffix}
                  image: {{path: staging/web.yaml, name: {IMAGE}}}
                  auto: {{soak: 0s, verification: null}}
                - name: prod
                  application: web-prod-{suffix}
                  image: {{path: prod/web.yaml, name: {IMAGE}}}
                  approval: {{requiredApprovals: 2, roles: ["role:release"]}}
            """)
    )
    (apps / "web.yaml").write_text("---\n".join(documents))
    yield repo, apps, suffix
    asyncio.run(_cleanup(local_cluster, suffix))


async def _cleanup(cluster: LocalCluster, suffix: str) -> None:
    async with KubeCluster.from_kubeconfig(cluster.kubeconfig) as kc:
        for stage in STAGES:
            with contextlib.suppress(NotFoundError):  # never made: the server did not start
                await kc.delete("v1", "Namespace", f"promo-{stage}-{suffix}", propagation="Background")


def _gitloop(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GITLOOP, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120, check=False
    )


def _until(read: Callable[[], Any], what: str, serve: ServeProcess, timeout: float = 180.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = read()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{serve.output()[-6000:]}"
        time.sleep(0.5)


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    yield from serve_http(HttpReceiver())


def test_a_change_flows_to_staging_and_waits_for_two_approvers_of_prod(
    world: tuple[Repo, Path, str], tmp_path: Path, local_cluster: LocalCluster, receiver: HttpReceiver
) -> None:
    repo, apps, _ = world
    config = tmp_path / "serve.yaml"
    config.write_text(
        textwrap.dedent(f"""\
            listen: 127.0.0.1:{free_port()}
            pollInterval: 2s
            applications:
              - files: [{apps}]
            clusters:
              - {{name: local, kubeconfig: {local_cluster.kubeconfig}}}
            notifications:
              services:
                hook: {{type: webhook, url: '{receiver.url}'}}
            rbac:
              policyCSV: |
            """)
        + textwrap.indent(POLICY, "    ")
    )
    env = serve_env(tmp_path / "state")
    env["GITLOOP_CACHE_DIR"] = str(tmp_path / "cache")
    env["GITLOOP_CONFIG_DIR"] = str(tmp_path / "client")
    for user in ("alice", "carol", "dave"):
        made = _gitloop(
            env,
            "account",
            "create",
            user,
            "--config",
            str(config),
            "--password-file",
            "-",
            stdin=f"{user}-pass-1\n",
        )
        assert made.returncode == 0, made.stderr
    with ServeProcess(config, env) as serve, serve.client() as admin:
        cli = {**env, **serve.cli_env()}

        def promotions() -> list[dict[str, Any]]:
            answer = admin.get("/api/v1/promotions")
            assert answer.status_code == 200, answer.text
            items: list[dict[str, Any]] = answer.json()["items"]
            return items

        def of(stage: str) -> dict[str, Any] | None:
            return next((p for p in promotions() if p["to"] == stage), None)

        # Nothing to promote yet: no stage runs a known source commit.
        time.sleep(3)
        assert promotions() == []
        # alice's change; the pipeline hands its image to dev with gitloop's trailers.
        source = repo.commit({"src/main.txt": "hello\n"}, "a change", author="alice")
        image = f"{IMAGE}:{source[:7]}"
        repo.commit(
            {"dev/web.yaml": _deployment(image)},
            f"Set {IMAGE} to {image}\n\nGitloop-Image: {image}\nGitloop-File: dev/web.yaml\n"
            f"Gitloop-Source-Commit: {source}",
        )
        staging = _until(
            lambda: (p := of("staging")) and p["state"] == "Succeeded" and p, "staging promoted", serve
        )
        assert staging["sourceCommit"] == source and staging["images"] == [image]
        assert staging["approvals"] == [] and staging["configCommit"]
        prod = _until(lambda: of("prod"), "the prod promotion", serve)
        assert prod["state"] == "WaitingApproval", prod
        assert prod["author"] == "Alice <alice@example.com>" and prod["images"] == [image]
        listed = _gitloop(cli, "promotion", "list", "-o", "json")
        assert listed.returncode == 0, listed.stderr
        assert {p["id"] for p in json.loads(listed.stdout)} == {staging["id"], prod["id"]}
        again = _gitloop(cli, "promote", "web", "--to", "prod", "-o", "json")  # the open one answers
        assert again.returncode == 0 and json.loads(again.stdout)["id"] == prod["id"], again
        into_first = _gitloop(cli, "promote", "web", "--to", "dev")
        assert into_first.returncode == 2 and "first of PromotionChain 'web'" in into_first.stderr, into_first

        tokens = {}
        with httpx.Client(base_url=serve.url, timeout=30) as http:
            for user in ("alice", "carol", "dave"):
                login = http.post("/api/v1/session", json={"username": user, "password": f"{user}-pass-1"})
                assert login.status_code == 200, login.text
                tokens[user] = login.json()["token"]
            refused = http.post(
                f"/api/v1/promotions/{prod['id']}/approve",
                headers={"Authorization": f"Bearer {tokens['alice']}"},
            )
            assert refused.status_code == 403, refused.text
            assert "alice is the author of the change" in refused.json()["message"]

        def approve(user: str) -> subprocess.CompletedProcess[str]:
            return _gitloop({**cli, "GITLOOP_AUTH_TOKEN": tokens[user]}, "approve", prod["id"], "-o", "json")

        by_alice = approve("alice")
        assert by_alice.returncode == 1 and "author" in by_alice.stderr, by_alice
        for user in ("carol", "carol"):
            done = approve(user)
            assert done.returncode == 0, done.stderr
            assert json.loads(done.stdout)["state"] == "WaitingApproval"
            assert [a["user"] for a in json.loads(done.stdout)["approvals"]] == ["carol"]
        assert approve("dave").returncode == 0
        promoted = _until(
            lambda: (p := of("prod")) and p["state"] == "Succeeded" and p, "prod promoted", serve
        )
        assert [a["user"] for a in promoted["approvals"]] == ["carol", "dave"]
        shown = _gitloop(cli, "promotion", "get", prod["id"], "-o", "json")
        assert json.loads(shown.stdout)["configCommit"] == promoted["configCommit"]
        late = approve("carol")  # it no longer waits: 409
        assert late.returncode == 1 and "is Succeeded, not WaitingApproval" in late.stderr, late
        unknown = _gitloop(cli, "promotion", "get", "nope")
        assert unknown.returncode == 1 and "no promotion 'nope'" in unknown.stderr, unknown
        _until(lambda: len(receiver.requests) >= 2, "the promotion notifications", serve)

        # Two newer changes: the second supersedes the promotion to prod that still waits for the first,
        # which then takes no approval (an approval given late never moves prod back).
        waiting: dict[int, dict[str, Any]] = {}
        for number in (2, 3):
            newer = repo.commit({"src/main.txt": f"hello {number}\n"}, f"change {number}", author="alice")
            newer_image = f"{IMAGE}:{newer[:7]}"
            repo.commit(
                {"dev/web.yaml": _deployment(newer_image)},
                f"Set {IMAGE} to {newer_image}\n\nGitloop-Image: {newer_image}\nGitloop-File: dev/web.yaml\n"
                f"Gitloop-Source-Commit: {newer}",
            )
            waiting[number] = _until(
                lambda sha=newer: next(
                    (p for p in promotions() if p["to"] == "prod" and p["sourceCommit"] == sha), None
                ),
                f"change {number}'s promotion to prod",
                serve,
            )
        first, second = waiting[2], waiting[3]
        ended = _until(
            lambda: (
                (p := next(p for p in promotions() if p["id"] == first["id"]))["state"] == "Superseded" and p
            ),
            "the older promotion to prod superseded",
            serve,
        )
        assert ended["message"] == f"superseded by {second['id']} ({second['sourceCommit'][:12]})", ended
        assert next(p for p in promotions() if p["id"] == second["id"])["state"] == "WaitingApproval"
        stale = _gitloop({**cli, "GITLOOP_AUTH_TOKEN": tokens["carol"]}, "approve", first["id"])
        assert stale.returncode == 1 and "is Superseded, not WaitingApproval" in stale.stderr, stale
        time.sleep(3)  # more passes and status changes: nothing is sent again
        assert serve.stop() == 0, serve.output()
    later = (first["id"], second["id"])  # the newer changes' promotions have notifications of their own
    sent = [b for b in (r.json() for r in receiver.requests) if b["subject"] not in later]
    assert sorted((b["trigger"], b["recipient"]) for b in sent) == [
        ("on-promotion-awaiting-approval", "release"),
        ("on-promotion-succeeded", ""),
    ]
    assert all(b["subject"] == prod["id"] for b in sent)

    repo.git("pull", "--quiet", "origin", "main")
    message = repo.git("log", "-1", "--format=%B", promoted["configCommit"])
    trailers = message.strip().rsplit("\n\n", 1)[-1].splitlines()
    assert f"Gitloop-Source-Commit: {source}" in trailers
    assert f"Gitloop-Promotion: {prod['id']}" in trailers
    assert [t for t in trailers if t.startswith("Gitloop-Approved-By:")] == [
        "Gitloop-Approved-By: carol",
        "Gitloop-Approved-By: dave",
    ]
    assert f"image: {image}" in repo.git("show", f"{promoted['configCommit']}:prod/web.yaml")
    assert f"image: {image}" in repo.git("show", f"{staging['configCommit']}:staging/web.yaml")
