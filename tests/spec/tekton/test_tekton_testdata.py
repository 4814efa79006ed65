"""Every file in testdata/ loads, or fails, exactly as its row in one of the two tables says."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitloop.errors import SpecError
from gitloop.spec.tekton import load

TESTDATA = Path(__file__).parent / "testdata"

VALID: dict[str, list[str]] = {
    "configmap-and-secret.yaml": ["ConfigMap/settings", "Secret/registry"],
    "pipeline-gitops-ci.yaml": ["Pipeline/gitops-ci-pipeline"],
    "pipelinerun-embedded.yaml": ["PipelineRun/embedded-run"],
    "pipelinerun-gitops-ci.yaml": ["PipelineRun/"],
    "pipelinerun-v1-service-account.yaml": ["PipelineRun/"],  # with a warning: test_runfiles_objects
    "task-full.yaml": ["Task/build-and-report"],
    "task-yq-update.yaml": ["Task/yq-update"],
    "taskrun-embedded.yaml": ["TaskRun/hello-run"],
    "v1beta1-task-and-run.yaml": ["Task/old-style", "PipelineRun/old-style-run"],
}

# file -> (line, object, field, words the message must contain)
INVALID: dict[str, tuple[int, str | None, str | None, str]] = {
    # Names that become host paths are checked as the Kubernetes API server checks them.
    "configmap-key-dotdot.yaml": (6, "ConfigMap/dots", "data...", "'..' is not a valid key"),
    "pipeline-task-workspace-subpath-parent.yaml": (
        15,
        "Pipeline/up",
        "spec.tasks[0].workspaces[0].subPath",
        "invalid subPath: '..' must not contain '..'",
    ),
    "pipelinerun-generate-name-escapes.yaml": (
        4,
        "PipelineRun/../../../escape-*",
        "metadata.generateName",
        "invalid generateName: '../../../escape-' cannot start a DNS subdomain name",
    ),
    "pipelinerun-workspace-claim-escapes.yaml": (
        11,
        "PipelineRun/claim-escapes",
        "spec.workspaces[0].persistentVolumeClaim.claimName",
        "invalid claim name: '../../../../tmp/x' is not a valid DNS subdomain",
    ),
    "pipelinerun-workspace-subpath-parent.yaml": (
        10,
        "PipelineRun/subpath-parent",
        "spec.workspaces[0].subPath",
        "'build/../../other' must not contain '..'",
    ),
    "secret-key-escapes.yaml": (
        7,
        "Secret/escapes",
        "stringData.../../evil",
        "'../../evil' is not a valid key",
    ),
    "task-volumemount-subpath-parent.yaml": (
        16,
        "Task/mounts",
        "spec.steps[0].volumeMounts[0].subPath",
        "'a/../../b' must not contain '..'",
    ),
    "taskrun-workspace-items-bad-key.yaml": (
        13,
        "TaskRun/items-bad-key",
        "spec.workspaces[0].configMap.items[0].key",
        "invalid key: 'a/b' is not a valid key",
    ),
    "taskrun-workspace-items-path-escapes.yaml": (
        16,
        "TaskRun/items-escape",
        "spec.workspaces[0].secret.items[1].path",
        "invalid path: '../../../.ssh/authorized_keys' must not contain '..'",
    ),
    "taskrun-workspace-subpath-absolute.yaml": (
        11,
        "TaskRun/subpath-absolute",
        "spec.workspaces[0].subPath",
        "invalid subPath: '/etc' must be a relative path",
    ),
    "pipeline-array-param-in-string.yaml": (
        14,
        "Pipeline/flat",
        "spec.tasks[0].params[0].value",
        "array param 'flags' can only be used whole",
    ),
    "pipeline-cycle.yaml": (
        7,
        "Pipeline/cycle",
        "spec.tasks[0]",
        "cycle detected in task order: fetch -> build -> publish -> fetch",
    ),
    "pipeline-duplicate-task.yaml": (
        10,
        "Pipeline/twice",
        "spec.finally[0].name",
        "pipeline task name 'build' appears more than once",
    ),
    "pipeline-embedded-result-undeclared.yaml": (
        18,
        "Pipeline/undeclared-result",
        "spec.tasks[1].params[0].value",
        "task version declares no result 'version'",
    ),
    "pipeline-finally-result-ref-finally.yaml": (
        16,
        "Pipeline/finally-chain",
        "spec.finally[1].params[0].value",
        "final task has task result reference from a final task report",
    ),
    "pipeline-finally-runafter.yaml": (
        13,
        "Pipeline/finally-order",
        "spec.finally[1].runAfter",
        "no runAfter allowed under spec.finally",
    ),
    "pipeline-invalid-task-name.yaml": (
        7,
        "Pipeline/names",
        "spec.tasks[0].name",
        "'Build_Image' is not a valid DNS label",
    ),
    "pipeline-matrix-string-param.yaml": (
        12,
        "Pipeline/fan-out",
        "spec.tasks[0].matrix.params[0].value",
        "matrix parameter 'browser' must be an array",
    ),
    "pipeline-on-error-with-retries.yaml": (
        9,
        "Pipeline/lenient",
        "spec.tasks[0].onError",
        'cannot be set to "continue" when retries is greater than 0',
    ),
    "pipeline-result-ref-finally.yaml": (
        10,
        "Pipeline/backwards",
        "spec.tasks[0].when[0]",
        "report is a finally task",
    ),
    "pipeline-result-ref-missing-task.yaml": (
        11,
        "Pipeline/dangling",
        "spec.tasks[0].params[0].value",
        "task get-version is not defined in the pipeline",
    ),
    "pipeline-runafter-missing.yaml": (
        14,
        "Pipeline/missing",
        "spec.tasks[2].runAfter[1]",
        "task build depends on lint but lint wasn't present",
    ),
    "pipeline-shell-in-param.yaml": (
        11,
        "Pipeline/shell",
        "spec.tasks[0].params[0].value",
        "invalid variable reference $(date)",
    ),
    "pipeline-status-in-tasks.yaml": (
        14,
        "Pipeline/early-status",
        "spec.tasks[1].params[0].value",
        "pipeline tasks can not refer to execution status",
    ),
    "pipeline-taskref-and-taskspec.yaml": (
        7,
        "Pipeline/both",
        "spec.tasks[0]",
        "expected exactly one, got both: taskRef, taskSpec",
    ),
    "pipeline-unknown-field.yaml": (
        9,
        "Pipeline/extra",
        "spec.tasks[0].runafter",
        "unknown field 'runafter'",
    ),
    "pipeline-unknown-param.yaml": (
        15,
        "Pipeline/typo",
        "spec.tasks[0].params[1].value",
        "no param 'git-revison' is declared",
    ),
    "pipeline-when-bad-operator.yaml": (
        13,
        "Pipeline/guard",
        "spec.tasks[0].when[0].operator",
        "invalid value 'equals'",
    ),
    "pipeline-when-cel-and-input.yaml": (
        12,
        "Pipeline/guard-both",
        "spec.tasks[0].when[0]",
        "cel and input+operator+values cannot be set",
    ),
    "pipeline-workspace-missing.yaml": (
        12,
        "Pipeline/no-workspace",
        "spec.tasks[0].workspaces[0]",
        "expects workspace with name 'sources' but none exists",
    ),
    "pipelinerun-bad-status.yaml": (6, "PipelineRun/status", "spec.status", "Paused should be Cancelled"),
    "pipelinerun-missing-param.yaml": (6, "PipelineRun/missing", "spec.params", "missing parameter 'url'"),
    "pipelinerun-ref-and-spec.yaml": (
        5,
        "PipelineRun/both",
        "spec",
        "expected exactly one, got both: pipelineRef, pipelineSpec",
    ),
    "pipelinerun-result-in-param.yaml": (
        10,
        "PipelineRun/results-too-early",
        "spec.params[0].value",
        "cannot use result expressions",
    ),
    "pipelinerun-timeouts.yaml": (
        10,
        "PipelineRun/timeouts",
        "spec.timeouts.tasks",
        "2h should be <= pipeline duration",
    ),
    "pipelinerun-workspace-two-sources.yaml": (
        9,
        "PipelineRun/two-sources",
        "spec.workspaces[0]",
        "got several: emptyDir, persistentVolumeClaim",
    ),
    "pipelinerun-wrong-param-type.yaml": (
        8,
        "PipelineRun/wrong-type",
        "spec.params[0].value",
        "wrong param type for 'revision': declared string",
    ),
    "secret-bad-base64.yaml": (6, "Secret/broken", "data.token", "invalid base64"),
    "task-bad-name.yaml": (4, "Task/My.Task", "metadata.name", "'My.Task' is not a valid DNS subdomain"),
    "task-bad-on-error.yaml": (8, "Task/on-error", "spec.steps[0].onError", "invalid value 'ignore'"),
    "task-bad-timeout.yaml": (8, "Task/slow", "spec.steps[0].timeout", "invalid duration '5 minutes'"),
    "task-duplicate-key.yaml": (8, None, None, "duplicate key 'image'"),
    "task-duplicate-step.yaml": (
        9,
        "Task/dup",
        "spec.steps[1].name",
        "step name 'run' appears more than once",
    ),
    "task-enum-default.yaml": (9, "Task/enum", "spec.params[0].default", "'trace' not in the enum list"),
    "task-invalid-yaml.yaml": (8, None, None, "while parsing a flow sequence"),
    "task-no-steps.yaml": (5, "Task/empty", "spec.steps", "a Task needs at least one step"),
    "task-object-param-no-properties.yaml": (
        7,
        "Task/shapeless",
        "spec.params[0].properties",
        "must declare its keys in properties",
    ),
    "task-object-unknown-key.yaml": (
        12,
        "Task/keys",
        "spec.steps[0].args[0]",
        "object param 'repo' has no key 'branch'",
    ),
    "task-param-default-wrong-type.yaml": (
        9,
        "Task/wrong-default",
        "spec.params[0].default",
        '"array" type does not match default value\'s type',
    ),
    "task-script-and-command.yaml": (
        9,
        "Task/both",
        "spec.steps[0].script",
        "script cannot be used with command",
    ),
    "task-step-action.yaml": (10, "Task/actions", "spec.steps[0].image", "image cannot be used with ref"),
    "task-step-no-image.yaml": (14, "Task/imageless", "spec.steps[1].image", "required field is missing"),
    "task-undeclared-param.yaml": (
        14,
        "Task/undeclared",
        "spec.steps[0].env[1].value",
        "no param 'mode' is declared",
    ),
    "task-undeclared-result.yaml": (
        10,
        "Task/results",
        "spec.steps[0].script",
        "non-existent variable $(results.digets.path)",
    ),
    "task-unknown-field.yaml": (9, "Task/typo", "spec.steps[0].scrpit", "unknown field 'scrpit'"),
    "task-wrong-api-version.yaml": (
        1,
        "Task/ancient",
        "apiVersion",
        "unsupported apiVersion 'tekton.dev/v1alpha1' for Task",
    ),
    "taskrun-negative-retries.yaml": (6, "TaskRun/retries", "spec.retries", "-1 should be >= 0"),
    "taskrun-no-task.yaml": (
        5,
        "TaskRun/nothing",
        "spec",
        "expected exactly one, got neither: taskRef, taskSpec",
    ),
    "unknown-kind.yaml": (1, "Deployment/app", "kind", "unsupported kind 'Deployment'"),
}


def test_every_file_has_a_row() -> None:
    files = {p.name for p in TESTDATA.glob("*.yaml")}
    assert files == set(VALID) | set(INVALID)
    assert not set(VALID) & set(INVALID)


@pytest.mark.parametrize(("name", "objects"), sorted(VALID.items()))
def test_valid_file_loads(name: str, objects: list[str]) -> None:
    loaded = load(TESTDATA / name)
    assert [f"{o.kind}/{o.meta.name}" for o in loaded] == objects
    assert all(o.source is not None and o.source.file == str(TESTDATA / name) for o in loaded)


@pytest.mark.parametrize(("name", "expected"), sorted(INVALID.items()))
def test_invalid_file_fails_naming_file_line_object_and_field(
    name: str, expected: tuple[int, str | None, str | None, str]
) -> None:
    line, obj, field, words = expected
    with pytest.raises(SpecError) as caught:
        load(TESTDATA / name)
    error = caught.value
    assert error.file == f"{TESTDATA / name}:{line}"
    assert error.obj == obj
    assert error.field == field
    assert words in str(error)
    assert str(error).startswith(f"{TESTDATA / name}:{line}: ")
