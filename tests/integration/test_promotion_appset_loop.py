"""Promotion into an ApplicationSet stage, on a real ``gitloop serve`` over the real local cluster and git
server: a PromotionChain dev (an Application) → staging (``applicationSet`` with a selector, ``image:
{overlay: fromApplication}``); a list generator makes three staging Applications from overlays, two of
them ``tier: web``. A change handed to dev is promoted by itself into the two selected Applications in
ONE config commit carrying the promotion's trailers and a ``Gitloop-File`` per overlay (the third
overlay is left alone), and both turn Synced and Healthy at that commit. With a selector matching none
of them, the promotion waits ``Pending`` saying why, and goes on once the chain's selector matches."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitloop.errors import NotFoundError
from gitloop.kube import KubeCluster
from gitloop.localinfra.cluster import LocalCluster
from gitloop.localinfra.gitrepos import git_executable
from gitloop.localinfra.gitserver import GitServer

sys.path.insert(0, str(Path(__file__).parents[1] / "serve"))  # the serve tests' process helpers
from serve_process import ServeProcess, free_port, serve_env

pytestmark = pytest.mark.integration

IMAGE = "registry.local/web"
REGIONS = {"eu": "web", "us": "web", "ap": "batch"}  # region → tier; the stage selects tier: web
SELECTED = ("eu", "us")


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


KUSTOMIZATION = textwrap.dedent(f"""\
    resources: [web.yaml]
    images:
      - name: {IMAGE}
        newTag: v0
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


def _documents(repo: Repo, suffix: str, tier: str = "web") -> str:
    elements = ", ".join(f"{{region: {region}, tier: {tier}}}" for region, tier in REGIONS.items())
    return textwrap.dedent(f"""\
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {{name: web-dev-{suffix}, namespace: argocd}}
        spec:
          project: default
          source: {{repoURL: {repo.url}, targetRevision: main, path: dev}}
          destination: {{server: https://kubernetes.default.svc, namespace: promo-dev-{suffix}}}
          syncPolicy: {{automated: {{prune: true}}, syncOptions: [CreateNamespace=true]}}
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: ApplicationSet
        metadata: {{name: web-staging-{suffix}, namespace: argocd}}
        spec:
          generators:
            - list:
                elements: [{elements}]
          template:
            metadata:
              name: "web-staging-{{{{region}}}}-{suffix}"
              labels: {{tier: "{{{{tier}}}}"}}
            spec:
              project: default
              source: {{repoURL: {repo.url}, targetRevision: main, path: "staging/{{{{region}}}}"}}
              destination:
                server: https://kubernetes.default.svc
                namespace: "promo-staging-{{{{region}}}}-{suffix}"
              syncPolicy: {{automated: {{prune: true}}, syncOptions: [CreateNamespace=true]}}
        ---
        apiVersion: gitloop.dev/v1alpha1
        kind: PromotionChain
        metadata: {{name: web}}
        spec:
          stages:
            - {{name: dev, application: web-dev-{suffix}, image: {{path: dev/web.yaml, name: {IMAGE}}}}}
            - name: staging
              applicationSet: web-staging-{suffix}
              selector: {{matchLabels: {{tier: {tier}}}}}
              image: {{overlay: fromApplication, name: {IMAGE}}}
              auto: {{soak: 0s}}
        """)


@pytest.fixture
def world(
    local_cluster: LocalCluster, git_server: GitServer, tmp_path: Path
) -> Iterator[tuple[Repo, Path, str]]:
    suffix = uuid.uuid4().hex[:6]
    repo = Repo(git_server.create_repo(f"promo-set-{suffix}"), tmp_path / "work")
    files = {"dev/web.yaml": _deployment(f"{IMAGE}:v0")}
    for region in REGIONS:
        files[f"staging/{region}/web.yaml"] = _deployment(IMAGE)
        files[f"staging/{region}/kustomization.yaml"] = KUSTOMIZATION
    repo.commit(files, "dev and three staging overlays")
    apps = tmp_path / "apps"
    apps.mkdir()
    (apps / "web.yaml").write_text(_documents(repo, suffix))
    yield repo, apps, suffix
    asyncio.run(_cleanup(local_cluster, suffix))


async def _cleanup(cluster: LocalCluster, suffix: str) -> None:
    async with KubeCluster.from_kubeconfig(cluster.kubeconfig) as kc:
        for namespace in ("dev", *(f"staging-{r}" for r in REGIONS)):
            with contextlib.suppress(NotFoundError):  # never made: the server did not start
                await kc.delete("v1", "Namespace", f"promo-{namespace}-{suffix}", propagation="Background")


def _until(read: Callable[[], Any], what: str, serve: ServeProcess, timeout: float = 240.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = read()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{serve.output()[-6000:]}"
        time.sleep(0.5)


def _serve(tmp_path: Path, apps: Path, local_cluster: LocalCluster) -> tuple[Path, dict[str, str]]:
    config = tmp_path / "serve.yaml"
    config.write_text(
        textwrap.dedent(f"""\
            listen: 127.0.0.1:{free_port()}
            pollInterval: 2s
            applications:
              - files: [{apps}]
            clusters:
              - {{name: local, kubeconfig: {local_cluster.kubeconfig}}}
            """)
    )
    env = serve_env(tmp_path / "state")
    env["GITLOOP_CACHE_DIR"] = str(tmp_path / "cache")
    env["GITLOOP_CONFIG_DIR"] = str(tmp_path / "client")
    return config, env


def _change(repo: Repo) -> tuple[str, str]:
    """alice's source commit and its image, handed to dev with gitloop's trailers."""
    source = repo.commit({"src/main.txt": "hello\n"}, "a change", author="alice")
    image = f"{IMAGE}:{source[:7]}"
    repo.commit(
        {"dev/web.yaml": _deployment(image)},
        f"Set {IMAGE} to {image}\n\nGitloop-Image: {image}\nGitloop-File: dev/web.yaml\n"
        f"Gitloop-Source-Commit: {source}",
    )
    return source, image


def test_a_change_is_promoted_into_every_selected_application_of_the_set_in_one_commit(
    world: tuple[Repo, Path, str], tmp_path: Path, local_cluster: LocalCluster
) -> None:
    repo, apps, suffix = world
    config, env = _serve(tmp_path, apps, local_cluster)
    staging = [f"web-staging-{region}-{suffix}" for region in SELECTED]
    with ServeProcess(config, env) as serve, serve.client() as admin:

        def promotions() -> list[dict[str, Any]]:
            answer = admin.get("/api/v1/promotions")
            assert answer.status_code == 200, answer.text
            items: list[dict[str, Any]] = answer.json()["items"]
            return items

        def app(name: str) -> dict[str, Any]:
            answer = admin.get(f"/api/v1/applications/{name}")
            assert answer.status_code == 200, answer.text
            found: dict[str, Any] = answer.json()
            return found

        names = {f"web-staging-{region}-{suffix}" for region in REGIONS}
        _until(
            lambda: (
                names <= {a["metadata"]["name"] for a in admin.get("/api/v1/applications").json()["items"]}
            ),
            "the generated Applications",
            serve,
        )
        time.sleep(3)
        assert promotions() == []  # nothing runs a known source commit yet

        source, image = _change(repo)
        promoted = _until(
            lambda: next(
                (p for p in promotions() if p["to"] == "staging" and p["state"] == "Succeeded"), None
            ),
            "staging promoted",
            serve,
        )
        assert promoted["sourceCommit"] == source and promoted["images"] == [image], promoted
        assert promoted["application"] == f"web-staging-{suffix}" and len(promoted["configCommit"]) == 40
        assert len(promotions()) == 1  # one promotion for the whole set

        def settled(name: str) -> bool:
            status = app(name)["status"]
            return (
                status["sync"]["status"] == "Synced"
                and status["sync"]["revision"] == promoted["configCommit"]
                and status["health"]["status"] == "Healthy"
            )

        _until(lambda: all(settled(name) for name in staging), "both staging Applications Healthy", serve)
        assert serve.stop() == 0, serve.output()

    repo.git("pull", "--quiet", "origin", "main")
    commit = promoted["configCommit"]
    message = repo.git("log", "-1", "--format=%B", commit)
    trailers = message.strip().rsplit("\n\n", 1)[-1].splitlines()
    assert f"Gitloop-Source-Commit: {source}" in trailers
    assert f"Gitloop-Promotion: {promoted['id']}" in trailers
    assert f"Gitloop-Image: {image}" in trailers
    overlays = [f"staging/{region}/kustomization.yaml" for region in SELECTED]
    assert [t for t in trailers if t.startswith("Gitloop-File:")] == [f"Gitloop-File: {o}" for o in overlays]
    parent = repo.git("rev-parse", f"{commit}^")
    assert repo.git("diff", "--name-only", parent, commit).split() == overlays  # ONE commit, both overlays
    for overlay in overlays:
        # A short SHA can look like a number (8571499), so the edit may quote it: compare the value.
        images = yaml.safe_load(repo.git("show", f"{commit}:{overlay}"))["images"]
        assert [str(i["newTag"]) for i in images] == [source[:7]], images
    assert "newTag: v0" in repo.git("show", f"{commit}:staging/ap/kustomization.yaml")  # not selected


def test_a_set_with_no_selected_application_is_not_promoted_into_until_it_has_some(
    world: tuple[Repo, Path, str], tmp_path: Path, local_cluster: LocalCluster
) -> None:
    repo, apps, suffix = world
    (apps / "web.yaml").write_text(_documents(repo, suffix, tier="none"))
    config, env = _serve(tmp_path, apps, local_cluster)
    with ServeProcess(config, env) as serve, serve.client() as admin:

        def staging() -> dict[str, Any] | None:
            answer = admin.get("/api/v1/promotions")
            assert answer.status_code == 200, answer.text
            return next((p for p in answer.json()["items"] if p["to"] == "staging"), None)

        source, _ = _change(repo)
        why = f"ApplicationSet web-staging-{suffix} generates no Applications matching the stage's selector"
        waiting = _until(lambda: (p := staging()) and why in p["message"] and p, "the promotion held", serve)
        assert waiting["state"] == "Pending" and waiting["sourceCommit"] == source, waiting
        time.sleep(4)  # more passes: it stays, nothing is committed
        held = staging()
        assert held is not None and (held["state"], held["configCommit"]) == ("Pending", ""), held

        (apps / "web.yaml").write_text(_documents(repo, suffix))  # now the selector matches two
        done = _until(lambda: (p := staging()) and p["state"] == "Succeeded" and p, "staging promoted", serve)
        assert done["id"] == waiting["id"] and done["configCommit"], done
        assert serve.stop() == 0, serve.output()
    repo.git("pull", "--quiet", "origin", "main")
    parent = repo.git("rev-parse", f"{done['configCommit']}^")
    assert repo.git("diff", "--name-only", parent, done["configCommit"]).split() == [
        f"staging/{region}/kustomization.yaml" for region in SELECTED
    ]
