"""Bad input is refused with an error naming the file and the field, and nothing is written."""

from __future__ import annotations

import pytest

from gitloop.errors import SpecError, UsageError
from gitloop.handoff import parse_image_update, set_image

DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: registry/web:1
"""
MARKED = 'image: registry/web:1 # {"$imagepolicy": "flux-system:web"}\ntag: v1 # {"$imagepolicy": "flux-system:web:tag"}\n'

# (text, file, --image, --path, error type, every one of these in the message)
ERRORS: dict[str, tuple[str, str, str | None, str | None, type[Exception], tuple[str, ...]]] = {
    "path-not-found": (
        DEPLOY,
        "deploy.yaml",
        "registry/web:2",
        ".spec.template.spec.containers[name=api].image",
        SpecError,
        ("deploy.yaml", '.spec.template.spec.containers[][name="api"].image', "not found"),
    ),
    "path-is-a-mapping": (
        DEPLOY,
        "deploy.yaml",
        "registry/web:2",
        ".spec.template",
        SpecError,
        ("deploy.yaml", ".spec.template", "is a mapping"),
    ),
    "path-is-a-list": (
        DEPLOY,
        "deploy.yaml",
        "registry/web:2",
        ".spec.template.spec.containers",
        SpecError,
        ("is a list",),
    ),
    "path-unparsable": (
        DEPLOY,
        "deploy.yaml",
        "registry/web:2",
        ".spec.containers[0",
        UsageError,
        ("path expression", "column 19", "']'"),
    ),
    "path-without-a-dot": (DEPLOY, "deploy.yaml", "registry/web:2", "spec.x", UsageError, ("column 1",)),
    "path-needs-a-value": (DEPLOY, "deploy.yaml", None, ".spec.x", UsageError, ("needs --image",)),
    "path-assigns-a-bare-word": (
        DEPLOY,
        "deploy.yaml",
        None,
        ".spec.x = web",
        UsageError,
        ("quoted string",),
    ),
    "path-and-image-disagree": (
        DEPLOY,
        "deploy.yaml",
        "registry/web:2",
        '.spec.template.spec.containers[0].image = "registry/web:3"',
        UsageError,
        ("different values",),
    ),
    "image-not-in-file": (
        DEPLOY,
        "deploy.yaml",
        "registry/api=registry/api:2",
        None,
        SpecError,
        ("deploy.yaml", "registry/api", "images found: registry/web"),
    ),
    "image-keep-is-kustomize-only": (DEPLOY, "deploy.yaml", "registry/web=*:2", None, UsageError, ("'*'",)),
    "no-image-given": (DEPLOY, "deploy.yaml", None, None, UsageError, ("--image",)),
    "not-yaml": (
        "a: b: c\n",
        "deploy.yaml",
        "x:1",
        None,
        SpecError,
        ("deploy.yaml", "not valid YAML", "line 1"),
    ),
    "kustomize-bare-name": (
        "images: []\n",
        "kustomization.yaml",
        "app",
        None,
        UsageError,
        ("NAME=NEWNAME",),
    ),
    "kustomize-not-a-list": ("images: {}\n", "kustomization.yaml", "app:v1", None, SpecError, (".images",)),
    "setters-no-policy": (
        MARKED,
        "values.yaml",
        "flux-system:api=registry/api:2",
        None,
        SpecError,
        ("values.yaml", "flux-system:api", "marks flux-system:web"),
    ),
    "setters-tag-needed": (
        MARKED,
        "values.yaml",
        "flux-system:web=registry/web@sha256:0123456789abcdef",
        None,
        UsageError,
        (".tag", "has no tag"),
    ),
    "shared-through-an-anchor": (
        "defaults: &image registry/web:1\nspec:\n  image: *image\n",
        "deploy.yaml",
        "registry/web:2",
        None,
        SpecError,
        ("anchor",),
    ),
    "block-scalar": (
        "image: |\n  registry/web:1\n",
        "x.yaml",
        "registry/web:2",
        ".image",
        SpecError,
        ("block",),
    ),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_refused(name: str) -> None:
    text, file, image, path, error, words = ERRORS[name]
    with pytest.raises(error) as caught:
        update = parse_image_update(image) if image else None
        set_image(text, update, file=file, path=path)
    for word in words:
        assert word in str(caught.value)


def test_a_spec_error_names_the_field() -> None:
    with pytest.raises(SpecError) as caught:
        set_image(DEPLOY, parse_image_update("registry/web:2"), file="d.yaml", path=".spec.nothing")
    assert (caught.value.file, caught.value.field) == ("d.yaml", ".spec.nothing")
