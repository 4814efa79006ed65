"""The built-in catalog Tasks run for real against the local git server.

Until the engine runs them, a small runner here runs them the way the local executor will (see
``Runner``). Last, the seed's CI chain: clone the source, build it, clone the config repo, change
the image, commit and push.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from gitloop.errors import SpecError
from gitloop.localinfra.gitserver import BasicAuth, GitServer
from gitloop.pipeline.resolution import Resolver, builtin_tasks
from gitloop.pipeline.substitution import Value, params_context, substitute, substitute_list
from gitloop.service.resolvers import MirrorFiles
from gitloop.spec.tekton import Param, ParamValue, TaskRef, bind_params

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class TaskOutcome:
    exit_code: int
    results: dict[str, str]
    output: str


def git(env: Mapping[str, str], *args: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(
        ["git", *args], env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout.strip()


class Repo:
    """A repository on the local git server with a working clone to commit from."""

    def __init__(self, server: GitServer, name: str, work: Path, env: Mapping[str, str]) -> None:
        self.url = server.create_repo(name)
        self.env = env
        self.work = work
        git(env, "clone", "-q", self.url, str(work))

    def commit(self, files: Mapping[str, str], message: str, *, branch: str = "main") -> str:
        git(self.env, "checkout", "-q", "-B", branch, cwd=self.work)
        for rel, text in files.items():
            path = self.work / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git(self.env, "add", "--all", cwd=self.work)
        git(self.env, "commit", "-q", "-m", message, cwd=self.work)
        git(self.env, "push", "-q", "origin", f"HEAD:refs/heads/{branch}", cwd=self.work)
        return git(self.env, "rev-parse", "HEAD", cwd=self.work)

    def head(self, branch: str = "main") -> str:
        return git(self.env, "ls-remote", self.url, f"refs/heads/{branch}").split()[0]


class Runner:
    """Runs built-in Tasks as TaskRuns would: params bound with their defaults, every ``$(...)``
    substituted, each step's script written to a file and run with its args, env and working
    directory, in a fresh sandbox under one temporary directory."""

    def __init__(self, root: Path, env: Mapping[str, str]) -> None:
        self.root = root
        self.home = root / "step-home"
        self.home.mkdir()
        # The steps' environment: a HOME whose .gitconfig must stay untouched by the tasks.
        self.env = {**env, "HOME": str(self.home), "XDG_CACHE_HOME": str(root / "cache")}
        self.runs = 0

    def workspace(self, name: str) -> Path:
        path = self.root / "ws" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def run(self, name: str, params: Mapping[str, ParamValue], **workspaces: Path) -> TaskOutcome:
        task = builtin_tasks()[name]
        self.runs += 1
        sandbox = self.root / "runs" / f"{self.runs}-{name}"
        (sandbox / "results").mkdir(parents=True)
        given = [Param(k, v) for k, v in params.items()]
        bound = bind_params(task.spec.params, given, lambda path, msg: SpecError(msg, field=path))
        context: dict[str, Value] = {**params_context(bound), "context.taskRun.name": f"{name}-run"}
        for decl in task.spec.workspaces:
            path = workspaces.get(decl.name.replace("-", "_"))
            assert path is not None or decl.optional, f"workspace {decl.name} is not optional"
            context[f"workspaces.{decl.name}.path"] = str(path or "")
            context[f"workspaces.{decl.name}.bound"] = "true" if path is not None else "false"
        for result in task.spec.results:
            context[f"results.{result.name}.path"] = str(sandbox / "results" / result.name)
        output: list[str] = []
        for i, step in enumerate(task.spec.merged_steps()):
            script = sandbox / f"step-{i}"
            script.write_text(substitute(step.script, context))
            script.chmod(0o755)
            proc = subprocess.run(
                [str(script), *substitute_list(step.args, context)],
                cwd=substitute(step.working_dir, context) or sandbox,
                env={**self.env, **{e.name: substitute(e.value, context) for e in step.env}},
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            output.append(proc.stdout + proc.stderr)
            if proc.returncode != 0:
                return TaskOutcome(proc.returncode, {}, "".join(output))
        results = {p.name: p.read_text() for p in (sandbox / "results").iterdir()}
        return TaskOutcome(0, results, "".join(output))

    def ok(self, name: str, params: Mapping[str, ParamValue], **workspaces: Path) -> dict[str, str]:
        outcome = self.run(name, params, **workspaces)
        assert outcome.exit_code == 0, outcome.output
        return outcome.results


@pytest.fixture
def runner(tmp_path: Path, git_env: dict[str, str]) -> Runner:
    return Runner(tmp_path, git_env)


@pytest.fixture
def app(
    git_server: GitServer, git_env: dict[str, str], tmp_path: Path, request: pytest.FixtureRequest
) -> Repo:
    name = f"catalog-{request.node.name}".replace("[", "-").replace("]", "")[:60]
    return Repo(git_server, name, tmp_path / "seed", git_env)


# -- git-clone ----------------------------------------------------------------------------------------


def test_clone_branch(app: Repo, runner: Runner) -> None:
    first = app.commit({"README.md": "one\n"}, "one")
    second = app.commit({"README.md": "two\n", "src/app.py": "print('hi')\n"}, "two")
    out = runner.workspace("out")
    results = runner.ok("git-clone", {"url": app.url, "revision": "main"}, output=out)
    assert results["commit"] == second != first
    assert results["url"] == app.url
    assert results["committer-date"].isdigit()
    assert (out / "README.md").read_text() == "two\n"
    env = runner.env
    assert git(env, "symbolic-ref", "--short", "HEAD", cwd=out) == "main", "a branch is checked out"
    assert git(env, "rev-parse", "--abbrev-ref", "main@{upstream}", cwd=out) == "origin/main"
    assert git(env, "rev-parse", "--is-shallow-repository", cwd=out) == "true", "depth 1 by default"
    assert not (runner.home / ".gitconfig").exists(), "the caller's HOME is left alone"


def test_clone_sha_tag_default_branch_and_subdirectory(app: Repo, runner: Runner) -> None:
    first = app.commit({"a.txt": "1\n"}, "one")
    git(app.env, "tag", "v1", cwd=app.work)
    git(app.env, "push", "-q", "origin", "v1", cwd=app.work)
    second = app.commit({"a.txt": "2\n"}, "two")
    app.commit({"a.txt": "feature\n"}, "feature", branch="feature")
    cases = [
        (first, first),
        (first[:9], first),
        ("v1", first),
        ("", second),
        ("feature", app.head("feature")),
    ]
    for revision, expected in cases:
        out = runner.workspace(f"out-{revision or 'default'}")
        params = {"url": app.url, "revision": revision, "subdirectory": "sub/dir", "verbose": "false"}
        results = runner.ok("git-clone", params, output=out)
        assert results["commit"] == expected, revision
        checkout = out / "sub" / "dir"
        assert git(runner.env, "rev-parse", "HEAD", cwd=checkout) == expected
        branch = git(runner.env, "rev-parse", "--abbrev-ref", "HEAD", cwd=checkout)
        assert branch == {"": "main", "feature": "feature"}.get(revision, "HEAD"), revision


def test_clone_full_history_delete_existing_and_sparse(app: Repo, runner: Runner) -> None:
    app.commit({"keep/a.txt": "a\n", "skip/b.txt": "b\n"}, "one")
    head = app.commit({"keep/c.txt": "c\n"}, "two")
    out = runner.workspace("out")
    (out / "stale.txt").write_text("old")
    (out / ".hidden").write_text("old")
    params = {"url": app.url, "depth": "0", "sparseCheckoutDirectories": "keep/"}
    assert runner.ok("git-clone", params, output=out)["commit"] == head
    assert sorted(p.name for p in out.iterdir()) == [".git", "keep"]
    assert git(runner.env, "rev-list", "--count", "HEAD", cwd=out) == "2"

    (out / "untracked.txt").write_text("stays")
    kept = {"url": app.url, "deleteExisting": "false", "sparseCheckoutDirectories": ""}
    runner.ok("git-clone", kept, output=out)
    assert (out / "untracked.txt").read_text() == "stays"


def test_clone_failures(app: Repo, runner: Runner) -> None:
    app.commit({"a.txt": "1\n"}, "one")
    out = runner.workspace("out")
    cases = [
        ({"url": app.url, "revision": "no-such-branch"}, "revision 'no-such-branch' not found"),
        ({"url": app.url, "depth": "shallow"}, "param depth must be a whole number"),
        ({"url": ""}, "param url is empty"),
        ({"url": app.url + "-missing"}, "cannot fetch"),
    ]
    for params, message in cases:
        outcome = runner.run("git-clone", params, output=out)
        assert outcome.exit_code != 0, params
        assert message in outcome.output, outcome.output


def test_clone_and_push_with_basic_auth(git_env: dict[str, str], runner: Runner, tmp_path: Path) -> None:
    auth = BasicAuth("alice", "s3cret pass")
    with GitServer(tmp_path / "private", auth=auth, env=git_env) as server:
        url = server.create_repo("private")
        creds = runner.workspace("basic-auth")
        host = url.split("/")[2]
        (creds / ".git-credentials").write_text(f"http://alice:s3cret%20pass@{host}\n")
        (creds / ".gitconfig").write_text("[credential]\n\thelper = store\n")
        seed = tmp_path / "seed"
        seed.mkdir()
        git(git_env, "init", "-q", cwd=seed)
        (seed / "a.txt").write_text("secret\n")
        git(git_env, "add", ".", cwd=seed)
        git(git_env, "commit", "-q", "-m", "one", cwd=seed)
        authed = url.replace("http://", "http://alice:s3cret%20pass@")
        git(git_env, "push", "-q", authed, "HEAD:refs/heads/main", cwd=seed)

        out = runner.workspace("out")
        denied = runner.run("git-clone", {"url": url}, output=out)
        assert denied.exit_code != 0
        results = runner.ok("git-clone", {"url": url}, output=out, basic_auth=creds)
        assert (out / "a.txt").read_text() == "secret\n"
        script = "echo more >> a.txt\ngit commit -q -am more\ngit push -q origin main\n"
        params = {"GIT_USER_NAME": "CI", "GIT_USER_EMAIL": "ci@example.com", "GIT_SCRIPT": script}
        pushed = runner.ok("git-cli", params, source=out, basic_auth=creds)["commit"]
        assert pushed != results["commit"]
        assert git(git_env, "ls-remote", authed, "refs/heads/main").split()[0] == pushed


# -- git-cli ------------------------------------------------------------------------------------------


def test_git_cli_commits_and_pushes(app: Repo, runner: Runner) -> None:
    app.commit({"k8s/deployment.yaml": "image: app:old\n"}, "one")
    out, extra = runner.workspace("out"), runner.workspace("input")
    (extra / "NOTES.md").write_text("from the input workspace\n")
    runner.ok("git-clone", {"url": app.url, "revision": "main"}, output=out)
    script = (
        "sed -i 's/app:old/app:new/' k8s/deployment.yaml\n"
        'cp "$WORKSPACE_INPUT_PATH/NOTES.md" .\n'
        "git add k8s/deployment.yaml NOTES.md\n"
        'git commit -q -m "Update image to app:new (it\'s quoted)"\n'
        "git push -q origin main\n"
    )
    params = {
        "GIT_USER_NAME": "Tekton Pipeline",
        "GIT_USER_EMAIL": "tekton@example.com",
        "GIT_SCRIPT": script,
    }
    results = runner.ok("git-cli", params, source=out, input=extra)
    assert results["commit"] == app.head()
    git(app.env, "pull", "-q", "origin", "main", cwd=app.work)
    assert (app.work / "k8s" / "deployment.yaml").read_text() == "image: app:new\n"
    assert (app.work / "NOTES.md").exists()
    log = git(app.env, "log", "-1", "--format=%an <%ae>|%s", cwd=app.work)
    assert log == "Tekton Pipeline <tekton@example.com>|Update image to app:new (it's quoted)"
    assert not (runner.home / ".gitconfig").exists(), "the caller's HOME is left alone"


def test_git_cli_failing_script_and_chosen_home(app: Repo, runner: Runner) -> None:
    """A failing command stops the script; userHome/USER_HOME, when set, are used and kept."""
    app.commit({"a.txt": "1\n"}, "one")
    home, out = runner.root / "chosen-home", runner.workspace("out")
    runner.ok("git-clone", {"url": app.url, "userHome": str(home)}, output=out)
    assert "[safe]" in (home / ".gitconfig").read_text()
    script = "git push origin no-such-branch\necho not reached"
    outcome = runner.run("git-cli", {"GIT_SCRIPT": script, "USER_HOME": str(home)}, source=out)
    assert outcome.exit_code != 0
    assert "not reached" not in outcome.output.replace("echo not reached", "")
    params = {"USER_HOME": str(home), "GIT_USER_NAME": "Someone", "GIT_SCRIPT": "git status"}
    runner.ok("git-cli", params, source=out)
    assert "Someone" in (home / ".gitconfig").read_text()
    assert not (runner.home / ".gitconfig").exists()


# -- kaniko -------------------------------------------------------------------------------------------


def kaniko(runner: Runner, source: Path, records: Path, **params: ParamValue) -> TaskOutcome:
    defaults = {"IMAGE": "registry.local/app:1", "BUILD_RECORD_DIR": str(records), "BUILDER": "record"}
    return runner.run("kaniko", {**defaults, **params}, source=source)


def test_kaniko_record_digest_is_content_addressed(app: Repo, runner: Runner, tmp_path: Path) -> None:
    app.commit(
        {
            "Dockerfile": "FROM scratch\nCOPY app.py /\n",
            "app.py": "print('v1')\n",
            ".dockerignore": "*.log\n!keep.log\n",
        },
        "app",
    )
    records = tmp_path / "records"
    first_ws, second_ws = runner.workspace("one"), runner.workspace("two")
    runner.ok("git-clone", {"url": app.url}, output=first_ws)
    runner.ok("git-clone", {"url": app.url, "depth": "0"}, output=second_ws)

    one = kaniko(runner, first_ws, records, EXTRA_ARGS=("--cache=true",))
    assert one.exit_code == 0, one.output
    digest = one.results["IMAGE_DIGEST"]
    assert digest.startswith("sha256:") and len(digest) == 71
    assert one.results["IMAGE_URL"] == "registry.local/app:1"
    assert "ignoring flag --cache=true" in one.output
    record = json.loads((records / f"{digest.replace(':', '-')}.json").read_text())
    assert record["digest"] == digest and record["builder"] == "record"
    assert record["imageWithDigest"] == f"registry.local/app@{digest}"
    assert [f[0] for f in record["inputs"]["files"]] == [".dockerignore", "Dockerfile", "app.py"]

    same = kaniko(runner, second_ws, records, IMAGE="registry.local/app:2")
    assert same.results["IMAGE_DIGEST"] == digest, "same context, other clone and tag: same digest"
    (second_ws / "build.log").write_text("ignored by .dockerignore")
    assert kaniko(runner, second_ws, records).results["IMAGE_DIGEST"] == digest

    changed: list[str] = []
    (second_ws / "keep.log").write_text("re-included")
    changed.append(kaniko(runner, second_ws, records).results["IMAGE_DIGEST"])
    (second_ws / "app.py").write_text("print('v2')\n")
    changed.append(kaniko(runner, second_ws, records).results["IMAGE_DIGEST"])
    changed.append(
        kaniko(
            runner,
            second_ws,
            records,
            EXTRA_ARGS=(
                "--build-arg",
                "MODE=prod",
            ),
        ).results["IMAGE_DIGEST"]
    )
    assert len({digest, *changed}) == 4, "every change of the inputs changes the digest"


def test_kaniko_paths_flags_and_failures(app: Repo, runner: Runner, tmp_path: Path) -> None:
    app.commit({"svc/Containerfile": "FROM scratch\n", "svc/main.go": "package main\n"}, "svc")
    ws = runner.workspace("src")
    runner.ok("git-clone", {"url": app.url}, output=ws)
    records = tmp_path / "records"
    digest_file = tmp_path / "extra" / "digest"
    ok = kaniko(
        runner,
        ws,
        records,
        CONTEXT="svc",
        DOCKERFILE="Containerfile",
        EXTRA_ARGS=(
            "--digest-file",
            str(digest_file),
            f"--image-name-with-digest-file={tmp_path / 'name'}",
        ),
    )
    assert ok.exit_code == 0, ok.output
    assert digest_file.read_text() == ok.results["IMAGE_DIGEST"]
    assert (tmp_path / "name").read_text() == f"registry.local/app@{ok.results['IMAGE_DIGEST']}"
    record = json.loads((records / f"{ok.results['IMAGE_DIGEST'].replace(':', '-')}.json").read_text())
    assert [f[0] for f in record["inputs"]["files"]] == ["Containerfile", "main.go"]

    failures: list[tuple[dict[str, ParamValue], str]] = [
        ({"CONTEXT": "missing"}, "is not a directory"),
        ({"DOCKERFILE": "Nope"}, "no Dockerfile at 'Nope'"),
        ({"IMAGE": ""}, "param IMAGE is empty"),
        ({"EXTRA_ARGS": ("--target",)}, "flag --target needs a value"),
        ({"EXTRA_ARGS": ("positional",)}, "unexpected argument 'positional'"),
    ]
    if shutil.which("podman") is None:
        failures.append(({"BUILDER": "podman"}, "BUILDER is podman but podman is not installed"))
        auto = runner.ok(
            "kaniko", {"IMAGE": "app:dev", "CONTEXT": "svc", "DOCKERFILE": "Containerfile"}, source=ws
        )
        record = Path(
            runner.env["XDG_CACHE_HOME"], "gitloop", "builds", auto["IMAGE_DIGEST"].replace(":", "-")
        )
        assert json.loads(record.with_suffix(".json").read_text())["builder"] == "record"
    for params, message in failures:
        outcome = kaniko(runner, ws, records, **params)
        assert outcome.exit_code != 0, params
        assert message in outcome.output, outcome.output


FAKE_PODMAN = """#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE_PODMAN_LOG"
while [ $# -gt 0 ]; do
  case "$1" in
    --iidfile) printf 'sha256:%064d' 1 > "$2" ; shift ;;
    --digestfile) printf 'sha256:%064d' 2 > "$2" ; shift ;;
  esac
  shift
done
"""


def test_kaniko_podman_commands(app: Repo, runner: Runner, tmp_path: Path) -> None:
    """With podman on PATH (a stand-in that logs its commands here), kaniko builds, tags and pushes."""
    app.commit({"Dockerfile": "FROM scratch\n"}, "app")
    ws, config = runner.workspace("src"), runner.workspace("dockerconfig")
    (config / "config.json").write_text("{}")
    runner.ok("git-clone", {"url": app.url}, output=ws)
    bin_dir, log = tmp_path / "bin", tmp_path / "podman.log"
    bin_dir.mkdir()
    (bin_dir / "podman").write_text(FAKE_PODMAN)
    (bin_dir / "podman").chmod(0o755)
    runner.env.update(PATH=f"{bin_dir}:{runner.env['PATH']}", FAKE_PODMAN_LOG=str(log))
    args = [
        "--build-arg=MODE=prod",
        "--destination",
        "registry.local/app:latest",
        "--insecure",
        "--cache=true",
    ]
    params: dict[str, ParamValue] = {
        "IMAGE": "registry.local/app:1",
        "EXTRA_ARGS": tuple(args),
        "BUILD_RECORD_DIR": str(tmp_path / "records"),
    }
    results = runner.ok("kaniko", params, source=ws, dockerconfig=config)
    assert results["IMAGE_DIGEST"] == "sha256:" + "0" * 63 + "2", "the digest of the push"
    build, push, push_latest = log.read_text().splitlines()
    assert build.startswith(f"build --file {ws}/Dockerfile --iidfile ")
    assert build.endswith(
        "--tag registry.local/app:1 --tag registry.local/app:latest --build-arg MODE=prod " + str(ws)
    )
    authfile = f"--tls-verify=false --authfile {config}/config.json"
    assert push.startswith("push --digestfile ") and push.endswith(f"{authfile} registry.local/app:1")
    assert push_latest.endswith(f"{authfile} registry.local/app:latest")

    log.unlink()
    params["EXTRA_ARGS"] = ("--no-push",)
    results = runner.ok("kaniko", params, source=ws)
    assert results["IMAGE_DIGEST"] == "sha256:" + "0" * 63 + "1", "the image id when nothing is pushed"
    assert [line.split()[0] for line in log.read_text().splitlines()] == ["build"]


# -- the git resolver and the seed's CI chain ---------------------------------------------------------


def test_git_resolver_reads_tasks_from_the_git_server(app: Repo, tmp_path: Path) -> None:
    task = "apiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: hello\nspec:\n  steps:\n    - image: x\n      script: echo {}\n"
    first = app.commit({"tasks/hello.yaml": task.format("one")}, "one")
    app.commit({"tasks/hello.yaml": task.format("two")}, "two")
    resolver = Resolver(git=MirrorFiles.cached(tmp_path / "mirrors"))

    def ref(revision: str, path: str = "tasks/hello.yaml") -> TaskRef:
        params = [Param("url", app.url), Param("pathInRepo", path)]
        return TaskRef(resolver="git", params=(*params, *([Param("revision", revision)] if revision else [])))

    assert resolver.task(ref("")).spec.steps[0].script == "echo two"
    assert resolver.task(ref(first)).spec.steps[0].script == "echo one"
    assert resolver.task(ref(first[:8])).spec.steps[0].script == "echo one"
    for bad, message in [
        (ref("main", "tasks/none.yaml"), "not a file"),
        (ref("nope"), "not found"),
        (ref("main", "../x"), "does not name a file"),
    ]:
        with pytest.raises(SpecError, match=message):
            resolver.task(bad)


def test_seed_ci_chain(
    git_server: GitServer, git_env: dict[str, str], runner: Runner, tmp_path: Path
) -> None:
    """clone source -> version -> build -> clone config -> update image -> commit and push."""
    source = Repo(git_server, "seed-app", tmp_path / "app", git_env)
    sha = source.commit({"Dockerfile": "FROM scratch\nCOPY . /app\n", "main.py": "print(1)\n"}, "app")
    config = Repo(git_server, "seed-config", tmp_path / "config", git_env)
    before = config.commit({"k8s/deployment.yaml": "spec:\n  image: registry.local/app:old\n"}, "config")
    source_ws, config_ws = runner.workspace("source-code"), runner.workspace("gitops-repo")
    resolver = Resolver()

    clone = resolver.task(TaskRef(resolver="hub", params=(Param("name", "git-clone"),)))
    assert clone is builtin_tasks()["git-clone"]
    commit = runner.ok("git-clone", {"url": source.url, "revision": "main"}, output=source_ws)["commit"]
    assert commit == sha
    image = f"registry.local/app:{commit[:7]}"
    built = kaniko(runner, source_ws, tmp_path / "records", IMAGE=image, EXTRA_ARGS=("--cache=true",))
    assert built.exit_code == 0 and built.results["IMAGE_URL"] == image
    runner.ok("git-clone", {"url": config.url, "revision": "main"}, output=config_ws)
    script = (
        f"sed -i 's|image: .*|image: {image}|' k8s/deployment.yaml\n"
        "git add k8s/deployment.yaml\n"
        f'git commit -m "Update image to {image}"\n'
        "git push origin main\n"
    )
    params = {
        "GIT_USER_NAME": "Tekton Pipeline",
        "GIT_USER_EMAIL": "tekton@example.com",
        "GIT_SCRIPT": script,
    }
    pushed = runner.ok("git-cli", params, source=config_ws)["commit"]
    assert config.head() == pushed != before
    git(git_env, "pull", "-q", "origin", "main", cwd=config.work)
    assert (config.work / "k8s" / "deployment.yaml").read_text() == f"spec:\n  image: {image}\n"
    assert git(git_env, "rev-list", "--count", f"{before}..{pushed}", cwd=config.work) == "1"
