"""Plain-manifest (directory) sources: which files are read, how, and the errors that name the file."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from gitloop.errors import RenderError
from gitloop.model.resources import Manifest
from gitloop.render import SourceRenderer

TESTDATA = Path(__file__).parent / "testdata" / "directory"

TOP = ["ConfigMap/from-json", "Deployment/web", "ConfigMap/listed-a", "ConfigMap/listed-b", "Service/web"]
ALL = [
    "ConfigMap/from-json",
    "Deployment/web",
    "ConfigMap/env-use2",
    "ConfigMap/env-usw2",
    "ConfigMap/listed-a",
    "ConfigMap/listed-b",
    "ConfigMap/nested-a",
    "Secret/nested-b",
    "Service/web",
]

CASES: list[tuple[str, dict[str, Any] | None, list[str]]] = [
    ("top level only, in file name order", None, TOP),
    ("recurse visits subdirectories in place", {"recurse": True}, ALL),
    ("include one file", {"include": "deployment.yaml"}, ["Deployment/web"]),
    ("include a brace set", {"include": "{deployment.yaml,service.yml}"}, ["Deployment/web", "Service/web"]),
    ("include *.yaml skips .yml and .json", {"include": "*.yaml"}, ["Deployment/web", *TOP[2:4]]),
    (
        "exclude with recurse",
        {"recurse": True, "exclude": "{config.json,env-usw2/*,nested/*}"},
        ["Deployment/web", "ConfigMap/env-use2", "ConfigMap/listed-a", "ConfigMap/listed-b", "Service/web"],
    ),
    (
        "* crosses directories",
        {"recurse": True, "include": "nested/*"},
        ["ConfigMap/nested-a", "Secret/nested-b"],
    ),
    ("? and classes", {"recurse": True, "include": "env-us[!e]?/*"}, ["ConfigMap/env-usw2"]),
    (
        "include and exclude",
        {"recurse": True, "include": "env-*/*", "exclude": "*use2*"},
        ["ConfigMap/env-usw2"],
    ),
    (
        "no extension filter: include decides",
        {"disableExtensionFilter": True, "include": "{README.md,service.yml}"},
        ["ConfigMap/not-a-manifest-file", "Service/web"],
    ),
]


def _names(objects: list[Manifest]) -> list[str]:
    return [f"{o['kind']}/{o['metadata']['name']}" for o in objects]


def _render(path: str, directory: dict[str, Any] | None = None, root: Path = TESTDATA) -> list[Manifest]:
    source: dict[str, Any] = {"repoURL": "https://git.example.com/config.git", "path": path}
    if directory is not None:
        source["directory"] = directory
    return SourceRenderer().render(root, source, app_name="web", namespace="default")


@pytest.mark.parametrize(("directory", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_selected_objects(directory: dict[str, Any] | None, expected: list[str]) -> None:
    assert _names(_render("plain", directory)) == expected


def test_objects_are_read_as_written() -> None:
    objects = {f"{o['kind']}/{o['metadata']['name']}": o for o in _render("plain")}

    deployment = objects["Deployment/web"]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert deployment["metadata"]["labels"] == {"app": "web"}
    assert "namespace" not in deployment["metadata"]  # defaulting the namespace is the engine's job
    assert objects["ConfigMap/from-json"]["data"] == {"created": "2024-01-01T00:00:00Z"}


def test_invalid_yaml_that_looks_like_a_manifest_names_the_file_and_line() -> None:
    with pytest.raises(
        RenderError, match=r"^broken/bad\.yaml: document 1 \(line 7, column 9\): invalid YAML"
    ):
        _render("broken")


def test_several_objects_in_a_json_file_are_an_error() -> None:
    with pytest.raises(RenderError, match=r"badjson/two\.json: found multiple objects"):
        _render("badjson")


def test_an_object_without_api_version_is_an_error() -> None:
    with pytest.raises(RenderError, match=r"nonobject/noversion\.yaml.*apiVersion: missing"):
        _render("nonobject")


def test_jsonnet_is_refused_and_can_be_excluded(tmp_path: Path) -> None:
    (tmp_path / "app.jsonnet").write_text("{}", encoding="utf-8")
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n", encoding="utf-8"
    )

    with pytest.raises(RenderError, match=r"app\.jsonnet: Jsonnet is not supported"):
        _render("", root=tmp_path)
    assert _names(_render("", {"exclude": "*.jsonnet"}, root=tmp_path)) == ["ConfigMap/a"]


def test_symlinks_inside_the_repository_are_followed_and_outside_it_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(TESTDATA / "plain", root / "app")
    (root / "shared").mkdir()
    (root / "shared" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\n", encoding="utf-8"
    )
    (root / "app" / "zz-shared.yaml").symlink_to(root / "shared" / "cm.yaml")
    (root / "app" / "zz-dangling.yaml").symlink_to(root / "nowhere.yaml")

    assert _names(_render("app", root=root))[-1] == "ConfigMap/shared"

    (tmp_path / "outside.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    (root / "app" / "zz-outside.yaml").symlink_to(tmp_path / "outside.yaml")
    with pytest.raises(RenderError, match=r"illegal filepath in symlink at app/zz-outside\.yaml"):
        _render("app", root=root)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../kustomize", "outside the repository"),
        ("no-such-dir", "app path does not exist: no-such-dir"),
        ("plain/list.yaml", "app path is not a directory"),
    ],
)
def test_bad_app_paths(path: str, message: str) -> None:
    with pytest.raises(RenderError, match=message):
        _render(path)


def test_a_bad_include_pattern_is_an_error() -> None:
    with pytest.raises(RenderError, match=r"spec\.source\.directory\.include: unclosed '\['"):
        _render("plain", {"include": "[abc"})


def test_a_wrongly_typed_option_names_the_field() -> None:
    with pytest.raises(RenderError, match=r"spec\.source\.directory\.recurse: expected true or false"):
        _render("plain", {"recurse": "yes"})
