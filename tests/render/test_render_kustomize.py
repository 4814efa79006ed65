"""Kustomize sources built by the real kubectl kustomize, with Argo CD's ``spec.source.kustomize``
overrides applied to a scratch copy of the checkout."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from gitloop.errors import RenderError
from gitloop.model.resources import Manifest
from gitloop.render import KustomizeSettings, SourceRenderer
from gitloop.render.tools import ensure_tools

TESTDATA = Path(__file__).parent / "testdata" / "kustomize"


@pytest.fixture(scope="module")
def renderer() -> SourceRenderer:
    return SourceRenderer(ensure_tools())


def _render(
    renderer: SourceRenderer, path: str, kustomize: dict[str, Any] | None = None, **kwargs: Any
) -> dict[str, Manifest]:
    source: dict[str, Any] = {"repoURL": "https://git.example.com/config.git", "path": path}
    if kustomize is not None:
        source["kustomize"] = kustomize
    objects = renderer.render(TESTDATA, source, app_name="web", namespace="default", **kwargs)
    return {f"{o['kind']}/{o['metadata']['name']}": o for o in objects}


def _images(deployment: Manifest) -> list[str]:
    return [c["image"] for c in deployment["spec"]["template"]["spec"]["containers"]]


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def test_base_is_detected_and_built(renderer: SourceRenderer) -> None:
    objects = _render(renderer, "base")

    assert list(objects) == ["Service/web", "Deployment/web"]
    assert _images(objects["Deployment/web"]) == ["nginx:1.25", "registry.local:5000/tools/sidecar:0.1"]
    assert "namespace" not in objects["Service/web"]["metadata"]


def test_overlay_applies_its_prefix_labels_namespace_and_images(renderer: SourceRenderer) -> None:
    objects = _render(renderer, "overlays/prod")

    deployment = objects["Deployment/prod-web"]
    assert sorted(objects) == ["Deployment/prod-web", "Service/prod-web"]
    assert {o["metadata"]["namespace"] for o in objects.values()} == {"prod"}
    assert deployment["metadata"]["labels"] == {"env": "prod"}
    assert deployment["spec"]["selector"]["matchLabels"] == {"app": "web", "env": "prod"}
    assert _images(deployment)[0] == "nginx:1.27"


OVERRIDES: list[tuple[str, dict[str, Any], str, Any]] = [
    ("namePrefix replaces the overlay's", {"namePrefix": "staging-"}, "name", "staging-web"),
    ("nameSuffix", {"nameSuffix": "-v2"}, "name", "prod-web-v2"),
    (
        "image tag",
        {"images": ["nginx:1.28"]},
        "images",
        ["nginx:1.28", "registry.local:5000/tools/sidecar:0.1"],
    ),
    (
        "image name and digest",
        {"images": ["nginx=mirror.local/nginx@sha256:" + "a" * 64]},
        "images",
        ["mirror.local/nginx@sha256:" + "a" * 64, "registry.local:5000/tools/sidecar:0.1"],
    ),
    (
        "image with registry port, new name keeps the tag with *",
        {"images": ["registry.local:5000/tools/sidecar=mirror.local/sidecar:*"]},
        "images",
        ["nginx:1.27", "mirror.local/sidecar:0.1"],
    ),
    (
        "image from the build environment",
        {"images": ["nginx:${ARGOCD_APP_REVISION_SHORT}"]},
        "images",
        ["nginx:0123456", "registry.local:5000/tools/sidecar:0.1"],
    ),
    (
        "commonLabels, with the build environment",
        {"commonLabels": {"team": "web", "app.example.com/name": "$ARGOCD_APP_NAME"}},
        "labels",
        {"env": "prod", "team": "web", "app.example.com/name": "web"},
    ),
    ("namespace replaces the overlay's", {"namespace": "staging"}, "namespace", "staging"),
    ("replicas", {"replicas": [{"name": "web", "count": 4}]}, "replicas", 4),
    ("replicas as a string", {"replicas": [{"name": "web", "count": "3"}]}, "replicas", 3),
    (
        "commonAnnotations are not substituted by default",
        {"commonAnnotations": {"source": "$ARGOCD_APP_NAME"}},
        "annotations",
        {"source": "$ARGOCD_APP_NAME"},
    ),
    (
        "commonAnnotations with envsubst",
        {
            "commonAnnotations": {"source": "${ARGOCD_APP_NAME}@$ARGOCD_APP_SOURCE_PATH"},
            "commonAnnotationsEnvsubst": True,
        },
        "annotations",
        {"source": "web@overlays/prod"},
    ),
    (
        "inline patches",
        {
            "patches": [
                {
                    "target": {"kind": "Deployment", "name": "web"},
                    "patch": "- op: replace\n  path: /spec/replicas\n  value: 7\n",
                }
            ]
        },
        "replicas",
        7,
    ),
]


@pytest.mark.parametrize(
    ("overrides", "aspect", "expected"), [c[1:] for c in OVERRIDES], ids=[c[0] for c in OVERRIDES]
)
def test_overrides(renderer: SourceRenderer, overrides: dict[str, Any], aspect: str, expected: Any) -> None:
    objects = _render(renderer, "overlays/prod", overrides, revision="0123456789abcdef")
    deployment = next(o for o in objects.values() if o["kind"] == "Deployment")

    actual = {
        "name": deployment["metadata"]["name"],
        "images": _images(deployment),
        "labels": deployment["metadata"].get("labels"),
        "namespace": deployment["metadata"].get("namespace"),
        "replicas": deployment["spec"]["replicas"],
        "annotations": deployment["metadata"].get("annotations"),
    }[aspect]
    assert actual == expected


def test_overrides_never_touch_the_checkout(renderer: SourceRenderer) -> None:
    before = _tree_digest(TESTDATA)

    _render(
        renderer, "overlays/prod", {"namePrefix": "x-", "images": ["nginx:2"], "commonLabels": {"a": "b"}}
    )

    assert _tree_digest(TESTDATA) == before


def test_components_are_added_relative_to_the_app(renderer: SourceRenderer) -> None:
    objects = _render(
        renderer,
        "overlays/prod",
        {
            "components": ["../../components/monitoring", "../../components/absent"],
            "ignoreMissingComponents": True,
        },
    )

    assert objects["ConfigMap/prod-monitoring"]["metadata"]["namespace"] == "prod"


def test_a_missing_component_is_an_error_unless_ignored(renderer: SourceRenderer) -> None:
    with pytest.raises(RenderError, match=r"component \.\./absent has no match"):
        _render(renderer, "overlays/prod", {"components": ["../absent"]})


def test_a_label_already_in_the_kustomization_needs_force(renderer: SourceRenderer) -> None:
    with pytest.raises(RenderError, match="label env already in kustomization file"):
        _render(renderer, "overlays/prod", {"commonLabels": {"env": "staging"}})

    forced = _render(
        renderer, "overlays/prod", {"commonLabels": {"env": "staging"}, "forceCommonLabels": True}
    )
    assert forced["Deployment/prod-web"]["metadata"]["labels"] == {"env": "staging"}


def test_labels_without_selector_leave_selectors_alone(renderer: SourceRenderer) -> None:
    objects = _render(renderer, "base", {"commonLabels": {"team": "web"}, "labelWithoutSelector": True})

    deployment = objects["Deployment/web"]
    assert deployment["metadata"]["labels"] == {"team": "web"}
    assert deployment["spec"]["selector"]["matchLabels"] == {"app": "web"}
    assert deployment["spec"]["template"]["metadata"]["labels"] == {"app": "web"}


def test_kustomization_yml_is_found(renderer: SourceRenderer) -> None:
    assert list(_render(renderer, "plain-yml")) == ["ConfigMap/yml"]
    assert list(_render(renderer, "plain-yml", {"nameSuffix": "-x"})) == ["ConfigMap/yml-x"]


def test_a_broken_kustomization_carries_kustomizes_message(renderer: SourceRenderer) -> None:
    with pytest.raises(RenderError) as caught:
        _render(renderer, "broken")

    message = str(caught.value)
    assert message.startswith("kustomize build broken failed: ")
    assert "accumulating resources" in message
    assert "missing.yaml" in message


def test_errors_in_a_scratch_copy_name_the_checkout(renderer: SourceRenderer) -> None:
    with pytest.raises(RenderError) as caught:
        _render(renderer, "broken", {"namePrefix": "x-"})

    assert str(TESTDATA / "broken" / "missing.yaml") in str(caught.value)
    assert "gitloop-kustomize-" not in str(caught.value)


def test_a_directory_without_kustomization_cannot_take_overrides(renderer: SourceRenderer) -> None:
    with pytest.raises(RenderError, match="kustomization file not found in components"):
        _render(renderer, "components", {"namePrefix": "x-"})


def test_an_unregistered_kustomize_version_is_an_error(renderer: SourceRenderer) -> None:
    with pytest.raises(RenderError, match=r"kustomize version v3\.5\.4 is not registered"):
        _render(renderer, "base", {"version": "v3.5.4"})


def test_helm_charts_inflate_with_enable_helm_using_the_bundled_helm() -> None:
    with_helm = SourceRenderer(ensure_tools(), kustomize=KustomizeSettings(build_options=("--enable-helm",)))

    objects = _render(with_helm, "with-helm", {"kubeVersion": "1.20.2"})

    assert objects["ConfigMap/inflated-mini"]["data"] == {
        "greeting": "from kustomize",
        "kubeVersion": "v1.20.2",
    }


def test_helm_charts_need_enable_helm(renderer: SourceRenderer) -> None:
    with pytest.raises(RenderError, match="--enable-helm"):
        _render(renderer, "with-helm")
