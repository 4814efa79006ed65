"""The commit message of a handoff: template placeholders, the default, and gitloop's trailers."""

from __future__ import annotations

import pytest

from gitloop.errors import UsageError
from gitloop.handoff import CommitContext, render_message
from gitloop.model.trailers import parse_trailers

SHA = "0123456789abcdef0123456789abcdef01234567"
CTX = CommitContext(
    image="registry/app:v2@sha256:0123456789abcdef",
    image_name="app",
    file="overlays/dev/kustomization.yaml",
    branch="main",
    source_commit=SHA,
    pipelinerun="build-x7k2p",
)
TRAILERS = (
    "Gitloop-Image: registry/app:v2@sha256:0123456789abcdef\n"
    "Gitloop-File: overlays/dev/kustomization.yaml\n"
    f"Gitloop-Source-Commit: {SHA}\n"
    "Gitloop-PipelineRun: build-x7k2p\n"
)


def test_default_message_names_the_source_commit_and_the_pipelinerun() -> None:
    assert render_message(None, CTX) == (
        "Set app to registry/app:v2@sha256:0123456789abcdef in overlays/dev/kustomization.yaml\n\n"
        f"Built from source commit {SHA} by PipelineRun build-x7k2p.\n\n" + TRAILERS
    )


def test_default_message_without_lineage_has_only_the_image_trailers() -> None:
    ctx = CommitContext("app:v2", "app", "k.yaml", "main")
    assert (
        render_message(None, ctx)
        == "Set app to app:v2 in k.yaml\n\nGitloop-Image: app:v2\nGitloop-File: k.yaml\n"
    )


MESSAGES = [
    (
        "deploy({branch}): {image_name} {tag} from {source_commit_short} ({pipelinerun}) {{literal}}",
        "deploy(main): app v2 from 0123456789ab (build-x7k2p) {literal}\n\n" + TRAILERS,
    ),
    (
        "Update image to {image}\n\ndigest {digest}\n",
        f"Update image to {CTX.image}\n\ndigest sha256:0123456789abcdef\n\n" + TRAILERS,
    ),
    (
        "Bump {file}\n\nSigned-off-by: CI <ci@example.com>",
        "Bump overlays/dev/kustomization.yaml\n\nSigned-off-by: CI <ci@example.com>\n" + TRAILERS,
    ),
]


@pytest.mark.parametrize(("template", "message"), MESSAGES)
def test_templates(template: str, message: str) -> None:
    assert render_message(template, CTX) == message


def test_trailers_read_back() -> None:
    trailers = parse_trailers(render_message("x {image}", CTX))
    assert trailers == {
        "Gitloop-Image": CTX.image,
        "Gitloop-File": CTX.file,
        "Gitloop-Source-Commit": SHA,
        "Gitloop-PipelineRun": "build-x7k2p",
    }
    assert parse_trailers("no trailers here") == {}


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("{nope}", "unknown placeholder {nope}"),
        ("{image.__class__}", "unknown placeholder"),
        ("{image!r}", "unknown placeholder"),
        ("{image:>10}", "unknown placeholder"),
        ("{image", "--message"),
        ("   ", "empty"),
    ],
)
def test_bad_templates(template: str, words: str) -> None:
    with pytest.raises(UsageError, match=words.replace("{", r"\{").replace("}", r"\}")):
        render_message(template, CTX)


@pytest.mark.parametrize(
    "changes",
    [
        {"source_commit": "not-a-sha"},
        {"pipelinerun": "a\nb"},
        {"image": "x:1\nEvil: yes"},
        {"pipelinerun": "x" * 254},
    ],
)
def test_values_that_would_forge_trailers_are_refused(changes: dict[str, str]) -> None:
    fields = {"image": "app:v2", "image_name": "app", "file": "k.yaml", "branch": "main", **changes}
    with pytest.raises(UsageError):
        CommitContext(**fields)  # type: ignore[arg-type]
