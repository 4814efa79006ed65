"""Multiple sources (``spec.sources``) with ``$ref`` value files, and ``.argocd-source*.yaml`` overrides."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from gitloop.errors import RenderError
from gitloop.model.resources import Manifest
from gitloop.render import SourceCheckout, SourceRenderer
from gitloop.render.tools import ensure_tools

TESTDATA = Path(__file__).parent / "testdata"
CHARTS = TESTDATA / "helm"
VALUES = TESTDATA / "values-repo"
MANIFESTS = TESTDATA / "directory"


@pytest.fixture(scope="module")
def renderer() -> SourceRenderer:
    return SourceRenderer(ensure_tools())


def _names(objects: list[Manifest]) -> list[str]:
    return [f"{o['kind']}/{o['metadata']['name']}" for o in objects]


def _chart(**helm: Any) -> dict[str, Any]:
    return {"repoURL": "https://git.example.com/charts.git", "path": "chart", "helm": helm}


def test_a_chart_with_values_from_another_repository(renderer: SourceRenderer) -> None:
    checkouts = [
        SourceCheckout(CHARTS, _chart(valueFiles=["$values/prod/values.yaml"])),
        SourceCheckout(VALUES, {"repoURL": "https://git.example.com/values.git", "ref": "values"}),
    ]

    objects = renderer.render_sources(checkouts, app_name="web", namespace="shop")

    by_name = {f"{o['kind']}/{o['metadata']['name']}": o for o in objects}
    assert by_name["Deployment/web-web"]["spec"]["replicas"] == 5
    assert by_name["ConfigMap/web-config"]["data"]["greeting"] == "from the values repo"
    assert "ConfigMap/listed-a" not in by_name  # a ref source without path renders nothing


def test_sources_are_concatenated_in_order(renderer: SourceRenderer) -> None:
    checkouts = [
        SourceCheckout(MANIFESTS, {"repoURL": "https://git.example.com/m.git", "path": "plain", "ref": "m"}),
        SourceCheckout(CHARTS, _chart(valueFiles=["$m/plain/../../helm/chart/values-prod.yaml"])),
    ]

    with pytest.raises(RenderError, match=r"spec\.sources\[1\]: value file .* is outside the repository"):
        renderer.render_sources(checkouts, app_name="web", namespace="shop")

    checkouts[1] = SourceCheckout(
        CHARTS, _chart(skipCrds=True, parameters=[{"name": "hook.enabled", "value": "false"}])
    )
    objects = renderer.render_sources(checkouts, app_name="web", namespace="shop")

    assert _names(objects) == [
        "ConfigMap/from-json",
        "Deployment/web",
        "ConfigMap/listed-a",
        "ConfigMap/listed-b",
        "Service/web",
        "ConfigMap/web-config",
        "Deployment/web-web",
    ]


def test_an_unknown_ref_is_an_unknown_variable(renderer: SourceRenderer) -> None:
    # As in Argo CD: "$other" is substituted (by nothing), leaving a path from the chart's repository root.
    with pytest.raises(RenderError, match=r"testdata/helm/prod/values\.yaml: no such file"):
        renderer.render_sources(
            [SourceCheckout(CHARTS, _chart(valueFiles=["$other/prod/values.yaml"]))],
            app_name="web",
            namespace="a",
        )


def test_a_ref_source_cannot_be_a_chart(renderer: SourceRenderer) -> None:
    source = {"repoURL": "https://charts.example.com", "chart": "x", "ref": "values"}
    with pytest.raises(RenderError, match="a source with 'ref' cannot have 'chart'"):
        renderer.render_sources([SourceCheckout(VALUES, source)], app_name="web", namespace="a")


def test_argocd_source_files_override_the_tool_settings(renderer: SourceRenderer, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(CHARTS / "chart", root / "chart")
    (root / "chart" / ".argocd-source.yaml").write_text(
        "helm:\n  valueFiles: [values-prod.yaml]\n  parameters: [{name: greeting, value: from the override}]\n"
        "path: elsewhere\n",
        encoding="utf-8",
    )
    (root / "chart" / ".argocd-source-web.yaml").write_text(
        "helm:\n  parameters: null\n  releaseName: shop\n", encoding="utf-8"
    )

    objects = renderer.render(root, _chart(), app_name="web", namespace="a")
    by_name = {f"{o['kind']}/{o['metadata']['name']}": o for o in objects}
    assert by_name["Deployment/shop-web"]["spec"]["replicas"] == 3
    assert by_name["ConfigMap/shop-config"]["data"]["greeting"] == "hello from prod"

    other = renderer.render(root, _chart(), app_name="api", namespace="a")
    assert {f"{o['kind']}/{o['metadata']['name']}": o for o in other}["ConfigMap/api-config"]["data"][
        "greeting"
    ] == "from the override"
