"""The image edit, table-driven: each case is ``testdata/<case>.before.yaml`` and, when the edit
changes it, ``testdata/<case>.after.yaml`` (byte for byte: comments, quotes, order, indentation)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from gitloop.handoff import Strategy, parse_image_update, set_image

TESTDATA = Path(__file__).parent / "testdata"


class Case(NamedTuple):
    file: str  # the name the edit sees (a kustomization is told by its name)
    image: str | None
    path: str | None
    strategy: Strategy
    fields: int  # how many fields change (0: unchanged)


P, K, S, IMG = Strategy.PATH, Strategy.KUSTOMIZE, Strategy.SETTERS, Strategy.IMAGE
DIGEST = "sha256:24a0c4b4a4c0eb97a1aabb8e29f18e917d05abfe1b7a7c07857230879ce7d3d3"

CASES: dict[str, Case] = {
    "path-index": Case(
        "deploy.yaml", "registry.local:5000/team/web:1.5.0", ".spec.template.spec.containers[0].image", P, 1
    ),
    "path-by-name": Case(
        "deploy.yaml", "registry/shop:2024.2", ".spec.template.spec.containers[name=web].image", P, 1
    ),
    "path-yq-assignment": Case(
        "k8s/deployment.yaml",
        None,
        '.spec.template.spec.containers[0].image = "myregistry.com/myapp:1.2.3"',
        P,
        1,
    ),
    "path-select-pipe": Case(
        "cronjob.yaml",
        None,
        '(.spec.jobTemplate.spec.template.spec.containers[] | select(.name == "report") | .image)'
        ' |= "registry/report:42"',
        P,
        1,
    ),
    "path-multi-document": Case(
        "all.yaml", "registry/api:8", ".spec.template.spec.containers[name==app].image", P, 2
    ),
    "path-quote-when-needed": Case("values.yaml", None, '.image.tag = "1.10"', P, 1),
    "image-by-name": Case(
        "deploy.yaml",
        "registry.local:5000/app=registry.local:5000/app:v2@sha256:4f2b1a9c0d8e7f6a5b4c3d2e1f0a9b8c",
        None,
        IMG,
        3,
    ),
    "image-tekton-steps": Case("task.yaml", "mikefarah/yq:4.44.3", None, IMG, 1),
    "kustomize-new-tag": Case(
        "overlays/dev/kustomization.yaml", "app=registry.local:5000/app:1.0.0", None, K, 1
    ),
    "kustomize-tag-only": Case("kustomization.yaml", "app:v2", None, K, 2),
    "kustomize-keep-new-name": Case("kustomization.yml", "app=*:v3", None, K, 2),
    "kustomize-add-entry": Case("kustomization.yaml", "app=registry/app:v2", None, K, 1),
    "kustomize-no-images": Case("Kustomization", "app=registry/app:v2", None, K, 1),
    "kustomize-empty-list": Case("kustomization.yaml", "app=registry/app:v2", None, K, 1),
    "kustomize-digest": Case("kustomization.yaml", f"app=registry/app:v2@{DIGEST}", None, K, 2),
    "kustomize-flow-entry": Case("kustomization.yaml", "app=registry/app:v2", None, K, 2),
    "kustomize-by-kind": Case("overlay.yaml", "app:v2", None, K, 1),
    "kustomize-unchanged": Case("kustomization.yaml", "app=registry/app:v2", None, K, 0),
    "setters-whole-image": Case(
        "cronjob.yaml", "automation-ns:policy=index.repo.fake/updated:v1.0.1", None, S, 1
    ),
    "setters-parts": Case(
        "kustomization.yaml", "flux-system:app=registry/app:1.10@sha256:11111111111111111111", None, S, 3
    ),
    "setters-by-image-name": Case("deploy.yaml", "ghcr.io/stefanprodan/podinfo:5.0.3", None, S, 1),
    "setters-helm-values": Case("release.yaml", "apps:app=registry/app:1.3.0", None, S, 1),
}


def _run(case: Case, text: str) -> tuple[str, Strategy, int]:
    update = parse_image_update(case.image) if case.image else None
    edit = set_image(text, update, file=case.file, path=case.path)
    return edit.text, edit.strategy, len(edit.changes)


def test_every_testdata_file_has_a_case() -> None:
    names = {p.name.split(".")[0] for p in TESTDATA.glob("*.yaml")}
    assert names == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_edit(name: str) -> None:
    case = CASES[name]
    before = (TESTDATA / f"{name}.before.yaml").read_text()
    after_file = TESTDATA / f"{name}.after.yaml"
    expected = after_file.read_text() if case.fields else before
    assert after_file.exists() == bool(case.fields)

    text, strategy, fields = _run(case, before)

    assert strategy is case.strategy
    assert fields == case.fields
    assert text == expected


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c.fields))
def test_edit_is_idempotent(name: str) -> None:
    case = CASES[name]
    after = (TESTDATA / f"{name}.after.yaml").read_text()
    text, _, fields = _run(case, after)
    assert (text, fields) == (after, 0)


@pytest.mark.parametrize("name", ["path-index", "kustomize-add-entry", "setters-parts", "image-by-name"])
def test_windows_line_endings_and_a_byte_order_mark_are_kept(name: str) -> None:
    case = CASES[name]
    before = "\ufeff" + (TESTDATA / f"{name}.before.yaml").read_text().replace("\n", "\r\n")
    after = "\ufeff" + (TESTDATA / f"{name}.after.yaml").read_text().replace("\n", "\r\n")
    assert _run(case, before)[0] == after
