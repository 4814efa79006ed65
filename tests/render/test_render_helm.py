"""Helm sources rendered by the real ``helm template`` with Argo CD's arguments."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from gitloop.errors import RenderError
from gitloop.model.resources import Manifest
from gitloop.render import HelmSettings, SourceRenderer
from gitloop.render.tools import ensure_tools

TESTDATA = Path(__file__).parent / "testdata" / "helm"


@pytest.fixture(scope="module")
def renderer() -> SourceRenderer:
    return SourceRenderer(ensure_tools())


def _render(
    renderer: SourceRenderer, helm: dict[str, Any] | None = None, *, path: str = "chart", **kwargs: Any
) -> dict[str, Manifest]:
    source: dict[str, Any] = {"repoURL": "https://git.example.com/charts.git", "path": path}
    if helm is not None:
        source["helm"] = helm
    kwargs.setdefault("namespace", "shop")
    objects = renderer.render(TESTDATA, source, app_name="web", **kwargs)
    return {f"{o['kind']}/{o['metadata']['name']}": o for o in objects}


def _config(objects: dict[str, Manifest], release: str = "web") -> dict[str, str]:
    data: dict[str, str] = objects[f"ConfigMap/{release}-config"]["data"]
    return data


def _replicas(objects: dict[str, Manifest], release: str = "web") -> int:
    replicas: int = objects[f"Deployment/{release}-web"]["spec"]["replicas"]
    return replicas


def test_defaults_release_name_namespace_crds_and_hooks(renderer: SourceRenderer) -> None:
    objects = _render(renderer)

    assert list(objects) == [
        "CustomResourceDefinition/widgets.example.com",
        "ConfigMap/web-config",
        "Deployment/web-web",
        "Job/web-migrate",
    ]
    assert objects["ConfigMap/web-config"]["metadata"]["namespace"] == "shop"
    assert objects["Job/web-migrate"]["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    deployment = objects["Deployment/web-web"]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert deployment["metadata"]["labels"] == {"app.kubernetes.io/instance": "web"}
    assert _config(objects)["greeting"] == "hello"


CASES: list[tuple[str, dict[str, Any], str, Any]] = [
    ("releaseName", {"releaseName": "shop"}, "release", "shop"),
    ("helm.namespace wins", {"namespace": "other"}, "namespace", "other"),
    ("a value file", {"valueFiles": ["values-prod.yaml"]}, "replicas", 3),
    ("later value files win", {"valueFiles": ["values-prod.yaml", "envs/a.yaml"]}, "greeting", "from a"),
    ("an absolute value file is from the root", {"valueFiles": ["/chart/envs/b.yaml"]}, "greeting", "from b"),
    ("a glob in name order", {"valueFiles": ["envs/*.yaml"]}, "greeting", "from b"),
    (
        "** visits files before subdirectories",
        {"valueFiles": ["envs/**/*.yaml"]},
        "greeting",
        "from nested c",
    ),
    (
        "an explicit file keeps its place after a glob",
        {"valueFiles": ["envs/**/*.yaml", "envs/a.yaml"]},
        "greeting",
        "from a",
    ),
    ("values", {"valueFiles": ["values-prod.yaml"], "values": "greeting: inline\n"}, "greeting", "inline"),
    (
        "valuesObject beats values",
        {"values": "greeting: a\n", "valuesObject": {"greeting": "object"}},
        "greeting",
        "object",
    ),
    (
        "parameters beat everything",
        {"valuesObject": {"replicaCount": 2}, "parameters": [{"name": "replicaCount", "value": "6"}]},
        "replicas",
        6,
    ),
    (
        "parameters see the build environment",
        {"parameters": [{"name": "greeting", "value": "hi $ARGOCD_APP_NAME"}]},
        "greeting",
        "hi web",
    ),
    (
        "commas in --set are escaped",
        {"parameters": [{"name": "greeting", "value": "a,b"}]},
        "greeting",
        "a,b",
    ),
    ("--set types integers", {"parameters": [{"name": "image.tag", "value": "130"}]}, "tagKind", "int64"),
    (
        "forceString keeps them strings",
        {"parameters": [{"name": "image.tag", "value": "130", "forceString": True}]},
        "tagKind",
        "string",
    ),
    (
        "fileParameters",
        {"fileParameters": [{"name": "motd", "path": "motd.txt"}]},
        "motd",
        "welcome, from a file\n",
    ),
    ("kubeVersion", {"kubeVersion": "1.20.2"}, "kubeVersion", "v1.20.2"),
    ("skipCrds", {"skipCrds": True}, "crd", False),
    ("hooks follow the values", {"parameters": [{"name": "hook.enabled", "value": "false"}]}, "hook", False),
    (
        "missing value files may be ignored",
        {
            "valueFiles": ["absent.yaml", "nothing/*.yaml", "values-prod.yaml"],
            "ignoreMissingValueFiles": True,
        },
        "replicas",
        3,
    ),
]


@pytest.mark.parametrize(("helm", "aspect", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_helm_options(renderer: SourceRenderer, helm: dict[str, Any], aspect: str, expected: Any) -> None:
    objects = _render(renderer, helm)
    release = helm.get("releaseName", "web")
    config = objects.get(f"ConfigMap/{release}-config", {"metadata": {}, "data": {}})

    actual = {
        "release": next(o for o in objects.values() if o["kind"] == "Deployment")["metadata"]["name"][
            : -len("-web")
        ],
        "namespace": config["metadata"].get("namespace"),
        "replicas": objects.get(f"Deployment/{release}-web", {}).get("spec", {}).get("replicas"),
        "greeting": config["data"].get("greeting"),
        "image": objects[f"Deployment/{release}-web"]["spec"]["template"]["spec"]["containers"][0]["image"],
        "motd": config["data"].get("motd"),
        "tagKind": config["data"].get("tagKind"),
        "kubeVersion": config["data"].get("kubeVersion"),
        "crd": "CustomResourceDefinition/widgets.example.com" in objects,
        "hook": "Job/web-migrate" in objects,
    }[aspect]
    assert actual == expected


def test_value_file_paths_see_the_build_environment(renderer: SourceRenderer) -> None:
    objects = _render(renderer, {"valueFiles": ["values-${ARGOCD_APP_NAMESPACE}.yaml"]}, namespace="prod")

    assert _replicas(objects) == 3
    assert objects["ConfigMap/web-config"]["metadata"]["namespace"] == "prod"


def test_cluster_version_from_the_settings() -> None:
    renderer = SourceRenderer(ensure_tools(), helm=HelmSettings(kube_version="1.20.2"))
    assert _config(_render(renderer))["kubeVersion"] == "v1.20.2"


def test_a_template_error_carries_helms_message(renderer: SourceRenderer) -> None:
    with pytest.raises(RenderError) as caught:
        _render(renderer, path="broken")

    assert str(caught.value).startswith("helm template broken failed: Error: execution error at ")
    assert "a value for .Values.name is required" in str(caught.value)


def test_a_missing_value_file_is_helms_error(renderer: SourceRenderer) -> None:
    with pytest.raises(RenderError, match=r"absent\.yaml"):
        _render(renderer, {"valueFiles": ["absent.yaml"]})


def test_an_empty_glob_is_an_error(renderer: SourceRenderer) -> None:
    with pytest.raises(RenderError, match=r"values file glob 'nothing/\*\.yaml' matched no files"):
        _render(renderer, {"valueFiles": ["nothing/*.yaml"]})


@pytest.mark.parametrize("value_file", ["../../directory/plain/list.yaml", "/../helm.yaml"])
def test_value_files_stay_inside_the_repository(renderer: SourceRenderer, value_file: str) -> None:
    with pytest.raises(RenderError, match="outside the repository"):
        _render(renderer, {"valueFiles": [value_file]})


def test_unknown_url_schemes_are_refused(renderer: SourceRenderer) -> None:
    with pytest.raises(RenderError, match="the URL scheme 'file' is not allowed"):
        _render(renderer, {"valueFiles": ["file:///etc/passwd"]})


def test_missing_dependencies_are_built_in_a_scratch_copy(renderer: SourceRenderer) -> None:
    before = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(TESTDATA.rglob("*")) if p.is_file()))

    objects = _render(renderer, path="with-dep")

    assert sorted(objects) == ["ConfigMap/web-child", "ConfigMap/web-parent"]
    after = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(TESTDATA.rglob("*")) if p.is_file()))
    assert after.hexdigest() == before.hexdigest()
    assert not (TESTDATA / "with-dep" / "charts").exists()
    assert not (TESTDATA / "with-dep" / "Chart.lock").exists()


def test_a_wrongly_typed_option_names_the_field(renderer: SourceRenderer) -> None:
    with pytest.raises(RenderError, match=r"spec\.source\.helm\.valueFiles: expected a list of strings"):
        _render(renderer, {"valueFiles": "values-prod.yaml"})
