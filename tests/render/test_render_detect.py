"""Tool detection as Argo CD's repo-server does it: explicit keys first, then the app directory's files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitloop.errors import RenderError
from gitloop.ports import Renderer
from gitloop.render import SourceRenderer, Tool, detect_tool

CASES: list[tuple[str, list[str], dict[str, Any], Tool]] = [
    ("empty directory", [], {}, Tool.DIRECTORY),
    ("plain manifests", ["deploy.yaml", "svc.json"], {}, Tool.DIRECTORY),
    ("Chart.yaml", ["Chart.yaml", "values.yaml"], {}, Tool.HELM),
    ("a name ending in Chart.yaml", ["MyChart.yaml"], {}, Tool.HELM),
    ("kustomization.yaml", ["kustomization.yaml", "deploy.yaml"], {}, Tool.KUSTOMIZE),
    ("kustomization.yml", ["kustomization.yml"], {}, Tool.KUSTOMIZE),
    ("Kustomization", ["Kustomization"], {}, Tool.KUSTOMIZE),
    ("kustomization sorts after Chart.yaml", ["Chart.yaml", "kustomization.yaml"], {}, Tool.KUSTOMIZE),
    ("a Chart.yaml sorting last wins", ["kustomization.yaml", "zChart.yaml"], {}, Tool.HELM),
    ("only in a subdirectory", ["sub/Chart.yaml", "sub/kustomization.yaml"], {}, Tool.DIRECTORY),
    ("a directory named Chart.yaml", ["Chart.yaml/x.yaml"], {}, Tool.DIRECTORY),
    ("explicit directory over Chart.yaml", ["Chart.yaml"], {"directory": {"recurse": True}}, Tool.DIRECTORY),
    ("explicit helm, even empty", ["kustomization.yaml"], {"helm": {}}, Tool.HELM),
    ("explicit kustomize", [], {"kustomize": {"namePrefix": "a-"}}, Tool.KUSTOMIZE),
    ("explicit plugin", [], {"plugin": {"name": "cmp"}}, Tool.PLUGIN),
    ("a null key is not explicit", ["Chart.yaml"], {"kustomize": None}, Tool.HELM),
]


@pytest.mark.parametrize(("files", "source", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_detection(tmp_path: Path, files: list[str], source: dict[str, Any], expected: Tool) -> None:
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}\n", encoding="utf-8")

    assert detect_tool(tmp_path, source) is expected


def test_several_explicit_tools_are_an_error(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="multiple application sources defined: Kustomize,Helm"):
        detect_tool(tmp_path, {"helm": {}, "kustomize": {}})


def test_plugins_are_refused_by_the_renderer(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="plugins"):
        SourceRenderer().render(tmp_path, {"plugin": {}}, app_name="a", namespace="default")


def test_helm_repository_charts_are_refused(tmp_path: Path) -> None:
    source = {"repoURL": "https://charts.example.com", "chart": "nginx", "targetRevision": "1.0.0"}
    with pytest.raises(RenderError, match=r"spec\.source\.chart 'nginx'.*not supported"):
        SourceRenderer().render(tmp_path, source, app_name="a", namespace="default")


def test_the_adapter_implements_the_port(tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n", encoding="utf-8"
    )
    port: Renderer = SourceRenderer()  # checked by mypy

    assert port.render(tmp_path, {"path": "."}, app_name="a", namespace="default")[0]["kind"] == "ConfigMap"
