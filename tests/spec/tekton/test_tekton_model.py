"""What the parsed dataclasses hold: defaults, inferred types, bindings, merges and v1beta1 aliases."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitloop.errors import SpecError
from gitloop.spec.tekton import (
    ConfigMap,
    KeyRef,
    Param,
    ParamSpec,
    Pipeline,
    PipelineRun,
    Secret,
    Task,
    TaskRun,
    TektonObject,
    bind_params,
    load,
    parse_text,
)
from gitloop.spec.yaml.documents import load_text

TESTDATA = Path(__file__).parent / "testdata"


def _one(name: str) -> TektonObject:
    [obj] = load(TESTDATA / name)
    return obj


def test_seed_pipeline_shape() -> None:
    pipeline = _one("pipeline-gitops-ci.yaml")
    assert isinstance(pipeline, Pipeline)
    spec = pipeline.spec
    assert [t.name for t in spec.tasks] == [
        "clone-source",
        "get-version",
        "test",
        "build-push",
        "clone-gitops",
        "update-manifest",
        "commit-push",
    ]
    assert [(p.name, p.type, p.default) for p in spec.params] == [
        ("git-url", "string", None),
        ("git-revision", "string", "main"),
        ("image-name", "string", None),
        ("gitops-repo-url", "string", None),
        ("gitops-branch", "string", "main"),
        ("deployment-file", "string", "k8s/deployment.yaml"),
    ]
    clone = spec.tasks[0]
    assert clone.task_ref is not None
    assert (clone.task_ref.resolver, clone.task_ref.params) == ("hub", (Param("name", "git-clone"),))
    assert [(w.name, w.pipeline_workspace) for w in clone.workspaces] == [
        ("output", "source-code"),
        ("ssh-directory", "git-credentials"),
    ]
    build = spec.tasks[3]
    assert build.run_after == ("test", "get-version")
    assert build.params[1] == Param("EXTRA_ARGS", ("--cache=true",))
    assert build.params[1].type == "array"
    assert build.result_dependencies() == {"get-version"}
    assert spec.tasks[5].dependencies() == {"clone-gitops", "get-version"}
    script = spec.tasks[6].params[1].value
    assert isinstance(script, str) and script.startswith("git add $(params.deployment-file)\n")


def test_full_task_fields() -> None:
    task = _one("task-full.yaml")
    assert isinstance(task, Task)
    spec = task.spec
    assert task.meta.labels == {"app.kubernetes.io/part-of": "gitloop"}
    by_name = {p.name: p for p in spec.params}
    assert by_name["image"] == ParamSpec("image")
    assert by_name["flags"].type == "array" and by_name["flags"].default == ("--verbose",)
    assert by_name["repo"].type == "object"
    assert by_name["repo"].properties == {"url": "string", "commit": "string"}
    assert by_name["repo"].default == {"url": "https://example.com/app.git"}
    assert by_name["level"].enum == ("debug", "info") and by_name["level"].type == "string"
    assert [(r.name, r.type) for r in spec.results] == [
        ("digest", "string"),
        ("tags", "array"),
        ("report", "object"),
    ]
    assert [(w.name, w.path, w.optional, w.read_only) for w in spec.workspaces] == [
        ("source", "/src", False, False),
        ("cache", "/workspace/cache", True, True),
    ]
    build, report = spec.steps
    assert build.timeout == 5400.0 and build.on_error == "continue"
    assert build.stdout_path == "$(results.digest.path)"
    assert build.env[0].secret_key_ref == KeyRef("registry", "token")
    assert build.env[1].config_map_key_ref == KeyRef("settings", "mirror", optional=True)
    assert build.env_from[0].config_map == "settings" and build.env_from[0].prefix == "CFG_"
    assert report.image == "" and report.results[0].name == "summary"
    assert report.when[0].operator == "in" and report.when[0].values == ("debug",)
    merged = spec.merged_steps()
    assert merged[1].image == "alpine:3.20"
    assert [e.name for e in merged[0].env] == ["LEVEL", "TOKEN", "MIRROR"]
    assert spec.sidecars[0].extra == {"readinessProbe": {"httpGet": {"path": "/", "port": 5000}}}
    assert spec.volumes == ({"name": "scratch", "emptyDir": {}},)


def test_pipeline_run_bindings_and_timeouts() -> None:
    run = _one("pipelinerun-gitops-ci.yaml")
    assert isinstance(run, PipelineRun)
    assert run.meta.generate_name == "gitops-ci-run-" and run.pending
    assert run.pipeline_ref is not None and run.pipeline_ref.name == "gitops-ci-pipeline"
    kinds = {w.name: w.kind for w in run.workspaces}
    assert kinds == {
        "source-code": "volumeClaimTemplate",
        "gitops-repo": "persistentVolumeClaim",
        "docker-credentials": "secret",
        "git-credentials": "secret",
    }
    gitops = run.workspaces[1]
    assert gitops.claim_name == "gitops-cache" and gitops.sub_path == "run-$(context.pipelineRun.uid)"
    assert run.workspaces[3].items == [{"key": "id_rsa", "path": "id_rsa", "mode": 0o600}]
    assert (run.timeouts.pipeline, run.timeouts.tasks, run.timeouts.finally_tasks) == (3600.0, 3000.0, 600.0)
    assert run.task_run_template.service_account_name == "gitops-pipeline-sa"
    assert (
        run.task_run_specs[0].pipeline_task_name == "build-push" and run.task_run_specs[0].timeout == 1800.0
    )


def test_embedded_pipeline_run() -> None:
    run = _one("pipelinerun-embedded.yaml")
    assert isinstance(run, PipelineRun) and run.pipeline_spec is not None
    spec = run.pipeline_spec
    test = spec.tasks[1]
    assert test.matrix is not None and test.matrix.params[0].value == ("$(params.browsers[*])",)
    assert test.when[1].cel == "'$(tasks.checkout.results.commit)' != ''"
    assert test.dependencies() == {"checkout"}
    deploy = spec.tasks[2]
    assert (deploy.retries, deploy.timeout) == (2, 0.0)
    assert spec.finally_tasks[0].on_error == "continue"
    assert spec.results[0].value == "$(tasks.checkout.results.commit)"


def test_task_run_and_core_kinds() -> None:
    run = _one("taskrun-embedded.yaml")
    assert isinstance(run, TaskRun)
    assert (run.retries, run.timeout) == (1, 3600.0)
    assert run.task_spec is not None and run.task_spec.steps[0].script == "echo hello $(params.who)"
    config, secret = load(TESTDATA / "configmap-and-secret.yaml")
    assert isinstance(config, ConfigMap) and config.data == {"mirror": "https://mirror.example.com"}
    assert config.meta.namespace == "ci"
    assert isinstance(secret, Secret) and secret.type == "kubernetes.io/basic-auth"
    assert secret.data == {"username": b"gitloop", "token": b"s3cret"}
    assert secret.text("token") == "s3cret"


def test_v1beta1_aliases() -> None:
    task, run = load(TESTDATA / "v1beta1-task-and-run.yaml")
    assert isinstance(task, Task) and task.spec.steps[0].compute_resources == {"limits": {"memory": "1Gi"}}
    assert isinstance(run, PipelineRun)
    assert run.task_run_template.service_account_name == "builder"
    assert run.timeouts.pipeline == 7200.0


def test_directory_is_read_like_kubectl(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text((TESTDATA / "task-yq-update.yaml").read_text())
    (tmp_path / "a.yml").write_text((TESTDATA / "configmap-and-secret.yaml").read_text())
    (tmp_path / "notes.txt").write_text("not yaml")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "c.yaml").write_text("kind: Nope")
    assert [o.meta.name for o in load(tmp_path)] == ["settings", "registry", "yq-update"]


def test_list_kind_expands_with_item_lines() -> None:
    text = """\
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: one}
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: two}
"""
    assert [(d.index, d.line) for d in load_text(text)] == [(0, 4), (1, 7)]
    assert [o.meta.name for o in parse_text(text)] == ["one", "two"]


@pytest.mark.parametrize(
    ("yaml_value", "expected"),
    [
        ("'true'", "true"),
        ("true", "true"),
        ("3", "3"),
        ("1.0", "1"),
        ("2020-01-02", "2020-01-02"),
        ("[a, 1, true]", ("a", "1", "true")),
        ("{k: v, n: 2}", {"k": "v", "n": "2"}),
    ],
)
def test_param_value_type_comes_from_yaml_shape(yaml_value: str, expected: object) -> None:
    text = f"""\
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {{name: r}}
spec:
  taskRef: {{name: t}}
  params:
    - name: p
      value: {yaml_value}
"""
    [run] = parse_text(text)
    assert isinstance(run, TaskRun)
    assert run.params[0].value == expected


SPECS = (
    ParamSpec("url"),
    ParamSpec("revision", default="main"),
    ParamSpec("flags", "array", default=()),
    ParamSpec("repo", "object", properties={"url": "string", "branch": "string"}, default={"branch": "main"}),
    ParamSpec("level", enum=("debug", "info"), default="info"),
)


def _fail(field: str, message: str) -> SpecError:
    return SpecError(message, field=field)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            [Param("url", "u"), Param("repo", {"url": "r"})],
            {
                "url": "u",
                "revision": "main",
                "flags": (),
                "repo": {"branch": "main", "url": "r"},
                "level": "info",
            },
        ),
        (
            [
                Param("url", "u"),
                Param("repo", {"url": "r"}),
                Param("flags", "$(params.all[*])"),
                Param("extra", "x"),
            ],
            {
                "url": "u",
                "revision": "main",
                "flags": "$(params.all[*])",
                "repo": {"branch": "main", "url": "r"},
                "level": "info",
                "extra": "x",
            },
        ),
    ],
)
def test_bind_params(params: list[Param], expected: dict[str, object]) -> None:
    assert bind_params(SPECS, params, _fail) == expected


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ([Param("repo", {"url": "r"})], "spec.params", "missing parameter 'url'"),
        (
            [Param("url", ("a",)), Param("repo", {"url": "r"})],
            "spec.params[0].value",
            "wrong param type for 'url'",
        ),
        ([Param("url", "u"), Param("repo", {"branch": "b"})], "spec.params[1].value", "missing keys ['url']"),
        (
            [Param("url", "u"), Param("repo", {"url": "r"}), Param("level", "trace")],
            "spec.params[2].value",
            "enum",
        ),
    ],
)
def test_bind_params_rejects(params: list[Param], field: str, words: str) -> None:
    with pytest.raises(SpecError) as caught:
        bind_params(SPECS, params, _fail)
    assert caught.value.field == field
    assert words in str(caught.value)


def test_null_values() -> None:
    text = """\
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: nulls
  annotations:
    note:
spec:
  params:
    - name: repo
      properties:
        url:
        branch:
  steps:
    - image: alpine
      args: ["$(params.repo.url)"]
"""
    [task] = parse_text(text)
    assert isinstance(task, Task)
    assert task.meta.annotations == {"note": ""}
    assert task.spec.params[0].properties == {"url": "string", "branch": "string"}
    with pytest.raises(SpecError) as caught:
        parse_text(text.replace("    - image: alpine", "    - image: alpine\n      scrpit:"), "nulls.yaml")
    assert str(caught.value).startswith(
        "nulls.yaml:15: Task/nulls: spec.steps[0].scrpit: unknown field 'scrpit'"
    )
