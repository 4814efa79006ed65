"""Task and Pipeline resolution as tables: ref -> Task (where it came from) or the error it raises,
and the built-in catalog's contracts (params, results, workspaces) checked against its YAML and docs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from gitloop.errors import GitError, SpecError, UsageError
from gitloop.pipeline.resolution import (
    RefSite,
    Resolver,
    builtin_task_names,
    builtin_tasks,
    resolve_pipeline_ref,
    resolve_task_ref,
    substitute_ref,
)
from gitloop.spec.tekton import Param, Pipeline, PipelineRef, Task, TaskRef, load, parse_text

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "src" / "gitloop" / "pipeline" / "catalog"


def task_yaml(name: str, marker: str = "", kind: str = "Task", version: str = "") -> str:
    labels = f"\n  labels:\n    app.kubernetes.io/version: {version!r}" if version else ""
    if kind == "Pipeline":
        return (
            f"apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata:\n  name: {name}{labels}\n"
            f"  annotations:\n    marker: {marker!r}\nspec:\n  tasks:\n"
            "    - name: only\n      taskSpec:\n        steps:\n          - image: alpine\n"
            "            script: echo hi\n"
        )
    return (
        f"apiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: {name}{labels}\n"
        f"  annotations:\n    marker: {marker!r}\nspec:\n  steps:\n    - image: alpine\n"
        "      script: echo hi\n"
    )


def one_task(text: str) -> Task:
    (obj,) = parse_text(text)
    assert isinstance(obj, Task)
    return obj


def marker(obj: Task | Pipeline) -> str:
    return obj.meta.annotations.get("marker", "builtin" if obj is builtin_tasks().get(obj.name) else "")


class FakeGit:
    """``GitFiles`` over a dict of (url, revision, path) -> text; counts reads."""

    def __init__(self, files: Mapping[tuple[str, str, str], str]) -> None:
        self.files = dict(files)
        self.reads: list[tuple[str, str, str]] = []

    def read_file(self, url: str, revision: str, path: str) -> str:
        self.reads.append((url, revision, path))
        try:
            return self.files[(url, revision, path)]
        except KeyError:
            raise GitError(f"revision {revision!r} or path {path!r} not found in {url}") from None


REPO = "http://git.example/tasks.git"
GIT = FakeGit(
    {
        (REPO, "main", "task/build.yaml"): task_yaml("build", "git-main"),
        (REPO, "v1", "task/build.yaml"): task_yaml("build", "git-v1"),
        (REPO, "main", "pipeline.yaml"): task_yaml("ci", "git-pipeline", kind="Pipeline"),
        (REPO, "main", "broken.yaml"): "kind: [",
        (REPO, "main", "two.yaml"): task_yaml("a") + "---\n" + task_yaml("b"),
    }
)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A --catalog directory: top-level files and the Tekton catalog layout, several versions."""
    root = tmp_path_factory.mktemp("catalog")
    (root / "local.yaml").write_text(
        task_yaml("local-task", "catalog-file") + "---\n" + task_yaml("kaniko", "cf")
    )
    (root / "notes.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ignored\n")
    for version in ("0.2", "0.9", "0.10"):
        folder = root / "task" / "lint" / version
        folder.mkdir(parents=True)
        (folder / "lint.yaml").write_text(task_yaml("lint", f"lint-{version}", version=version))
    folder = root / "task" / "git-clone" / "0.9"
    folder.mkdir(parents=True)
    (folder / "git-clone.yaml").write_text(task_yaml("git-clone", "catalog-git-clone-0.9"))
    folder = root / "pipeline" / "release" / "0.1"
    folder.mkdir(parents=True)
    (folder / "release.yaml").write_text(task_yaml("release", "catalog-release", kind="Pipeline"))
    return root


GIVEN = {"build": one_task(task_yaml("build", "file")), "git-cli": one_task(task_yaml("git-cli", "file-cli"))}


def hub(*params: tuple[str, str]) -> TaskRef:
    return TaskRef(resolver="hub", params=tuple(Param(n, v) for n, v in params))


def git(*params: tuple[str, str]) -> TaskRef:
    return TaskRef(resolver="git", params=tuple(Param(n, v) for n, v in params))


FOUND: list[tuple[str, TaskRef, str, str]] = [
    ("name from the files", TaskRef(name="build"), "build", "file"),
    ("files win over the built-ins", TaskRef(name="git-cli"), "git-cli", "file-cli"),
    ("name from a catalog file", TaskRef(name="local-task"), "local-task", "catalog-file"),
    ("catalog file wins over a built-in", TaskRef(name="kaniko"), "kaniko", "cf"),
    ("catalog layout: highest version", TaskRef(name="lint"), "lint", "lint-0.10"),
    ("catalog layout wins over a built-in", TaskRef(name="git-clone"), "git-clone", "catalog-git-clone-0.9"),
    ("built-in by name", TaskRef(name="git-cli", kind="Task"), "git-cli", "file-cli"),
    ("hub: built-in git-cli", hub(("name", "git-cli")), "git-cli", "builtin"),
    ("hub: built-in kaniko over nothing", hub(("name", "kaniko"), ("version", "0.7")), "kaniko", "builtin"),
    ("hub: catalog version", hub(("name", "lint"), ("version", "0.9")), "lint", "lint-0.9"),
    ("hub: catalog highest", hub(("name", "lint"), ("kind", "task")), "lint", "lint-0.10"),
    (
        "hub: every param",
        hub(
            ("name", "lint"),
            ("kind", "task"),
            ("version", "0.2"),
            ("catalog", "tekton"),
            ("type", "artifact"),
        ),
        "lint",
        "lint-0.2",
    ),
    (
        "git: revision",
        git(("url", REPO), ("revision", "v1"), ("pathInRepo", "task/build.yaml")),
        "build",
        "git-v1",
    ),
    (
        "git: default revision main",
        git(("url", REPO), ("pathInRepo", "/task/build.yaml")),
        "build",
        "git-main",
    ),
]


@pytest.mark.parametrize(("case", "ref", "name", "origin"), FOUND, ids=[c[0] for c in FOUND])
def test_resolves(case: str, ref: TaskRef, name: str, origin: str, catalog: Path) -> None:
    task = resolve_task_ref(ref, tasks=GIVEN, catalog_dirs=[catalog], git=GIT)
    assert (task.name, marker(task)) == (name, origin)


@pytest.mark.parametrize("name", ["git-clone", "git-cli", "kaniko"])
def test_builtins_without_catalogs(name: str) -> None:
    by_name = resolve_task_ref(TaskRef(name=name), tasks={})
    by_hub = resolve_task_ref(hub(("name", name), ("version", "0.1")), tasks={})
    assert by_name is by_hub is builtin_tasks()[name]


BUILTINS = "git-cli, git-clone, gitloop-image-update, kaniko"
FAILS: list[tuple[str, TaskRef, str, str]] = [
    ("unknown name", TaskRef(name="nope"), ".name", "Task 'nope' not found in the files given, catalog "),
    ("unknown name lists built-ins", TaskRef(name="nope"), ".name", f"the built-in catalog ({BUILTINS})"),
    ("hub unknown", hub(("name", "buildah")), ".params", f"not in gitloop's built-in catalog ({BUILTINS})"),
    ("hub no name", hub(("kind", "task")), ".params", "the hub resolver needs param 'name'"),
    ("hub kind pipeline", hub(("name", "x"), ("kind", "pipeline")), ".params", "a Task is expected here"),
    ("hub bad kind", hub(("name", "x"), ("kind", "stepaction")), ".params", "must be task or pipeline"),
    ("hub unknown param", hub(("name", "x"), ("tag", "1")), ".params[1]", "unknown hub resolver param 'tag'"),
    ("hub missing version", hub(("name", "lint"), ("version", "9.9")), ".params", "versions 0.2, 0.9, 0.10"),
    (
        "hub array param",
        TaskRef(resolver="hub", params=(Param("name", ("a", "b")),)),
        ".params[0].value",
        "must be a string",
    ),
    (
        "unsubstituted",
        hub(("name", "$(params.task)")),
        ".params[0].value",
        "substitute the pipeline's params before resolving",
    ),
    ("git no path", git(("url", REPO)), ".params", "needs param 'pathInRepo'"),
    ("git no url", git(("revision", "main")), ".params", "needs param 'url' and 'pathInRepo'"),
    (
        "git scm mode",
        git(("repo", "tasks"), ("org", "acme"), ("pathInRepo", "x.yaml")),
        ".params",
        "params repo, org select the SCM API mode",
    ),
    (
        "git unknown param",
        git(("url", REPO), ("path", "x")),
        ".params[1]",
        "expected url, revision, pathInRepo",
    ),
    ("git missing file", git(("url", REPO), ("pathInRepo", "none.yaml")), ".params", "cannot read none.yaml"),
    (
        "git holds a Pipeline",
        git(("url", REPO), ("pathInRepo", "pipeline.yaml")),
        ".params",
        "must hold exactly one Task; it holds Pipeline/ci",
    ),
    ("git two tasks", git(("url", REPO), ("pathInRepo", "two.yaml")), ".params", "it holds Task/a, Task/b"),
    ("git invalid YAML", git(("url", REPO), ("pathInRepo", "broken.yaml")), ".params", "is not a valid Task"),
    (
        "bundles",
        TaskRef(resolver="bundles", params=(Param("bundle", "r/x:1"),)),
        ".resolver",
        "resolver 'bundles' is not supported locally",
    ),
    (
        "cluster",
        TaskRef(resolver="cluster", params=(Param("name", "x"),)),
        ".resolver",
        "not supported locally",
    ),
    (
        "http",
        TaskRef(resolver="http", params=(Param("url", "x"),)),
        ".resolver",
        "downloads from the network",
    ),
    (
        "unknown resolver",
        TaskRef(resolver="s3", params=(Param("x", "y"),)),
        ".resolver",
        "unknown resolver 's3'",
    ),
    (
        "custom task",
        TaskRef(name="wait", kind="Wait", api_version="custom.tekton.dev/v1"),
        ".apiVersion",
        "custom tasks (custom.tekton.dev/v1 Wait) are not supported",
    ),
]


@pytest.mark.parametrize(("case", "ref", "field", "message"), FAILS, ids=[c[0] for c in FAILS])
def test_fails(case: str, ref: TaskRef, field: str, message: str, catalog: Path) -> None:
    site = RefSite("ci.yaml:3", "Pipeline/ci", "spec.tasks[2].taskRef")
    with pytest.raises(SpecError) as info:
        resolve_task_ref(ref, tasks=GIVEN, catalog_dirs=[catalog], git=GIT, site=site)
    assert (info.value.file, info.value.obj, info.value.field) == (
        "ci.yaml:3",
        "Pipeline/ci",
        f"spec.tasks[2].taskRef{field}",
    )
    assert message in str(info.value)
    assert str(info.value).startswith(f"ci.yaml:3: Pipeline/ci: spec.tasks[2].taskRef{field}: ")


def test_git_without_adapter() -> None:
    with pytest.raises(SpecError, match="resolver 'git' is not available here"):
        resolve_task_ref(git(("url", REPO), ("pathInRepo", "task/build.yaml")), tasks={})


def test_git_reads_each_file_once() -> None:
    fake = FakeGit(GIT.files)
    resolver = Resolver(git=fake)
    ref = git(("url", REPO), ("pathInRepo", "task/build.yaml"))
    assert resolver.task(ref) == resolver.task(ref)
    assert fake.reads == [(REPO, "main", "task/build.yaml")]


def test_substitute_ref() -> None:
    ref = git(("url", "$(params.repo)"), ("revision", "$(params.rev)"), ("pathInRepo", "task/build.yaml"))
    bound = substitute_ref(ref, {"params.repo": REPO, "params.rev": "v1"})
    assert [p.value for p in bound.params] == [REPO, "v1", "task/build.yaml"]
    assert marker(resolve_task_ref(bound, tasks={}, git=GIT)) == "git-v1"


def test_catalog_must_be_a_directory(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a directory"):
        Resolver(catalog_dirs=[tmp_path / "missing"])


def test_catalog_duplicate_names(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(task_yaml("dup"))
    (tmp_path / "b.yaml").write_text(task_yaml("dup"))
    with pytest.raises(
        SpecError, match=r"Task 'dup' is defined twice in catalog .*a\.yaml:1 and .*b\.yaml:1"
    ):
        resolve_task_ref(TaskRef(name="dup"), tasks={}, catalog_dirs=[tmp_path])


def test_catalog_layout_file_must_hold_the_task(tmp_path: Path) -> None:
    folder = tmp_path / "odd" / "0.1"
    folder.mkdir(parents=True)
    (folder / "odd.yaml").write_text(task_yaml("other"))
    with pytest.raises(SpecError, match=r"odd\.yaml must hold one Task named 'odd', found 0"):
        resolve_task_ref(TaskRef(name="odd"), tasks={}, catalog_dirs=[tmp_path])


# -- pipelines ----------------------------------------------------------------------------------------


def test_pipeline_refs(catalog: Path) -> None:
    (given,) = parse_text(task_yaml("ci", "file-pipeline", kind="Pipeline"))
    assert isinstance(given, Pipeline)
    pipelines = {"ci": given}
    cases = [
        (PipelineRef(name="ci"), "file-pipeline"),
        (PipelineRef(name="release"), "catalog-release"),
        (
            PipelineRef(resolver="git", params=(Param("url", REPO), Param("pathInRepo", "pipeline.yaml"))),
            "git-pipeline",
        ),
        (
            PipelineRef(resolver="hub", params=(Param("name", "release"), Param("kind", "pipeline"))),
            "catalog-release",
        ),
    ]
    for ref, origin in cases:
        found = resolve_pipeline_ref(ref, pipelines=pipelines, catalog_dirs=[catalog], git=GIT)
        assert marker(found) == origin
    with pytest.raises(
        SpecError,
        match=r"spec\.pipelineRef\.params: hub Pipeline 'git-clone' not found: gitloop has no built-in",
    ):
        resolve_pipeline_ref(
            PipelineRef(resolver="hub", params=(Param("name", "git-clone"), Param("kind", "pipeline"))),
            pipelines={},
        )
    with pytest.raises(
        SpecError, match=r"spec\.pipelineRef\.name: Pipeline 'kaniko' not found in the files given$"
    ):
        resolve_pipeline_ref(PipelineRef(name="kaniko"), pipelines={})
    with pytest.raises(SpecError, match="a Pipeline is expected here"):
        resolve_pipeline_ref(PipelineRef(resolver="hub", params=(Param("name", "x"),)), pipelines={})


SEED_PIPELINE = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: gitops-ci-pipeline
spec:
  params:
    - name: git-url
    - name: image-name
  workspaces:
    - name: source-code
    - name: gitops-repo
  tasks:
    - name: clone-source
      taskRef:
        resolver: hub
        params:
          - name: name
            value: git-clone
      workspaces:
        - name: output
          workspace: source-code
      params:
        - name: url
          value: $(params.git-url)
    - name: build-push
      runAfter: [clone-source]
      taskRef:
        resolver: hub
        params:
          - name: name
            value: kaniko
      workspaces:
        - name: source
          workspace: source-code
      params:
        - name: IMAGE
          value: $(params.image-name):latest
        - name: EXTRA_ARGS
          value: [--cache=true]
    - name: commit-push
      runAfter: [build-push]
      taskRef:
        name: git-cli
      workspaces:
        - name: source
          workspace: gitops-repo
    - name: update-manifest
      runAfter: [build-push]
      taskRef:
        name: yq-update
      workspaces:
        - name: source
          workspace: gitops-repo
"""


def test_pipeline_tasks_of_the_seed_pipeline(tmp_path: Path) -> None:
    (tmp_path / "ci.yaml").write_text(SEED_PIPELINE)
    (pipeline,) = load(tmp_path / "ci.yaml")
    assert isinstance(pipeline, Pipeline)
    with pytest.raises(SpecError) as info:
        Resolver().pipeline_tasks(pipeline)
    assert str(info.value).startswith(
        f"{tmp_path / 'ci.yaml'}:1: Pipeline/gitops-ci-pipeline: spec.tasks[3].taskRef.name: Task 'yq-update' not found"
    )
    yq = one_task(task_yaml("yq-update", "file-yq"))
    found = Resolver(tasks={"yq-update": yq}).pipeline_tasks(pipeline)
    assert {name: marker(task) for name, task in found.items()} == {
        "clone-source": "builtin",
        "build-push": "builtin",
        "commit-push": "builtin",
        "update-manifest": "file-yq",
    }


# -- the built-in catalog -----------------------------------------------------------------------------

CONTRACTS: dict[str, tuple[list[str], list[str], list[tuple[str, bool]]]] = {
    "git-clone": (
        [
            "url",
            "revision",
            "refspec",
            "submodules",
            "depth",
            "sslVerify",
            "crtFileName",
            "subdirectory",
            "sparseCheckoutDirectories",
            "deleteExisting",
            "httpProxy",
            "httpsProxy",
            "noProxy",
            "verbose",
            "gitInitImage",
            "userHome",
        ],
        ["commit", "url", "committer-date"],
        [("output", False), ("ssh-directory", True), ("basic-auth", True), ("ssl-ca-directory", True)],
    ),
    "git-cli": (
        ["BASE_IMAGE", "GIT_USER_NAME", "GIT_USER_EMAIL", "GIT_SCRIPT", "USER_HOME", "VERBOSE"],
        ["commit"],
        [("source", False), ("input", True), ("ssh-directory", True), ("basic-auth", True)],
    ),
    "kaniko": (
        [
            "IMAGE",
            "DOCKERFILE",
            "CONTEXT",
            "EXTRA_ARGS",
            "BUILDER_IMAGE",
            "WRITER_IMAGE",
            "BUILDER",
            "BUILD_RECORD_DIR",
        ],
        ["IMAGE_DIGEST", "IMAGE_URL"],
        [("source", False), ("dockerconfig", True)],
    ),
    "gitloop-image-update": (
        [
            "file",
            "image",
            "path",
            "url",
            "subdirectory",
            "branch",
            "message",
            "source-commit",
            "pipelinerun",
            "author",
            "BASE_IMAGE",
        ],
        ["commit"],
        [("source", True), ("ssh-directory", True), ("basic-auth", True)],
    ),
}
REQUIRED = {"kaniko": ["IMAGE"], "git-clone": ["url"], "gitloop-image-update": ["file", "image"]}


def test_builtin_names() -> None:
    assert builtin_task_names() == tuple(sorted(CONTRACTS))
    assert sorted(p.stem for p in CATALOG.glob("*.yaml")) == sorted(CONTRACTS)


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_builtin_contract(name: str) -> None:
    params, results, workspaces = CONTRACTS[name]
    (task,) = load(CATALOG / f"{name}.yaml")
    assert isinstance(task, Task)
    assert task == builtin_tasks()[name]
    assert [p.name for p in task.spec.params] == params
    assert [r.name for r in task.spec.results] == results
    assert [(w.name, w.optional) for w in task.spec.workspaces] == workspaces
    required = [p.name for p in task.spec.params if p.default is None]
    assert required == REQUIRED.get(name, [])
    for step in task.spec.steps:
        assert step.image.startswith("$(params."), "every step image is a param, as in the catalog"
        assert step.script.startswith("#!/usr/bin/env "), "scripts carry their interpreter"


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_builtin_documented(name: str) -> None:
    docs = (ROOT / "docs" / "catalog.md").read_text()
    section = docs.split(f"## {name}\n", 1)[1].split("\n## ", 1)[0]
    params, results, workspaces = CONTRACTS[name]
    for item in [*params, *results, *(w for w, _ in workspaces)]:
        assert f"`{item}`" in section, f"docs/catalog.md does not document {name} {item}"
