"""Reading Kubernetes manifests from files and directories, with file, document and line in errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitloop.errors import SpecError
from gitloop.spec.manifests import load_manifests, parse_manifests


def test_labels_name_file_and_line_and_empty_documents_are_skipped(tmp_path: Path) -> None:
    file = tmp_path / "app.yaml"
    file.write_text(
        "# leading comment\n---\n---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n"
        "---\n\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b}\n",
        encoding="utf-8",
    )

    found = load_manifests([file])

    assert [(label, m["kind"]) for label, m in found] == [
        (f"{file}:4", "Service"),
        (f"{file}:9", "Deployment"),
    ]


def test_list_kinds_are_expanded_with_item_labels() -> None:
    text = (
        "apiVersion: v1\nkind: DeploymentList\nitems:\n"
        "- {apiVersion: apps/v1, kind: Deployment, metadata: {name: a}}\n"
        "- {apiVersion: apps/v1, kind: Deployment, metadata: {name: b}}\n"
    )
    found = parse_manifests(text, source="list.yaml")
    assert [label for label, _ in found] == ["list.yaml:1 items[0]", "list.yaml:1 items[1]"]
    assert [m["metadata"]["name"] for _, m in found] == ["a", "b"]


def test_a_kind_ending_in_list_without_items_is_an_ordinary_object() -> None:
    text = "apiVersion: example.com/v1\nkind: AllowList\nspec: {}\n"
    [(_, obj)] = parse_manifests(text, source="x")
    assert obj["kind"] == "AllowList"


def test_timestamps_stay_strings_as_in_kubernetes() -> None:
    text = "apiVersion: v1\nkind: Pod\nmetadata:\n  creationTimestamp: 2025-03-01T10:00:00Z\n"
    [(_, pod)] = parse_manifests(text, source="x")
    assert pod["metadata"]["creationTimestamp"] == "2025-03-01T10:00:00Z"


def test_json_files_and_directories_are_read_in_name_order_not_recursively(tmp_path: Path) -> None:
    (tmp_path / "b.json").write_text('{"apiVersion": "v1", "kind": "ConfigMap"}', encoding="utf-8")
    (tmp_path / "a.yml").write_text("apiVersion: v1\nkind: Secret\n", encoding="utf-8")
    (tmp_path / "README.md").write_text("# not a manifest\n", encoding="utf-8")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "c.yaml").write_text("apiVersion: v1\nkind: Pod\n", encoding="utf-8")

    found = load_manifests([tmp_path])

    assert [m["kind"] for _, m in found] == ["Secret", "ConfigMap"]


def test_errors_carry_file_document_and_field(tmp_path: Path) -> None:
    file = tmp_path / "x.yaml"
    file.write_text("apiVersion: v1\nkind: Pod\n---\napiVersion: v1\n", encoding="utf-8")

    with pytest.raises(SpecError) as caught:
        load_manifests([file])

    assert caught.value.file == str(file)
    assert caught.value.obj == "document 2 (line 4)"
    assert caught.value.field == "kind"
    assert caught.value.exit_code == 2


def test_invalid_yaml_is_chained_and_located(tmp_path: Path) -> None:
    file = tmp_path / "x.yaml"
    file.write_text("apiVersion: v1\nkind: Pod\n---\nkind: Pod\n  name: x\n", encoding="utf-8")

    with pytest.raises(SpecError, match=r"document 2 \(line 5, column 7\): invalid YAML") as caught:
        load_manifests([file])

    assert caught.value.__cause__ is not None


def test_not_utf8_is_a_spec_error(tmp_path: Path) -> None:
    file = tmp_path / "latin1.yaml"
    file.write_bytes("apiVersion: v1\nkind: Pod\nmetadata: {name: caf\xe9}\n".encode("latin-1"))

    with pytest.raises(SpecError, match="not UTF-8 text"):
        load_manifests([file])


def test_missing_path_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such file or directory") as caught:
        load_manifests([tmp_path / "gone"])
    assert caught.value.file == str(tmp_path / "gone")
