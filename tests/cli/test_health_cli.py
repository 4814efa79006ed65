"""``gitloop health``: JSON and table output, and exit 2 naming the file for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gitloop.cli.main import cli

DEPLOYMENT_ROLLING = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, generation: 2}
spec: {replicas: 3}
status: {observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 1}
"""
PVC_BOUND = """\
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
status: {phase: Bound}
"""
CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
"""


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["health", *args], catch_exceptions=False)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_json_lists_every_object_of_every_file(tmp_path: Path) -> None:
    first = write(tmp_path / "a.yaml", f"{DEPLOYMENT_ROLLING}---\n{CONFIGMAP}")
    second = write(tmp_path / "b.yaml", PVC_BOUND)

    result = run("-f", str(first), "-f", str(second), "-o", "json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {
            "kind": "Deployment",
            "name": "api",
            "status": "Progressing",
            "message": "Waiting for rollout to finish: 1 out of 3 new replicas have been updated...",
        },
        {"kind": "ConfigMap", "name": "settings", "status": None, "message": "no health check for this kind"},
        {"kind": "PersistentVolumeClaim", "name": "data", "status": "Healthy", "message": ""},
    ]


def test_a_directory_contributes_its_manifest_files_in_name_order(tmp_path: Path) -> None:
    write(tmp_path / "2-pvc.yml", PVC_BOUND)
    write(tmp_path / "1-deploy.yaml", DEPLOYMENT_ROLLING)
    write(tmp_path / "notes.txt", "not: a manifest")

    result = run("-f", str(tmp_path), "-o", "json")

    assert result.exit_code == 0, result.output
    assert [o["kind"] for o in json.loads(result.stdout)] == ["Deployment", "PersistentVolumeClaim"]


def test_kubectl_list_output_is_expanded(tmp_path: Path) -> None:
    listing = write(
        tmp_path / "list.yaml",
        "apiVersion: v1\nkind: List\nitems:\n"
        "- {apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: a}, status: {phase: Lost}}\n"
        "- {apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: b}, status: {phase: Pending}}\n",
    )

    result = run("-f", str(listing), "-o", "json")

    assert [(o["name"], o["status"]) for o in json.loads(result.stdout)] == [
        ("a", "Degraded"),
        ("b", "Progressing"),
    ]


def test_table_is_the_default(tmp_path: Path) -> None:
    manifests = write(tmp_path / "m.yaml", f"{DEPLOYMENT_ROLLING}---\n{CONFIGMAP}---\n{PVC_BOUND}")

    result = run("-f", str(manifests))

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["KIND", "NAME", "STATUS", "MESSAGE"]
    assert lines[1].split()[:3] == ["Deployment", "api", "Progressing"]
    assert lines[1].endswith("1 out of 3 new replicas have been updated...")
    assert lines[2].split()[:3] == ["ConfigMap", "settings", "<none>"]
    assert lines[3].split() == ["PersistentVolumeClaim", "data", "Healthy"]
    assert lines[1].index("Progressing") == lines[3].index("Healthy")


def test_an_empty_file_gives_an_empty_array(tmp_path: Path) -> None:
    result = run("-f", str(write(tmp_path / "empty.yaml", "---\n# nothing\n")), "-o", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


def test_a_missing_file_exits_2_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"

    result = run("-f", str(missing))

    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"{missing}: no such file or directory" in result.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"{PVC_BOUND}---\nkind: [unclosed\n",
            "document 2 (line 7, column 1): invalid YAML: expected ',' or ']'",
        ),
        ("apiVersion: v1\nkind: Pod\n  metadata: {}\n", "document 1 (line 3, column 11): invalid YAML"),
        (f"{PVC_BOUND}---\n- just\n- a list\n", "document 2 (line 6): expected a Kubernetes object"),
        ("just a string\n", "document 1 (line 1): expected a Kubernetes object (a mapping), got a string"),
        (f"{CONFIGMAP}---\napiVersion: v1\nmetadata: {{name: x}}\n", "document 2 (line 5): kind: missing"),
        ("kind: Pod\nmetadata: {name: x}\n", "document 1 (line 1): apiVersion: missing"),
        ("apiVersion: v1\nkind: 3\n", "document 1 (line 1): kind: must be a string, got a number"),
        (
            "apiVersion: v1\nkind: List\nitems:\n- {kind: Pod}\n",
            "document 1 (line 1) items[0]: apiVersion: missing",
        ),
    ],
)
def test_bad_input_exits_2_naming_file_document_and_reason(tmp_path: Path, text: str, expected: str) -> None:
    bad = write(tmp_path / "bad.yaml", text)
    good = write(tmp_path / "good.yaml", PVC_BOUND)

    result = run("-f", str(good), "-f", str(bad), "-o", "json")

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {bad}: {expected}")


def test_output_format_is_checked() -> None:
    result = CliRunner().invoke(cli, ["health", "-f", "x.yaml", "-o", "xml"])
    assert result.exit_code == 2
    assert "'xml' is not one of" in result.stderr


def test_filename_is_required() -> None:
    result = CliRunner().invoke(cli, ["health"])
    assert result.exit_code == 2
    assert "Missing option '-f'" in result.stderr


def test_dash_reads_stdin() -> None:
    result = CliRunner().invoke(cli, ["health", "-f", "-", "-o", "json"], input=PVC_BOUND)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"kind": "PersistentVolumeClaim", "name": "data", "status": "Healthy", "message": ""}
    ]


def test_bad_stdin_is_named_stdin() -> None:
    result = CliRunner().invoke(cli, ["health", "-f", "-"], input="- a\n- b\n")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: <stdin>: document 1 (line 1): expected a Kubernetes object")
