"""The image handoff against the real local git server: set an image by YAML path, kustomization
``images:`` and Flux setter; no commit when nothing changes; commits that carry author, lineage and
trailers; pushes that lose a race are rebuilt on the new tip; 20 concurrent handoffs all land."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from gitloop.cli.main import cli
from gitloop.errors import SpecError
from gitloop.git.worktree import Identity, Worktree
from gitloop.handoff import HandoffResult
from gitloop.localinfra.gitserver import GitServer
from gitloop.service.handoff import ImageHandoff, set_image

pytestmark = pytest.mark.integration

SHA = "5f0c6d1e2b3a49588776655443322110ffeeddcc"
KUSTOMIZATION = """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
images:
  - name: app   # built by the pipeline
    newName: registry.local:5000/app
    newTag: "0.1.0"
"""
DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: proxy
          image: envoyproxy/envoy:v1.30.1
        - name: web   # the app
          image: "registry.local:5000/web:1"
"""
FLUX = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
spec:
  template:
    spec:
      containers:
        - name: podinfo
          image: ghcr.io/stefanprodan/podinfo:5.0.0 # {"$imagepolicy": "flux-system:podinfo"}
"""
FILES = {
    "overlays/dev/kustomization.yaml": KUSTOMIZATION,
    "apps/web/deployment.yaml": DEPLOYMENT,
    "clusters/dev/podinfo.yaml": FLUX,
}


def git(env: dict[str, str], *args: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(
        ["git", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, f"git {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}"
    return proc.stdout.strip()


class ConfigRepo:
    """A repository of the test git server, seeded with a config repo's files."""

    def __init__(self, env: dict[str, str], url: str, work: Path) -> None:
        self.env, self.url, self.work = env, url, work
        git(env, "clone", "-q", url, str(work))

    def commit(self, files: dict[str, str], message: str = "seed") -> str:
        if self.log():
            git(self.env, "pull", "-q", "--ff-only", "origin", "main", cwd=self.work)
        for name, text in files.items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git(self.env, "add", "-A", cwd=self.work)
        git(self.env, "commit", "-q", "-m", message, cwd=self.work)
        git(self.env, "push", "-q", "origin", "HEAD:refs/heads/main", cwd=self.work)
        return self.head()

    def fetch(self) -> None:
        git(self.env, "fetch", "-q", "origin", cwd=self.work)

    def head(self) -> str:
        self.fetch()
        return git(self.env, "rev-parse", "origin/main", cwd=self.work)

    def log(self, fmt: str = "%H") -> list[str]:
        if not git(self.env, "for-each-ref", "refs/remotes/origin/main", cwd=self.work):
            return []
        self.fetch()
        out = git(self.env, "log", f"--format={fmt}%x00", "origin/main", cwd=self.work)
        return [entry.strip("\n") for entry in out.split("\x00") if entry.strip("\n")]

    def show(self, path: str, rev: str = "origin/main") -> str:
        self.fetch()
        return git(self.env, "show", f"{rev}:{path}", cwd=self.work) + "\n"


@pytest.fixture
def repo(git_server: GitServer, git_env: dict[str, str], tmp_path: Path) -> ConfigRepo:
    url = git_server.create_repo(f"handoff-{uuid.uuid4().hex[:8]}")
    config = ConfigRepo(git_env, url, tmp_path / "seed")
    config.commit(FILES)
    return config


def handoff(repo: ConfigRepo, **kwargs: object) -> HandoffResult:
    request = ImageHandoff(repo=repo.url, **kwargs)  # type: ignore[arg-type]
    return set_image(request, env=repo.env, timeout=60)


def trailer(repo: ConfigRepo, commit: str, key: str) -> str:
    return git(repo.env, "log", "-1", f"--format=%(trailers:key={key},valueonly)", commit, cwd=repo.work)


# -- the three ways to find the field ------------------------------------------------------------------


def test_set_image_by_yaml_path(repo: ConfigRepo) -> None:
    before = repo.head()
    result = handoff(
        repo,
        file="apps/web/deployment.yaml",
        image="registry.local:5000/web:2",
        path=".spec.template.spec.containers[name=web].image",
    )
    assert result.commit is not None and result.commit == repo.head()
    assert (result.strategy, result.changed_files, result.pushed, result.base) == (
        "path",
        ("apps/web/deployment.yaml",),
        True,
        before,
    )
    assert repo.show("apps/web/deployment.yaml") == DEPLOYMENT.replace('web:1"', 'web:2"')
    assert repo.log()[1] == before


def test_set_image_with_the_seed_yq_expression(repo: ConfigRepo) -> None:
    result = handoff(
        repo,
        file="apps/web/deployment.yaml",
        path='.spec.template.spec.containers[0].image = "envoyproxy/envoy:v1.31.0"',
    )
    assert result.image == "envoyproxy/envoy:v1.31.0"
    assert repo.show("apps/web/deployment.yaml") == DEPLOYMENT.replace("v1.30.1", "v1.31.0")


def test_set_image_in_kustomization_images(repo: ConfigRepo) -> None:
    result = handoff(repo, file="overlays/dev/kustomization.yaml", image="app=registry.local:5000/app:0.2.0")
    assert result.strategy == "kustomize"
    assert repo.show("overlays/dev/kustomization.yaml") == KUSTOMIZATION.replace('"0.1.0"', '"0.2.0"')


def test_set_image_via_flux_setter(repo: ConfigRepo) -> None:
    result = handoff(
        repo, file="clusters/dev/podinfo.yaml", image="flux-system:podinfo=ghcr.io/stefanprodan/podinfo:5.0.3"
    )
    assert result.strategy == "setters"
    assert repo.show("clusters/dev/podinfo.yaml") == FLUX.replace("5.0.0", "5.0.3")


# -- commits -----------------------------------------------------------------------------------------


def test_no_change_makes_no_commit(repo: ConfigRepo) -> None:
    first = handoff(repo, file="overlays/dev/kustomization.yaml", image="app=registry.local:5000/app:0.2.0")
    head = repo.head()
    again = handoff(repo, file="overlays/dev/kustomization.yaml", image="app=registry.local:5000/app:0.2.0")
    assert first.commit == head
    assert (again.commit, again.changed_files, again.changes, again.pushed) == (None, (), (), False)
    assert repo.head() == head
    assert len(repo.log()) == 2


def test_commit_carries_author_lineage_and_trailers(repo: ConfigRepo) -> None:
    result = handoff(
        repo,
        file="overlays/dev/kustomization.yaml",
        image="app=registry.local:5000/app:0.3.0",
        source_commit=SHA,
        pipelinerun="app-ci-run-x7k2p",
        author=Identity("Tekton Pipeline", "tekton@example.com"),
    )
    assert result.commit is not None
    author, message = repo.log("%an <%ae>%n%B")[0].split("\n", 1)
    assert author == "Tekton Pipeline <tekton@example.com>"
    assert SHA in message.split("\n\n")[1] and "app-ci-run-x7k2p" in message.split("\n\n")[1]
    assert trailer(repo, result.commit, "Gitloop-Source-Commit") == SHA
    assert trailer(repo, result.commit, "Gitloop-PipelineRun") == "app-ci-run-x7k2p"
    assert trailer(repo, result.commit, "Gitloop-Image") == "registry.local:5000/app:0.3.0"
    assert trailer(repo, result.commit, "Gitloop-File") == "overlays/dev/kustomization.yaml"
    changed = git(repo.env, "show", "--format=", "--name-only", result.commit, cwd=repo.work)
    assert changed == "overlays/dev/kustomization.yaml"


def test_message_template(repo: ConfigRepo) -> None:
    result = handoff(
        repo,
        file="overlays/dev/kustomization.yaml",
        image="app=registry.local:5000/app:0.4.0",
        message="chore(dev): {image_name} {tag} from {source_commit_short} by {pipelinerun}",
        source_commit=SHA,
        pipelinerun="run-1",
    )
    subject = repo.log("%s")[0]
    assert subject == f"chore(dev): app 0.4.0 from {SHA[:12]} by run-1"
    assert result.commit and trailer(repo, result.commit, "Gitloop-PipelineRun") == "run-1"


def test_a_lost_race_is_rebuilt_on_the_new_tip(repo: ConfigRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another pipeline pushes between our fetch and our push: the push is refused, the edit is made
    again on the new tip, and both changes are in the branch."""
    real_commit = Worktree.commit_file
    raced = threading.Event()

    def commit_then_lose_the_race(self: Worktree, *args: object, **kwargs: object) -> str | None:
        commit = real_commit(self, *args, **kwargs)  # type: ignore[arg-type]
        if not raced.is_set():
            raced.set()
            repo.commit(
                {"apps/web/deployment.yaml": DEPLOYMENT.replace("web:1", "web:9")}, "another pipeline"
            )
        return commit

    monkeypatch.setattr(Worktree, "commit_file", commit_then_lose_the_race)
    pauses: list[float] = []
    result = set_image(
        ImageHandoff(
            repo=repo.url, file="overlays/dev/kustomization.yaml", image="app=registry.local:5000/app:1.0.0"
        ),
        env=repo.env,
        timeout=60,
        sleep=pauses.append,
    )
    assert result.attempts == 2 and len(pauses) == 1
    assert repo.log("%s")[:2] == [
        "Set app to registry.local:5000/app:1.0.0 in overlays/dev/kustomization.yaml",
        "another pipeline",
    ]
    assert "web:9" in repo.show("apps/web/deployment.yaml")
    assert '"1.0.0"' in repo.show("overlays/dev/kustomization.yaml")


def _check_twenty(repo: ConfigRepo, seeded: int, names: list[str], commits: list[str | None]) -> None:
    assert all(commits) and len(set(commits)) == 20
    log = repo.log()
    assert len(log) == seeded + 20
    assert set(log[:20]) == set(commits)
    text = repo.show("overlays/dev/kustomization.yaml")
    for name in names:
        assert f"- name: {name}\n    newName: registry.local:5000/{name}\n    newTag: v7\n" in text
    assert text.startswith(KUSTOMIZATION)  # the app's entry and every comment are still there
    images = {trailer(repo, c, "Gitloop-Image") for c in commits if c}
    assert images == {f"registry.local:5000/{n}:v7" for n in names}
    for commit in commits:
        diff = git(repo.env, "show", "--format=", "--unified=0", str(commit), cwd=repo.work)
        assert sum(line.startswith("+ ") for line in diff.splitlines()) == 3  # one entry per commit


def test_twenty_concurrent_pipelines_all_land_each_in_its_own_commit(
    repo: ConfigRepo, tmp_path: Path
) -> None:
    """20 ``gitloop image set`` processes set 20 different images in the same kustomization at once.
    On one machine they take turns (a lock per repository and branch): one push each."""
    seeded = len(repo.log())
    names = [f"svc-{i:02d}" for i in range(20)]
    env = {**repo.env, "TMPDIR": str(tmp_path)}
    args = [sys.executable, "-m", "gitloop", "image", "set", "--repo", repo.url, "-o", "json"]
    args += ["--file", "overlays/dev/kustomization.yaml"]
    procs = [
        subprocess.Popen(
            [*args, "--image", f"{name}=registry.local:5000/{name}:v7"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        reports.append(json.loads(out))
    _check_twenty(repo, seeded, names, [r["commit"] for r in reports])
    assert [r["attempts"] for r in reports] == [1] * 20


def test_twenty_racing_handoffs_are_rebuilt_until_all_land(repo: ConfigRepo) -> None:
    """The same without taking turns (as from 20 machines): pushes are refused, each loser fetches
    the new tip, makes its edit again and pushes again, until all 20 land."""
    seeded = len(repo.log())
    names = [f"svc-{i:02d}" for i in range(20)]

    def one(name: str) -> HandoffResult:
        request = ImageHandoff(
            repo=repo.url,
            file="overlays/dev/kustomization.yaml",
            image=f"{name}=registry.local:5000/{name}:v7",
        )
        return set_image(request, env=repo.env, timeout=60, take_turns=False, max_attempts=40)

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(one, names))

    _check_twenty(repo, seeded, names, [r.commit for r in results])
    assert max(r.attempts for r in results) > 1


# -- --dir -------------------------------------------------------------------------------------------


def test_dir_commits_pushes_and_fast_forwards_the_checkout(repo: ConfigRepo, tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    git(repo.env, "clone", "-q", repo.url, str(checkout))
    result = set_image(
        ImageHandoff(
            directory=checkout / "overlays",
            file="dev/kustomization.yaml",
            image="app=registry.local:5000/app:2.0.0",
        ),
        env=repo.env,
        timeout=60,
    )
    assert result.commit == repo.head() and result.pushed and result.checkout_updated
    assert result.file == "overlays/dev/kustomization.yaml"
    assert git(repo.env, "rev-parse", "HEAD", cwd=checkout) == result.commit
    assert '"2.0.0"' in (checkout / "overlays/dev/kustomization.yaml").read_text()
    assert git(repo.env, "status", "--porcelain", cwd=checkout) == ""


def test_dir_without_a_remote_commits_on_its_branch(git_env: dict[str, str], tmp_path: Path) -> None:
    local = tmp_path / "local"
    git(git_env, "init", "-q", str(local))
    (local / "kustomization.yaml").write_text(KUSTOMIZATION)
    git(git_env, "add", "-A", cwd=local)
    git(git_env, "commit", "-q", "-m", "seed", cwd=local)
    result = set_image(
        ImageHandoff(directory=local, file="kustomization.yaml", image="app=registry.local:5000/app:3.0.0"),
        env=git_env,
    )
    assert result.commit == git(git_env, "rev-parse", "HEAD", cwd=local) and not result.pushed
    assert '"3.0.0"' in (local / "kustomization.yaml").read_text()
    assert git(git_env, "status", "--porcelain", cwd=local) == ""


# -- the command line --------------------------------------------------------------------------------


def run_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["image", "set", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_cli_commits_then_says_unchanged(repo: ConfigRepo) -> None:
    args = [
        "--repo",
        repo.url,
        "--file",
        "overlays/dev/kustomization.yaml",
        "--image",
        "app=registry.local:5000/app:5.0.0",
    ]
    code, out, _ = run_cli(*args, "--source-commit", SHA, "--pipelinerun", "run-9", "-o", "json")
    report = json.loads(out)
    assert code == 0 and report["status"] == "committed" and report["commit"] == repo.head()
    assert report["changes"] == [
        {"document": 0, "field": ".images[0].newTag", "line": 8, "old": "0.1.0", "new": "5.0.0"}
    ]
    code, out, _ = run_cli(*args)
    assert code == 0 and out.startswith("unchanged: overlays/dev/kustomization.yaml") and "no commit" in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--file", "missing.yaml", "--image", "app:v1"], ["missing.yaml", "not found in branch main"]),
        (["--file", "apps/web/deployment.yaml", "--image", "nope:v1"], ["apps/web/deployment.yaml", "nope"]),
        (
            ["--file", "apps/web/deployment.yaml", "--image", "x:1", "--path", ".spec.x"],
            [".spec.x", "not found"],
        ),
        (["--file", "apps/web/deployment.yaml", "--image", "x:1", "--path", ".spec[x"], ["column 8"]),
        (["--file", "overlays/dev/kustomization.yaml", "--image", "app"], ["NAME=NEWNAME"]),
        (["--file", "../x.yaml", "--image", "app:v1"], ["relative path"]),
        (["--file", "x.yaml", "--image", "app:v1", "--source-commit", "zzz"], ["not a commit SHA"]),
        (["--file", "x.yaml", "--image", "app:v1", "--message", "{nope}"], ["unknown placeholder"]),
    ],
)
def test_cli_bad_input_exits_2_naming_file_and_field(
    repo: ConfigRepo, args: list[str], words: list[str]
) -> None:
    head = repo.head()
    code, _, err = run_cli("--repo", repo.url, *args)
    assert code == 2, err
    for word in words:
        assert word in err
    assert repo.head() == head


def test_cli_git_failure_exits_1(git_server: GitServer) -> None:
    code, _, err = run_cli(
        "--repo", f"{git_server.url}/no-such-repo.git", "--file", "k.yaml", "--image", "app:v1"
    )
    assert code == 1 and "no-such-repo" in err


def test_cli_needs_one_of_repo_and_dir() -> None:
    code, _, err = run_cli("--file", "k.yaml", "--image", "app:v1")
    assert code == 2 and "--repo" in err


def test_spec_errors_push_nothing(repo: ConfigRepo) -> None:
    with pytest.raises(SpecError):
        handoff(repo, file="apps/web/deployment.yaml", image="nope=nope:1")
    assert len(repo.log()) == 1
