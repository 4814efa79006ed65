"""The little languages of the handoff: image references, ``NAME=REF``, yq-style path expressions."""

from __future__ import annotations

import pytest

from gitloop.errors import UsageError
from gitloop.handoff import ImageRef, parse_expression, parse_image_update, parse_reference
from gitloop.handoff.reference import split_image

SPLITS = [
    ("nginx", ("nginx", "", "")),
    ("nginx:1.25", ("nginx", "1.25", "")),
    ("nginx@sha256:abc", ("nginx", "", "sha256:abc")),
    ("nginx:1.25@sha256:abc", ("nginx", "1.25", "sha256:abc")),
    ("registry.local:5000/team/app", ("registry.local:5000/team/app", "", "")),
    ("registry.local:5000/team/app:v2", ("registry.local:5000/team/app", "v2", "")),
    ("registry.local:5000/app@sha256:abc", ("registry.local:5000/app", "", "sha256:abc")),
]


@pytest.mark.parametrize(("reference", "parts"), SPLITS)
def test_split_image_like_kustomize(reference: str, parts: tuple[str, str, str]) -> None:
    assert split_image(reference) == parts


UPDATES = [
    ("app=registry/app:v2", ("app", ImageRef("registry/app", "v2"), True)),
    ("app:v2", ("app", ImageRef("app", "v2"), False)),
    (
        "registry.local:5000/app:v2",
        ("registry.local:5000/app", ImageRef("registry.local:5000/app", "v2"), False),
    ),
    ("flux-system:app=ghcr.io/o/app:1.0.0", ("flux-system:app", ImageRef("ghcr.io/o/app", "1.0.0"), True)),
    ("app=*:v3", ("app", ImageRef("*", "v3"), True)),
    (
        "app=r/app:v2@sha256:0123456789abcdef",
        ("app", ImageRef("r/app", "v2", "sha256:0123456789abcdef"), True),
    ),
]


@pytest.mark.parametrize(("arg", "expected"), UPDATES)
def test_parse_image_update(arg: str, expected: tuple[str, ImageRef, bool]) -> None:
    update = parse_image_update(arg)
    assert (update.name, update.ref, update.explicit) == expected
    assert str(update) == arg


@pytest.mark.parametrize(
    "arg",
    [
        "",
        "=app:v1",
        "app=",
        "app v1",
        "app:v1 #x",
        "app:v:1",
        "app@sha256:short",
        "app@@sha256:0123456789",
        "*:v1",
    ],
)
def test_bad_image_arguments(arg: str) -> None:
    with pytest.raises(UsageError):
        parse_image_update(arg)


def test_reference_round_trips() -> None:
    assert str(parse_reference("registry.local:5000/a/b:1.0@sha256:0123456789abcdef")) == (
        "registry.local:5000/a/b:1.0@sha256:0123456789abcdef"
    )


EXPRESSIONS = [
    (".spec.template.spec.containers[0].image", ".spec.template.spec.containers[0].image", None),
    (".a.b[-1]", ".a.b[-1]", None),
    (".spec.containers[name=web].image", '.spec.containers[][name="web"].image', None),
    (".spec.containers[name==web].image", '.spec.containers[][name="web"].image', None),
    ('.spec.containers[name = "web x"].image', '.spec.containers[][name="web x"].image', None),
    ('.spec.containers[] | select(.name == "web") | .image', '.spec.containers[][name="web"].image', None),
    ('.metadata.labels."app.kubernetes.io/name"', '.metadata.labels."app.kubernetes.io/name"', None),
    ('.metadata.labels["app.kubernetes.io/name"]', '.metadata.labels."app.kubernetes.io/name"', None),
    (".a.[0].b", ".a[0].b", None),
    (".a[*].b", ".a[].b", None),
    (".", ".", None),
    ('.spec.containers[0].image = "x/y:1"', ".spec.containers[0].image", "x/y:1"),
    (".a |= 'x/y:2'", ".a", "x/y:2"),
    ('  ( .a[] | select(.name == "w") | .image )  =  "x\\u0041"  ', '.a[][name="w"].image', "xA"),
]


@pytest.mark.parametrize(("text", "canonical", "value"), EXPRESSIONS)
def test_parse_expression(text: str, canonical: str, value: str | None) -> None:
    expression = parse_expression(text)
    assert (str(expression), expression.value) == (canonical, value)


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("a.b", 1),
        (".a[", 4),
        (".a[x]", 5),
        (".a[0", 5),
        (".a = x", 6),
        ('.a = "x', 6),
        ('.a = "x" y', 10),
        (".a | select(.b = 1)", 16),
        ("(.a", 4),
        (".a..b", 3),
    ],
)
def test_bad_expressions_name_the_column(text: str, column: int) -> None:
    with pytest.raises(UsageError, match=f"column {column}"):
        parse_expression(text)


def test_an_empty_expression_is_refused() -> None:
    with pytest.raises(UsageError, match="empty"):
        parse_expression("  ")
