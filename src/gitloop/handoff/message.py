"""The commit message of an image handoff: a template with placeholders, then gitloop's trailers.

Placeholders (``str.format`` fields; ``{{`` and ``}}`` are literal braces):

=====================  ==========================================================
``{image}``            the new reference, ``registry/app:v2``
``{image_name}``       NAME of ``--image NAME=REF`` (an image name or a policy)
``{tag}``, ``{digest}``  parts of the new reference (empty when it has none)
``{file}``             the file edited, relative to the repository root
``{source_commit}``    the source commit the image was built from (full SHA)
``{source_commit_short}``  its first 12 characters
``{pipelinerun}``      the PipelineRun that built it
``{branch}``           the branch committed to
=====================  ==========================================================

Whatever the template says, the message ends with trailers git understands (``git
interpret-trailers``, ``%(trailers)``), so the lineage can be read back from the config repository::

    Gitloop-Image: registry/app:v2
    Gitloop-File: overlays/dev/kustomization.yaml
    Gitloop-Source-Commit: 0123456789abcdef0123456789abcdef01234567
    Gitloop-PipelineRun: build-abc12

A template whose last paragraph already is a trailer block (``Signed-off-by: ...``) gets these
appended to that block. The trailer names and their parser are :mod:`gitloop.model.trailers`, shared
with the lineage and the post-sync rules that read them back.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from gitloop.errors import UsageError
from gitloop.handoff.reference import split_image
from gitloop.model.trailers import (
    TRAILER_FILE,
    TRAILER_IMAGE,
    TRAILER_PIPELINERUN,
    TRAILER_SOURCE_COMMIT,
    is_trailer_block,
)

__all__ = [
    "DEFAULT_TEMPLATE",
    "PLACEHOLDERS",
    "CommitContext",
    "check_template",
    "render_message",
]

PLACEHOLDERS = (
    "image",
    "image_name",
    "tag",
    "digest",
    "file",
    "source_commit",
    "source_commit_short",
    "pipelinerun",
    "branch",
)
#: Used when no template is given; the second paragraph only says what is known.
DEFAULT_TEMPLATE = "Set {image_name} to {image} in {file}"

_SHA = re.compile(r"[0-9a-fA-F]{4,64}")
_SAFE_VALUE = re.compile(r"[^\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class CommitContext:
    """What a handoff commit is about."""

    image: str
    image_name: str
    file: str
    branch: str
    source_commit: str | None = None
    pipelinerun: str | None = None

    def __post_init__(self) -> None:
        if self.source_commit is not None and not _SHA.fullmatch(self.source_commit):
            raise UsageError(f"--source-commit {self.source_commit!r} is not a commit SHA")
        for name in ("image", "image_name", "file", "branch", "pipelinerun"):
            value = getattr(self, name)
            if value is not None and not _SAFE_VALUE.fullmatch(value):
                raise UsageError(f"{name} {value!r} must be one line of printable text")
        if self.pipelinerun is not None and len(self.pipelinerun) > 253:
            raise UsageError("--pipelinerun is longer than a Kubernetes name may be (253)")

    def fields(self) -> dict[str, str]:
        _, tag, digest = split_image(self.image)
        return {
            "image": self.image,
            "image_name": self.image_name,
            "tag": tag,
            "digest": digest,
            "file": self.file,
            "source_commit": self.source_commit or "",
            "source_commit_short": (self.source_commit or "")[:12],
            "pipelinerun": self.pipelinerun or "",
            "branch": self.branch,
        }

    def trailers(self) -> list[tuple[str, str]]:
        out = [(TRAILER_IMAGE, self.image), (TRAILER_FILE, self.file)]
        if self.source_commit:
            out.append((TRAILER_SOURCE_COMMIT, self.source_commit))
        if self.pipelinerun:
            out.append((TRAILER_PIPELINERUN, self.pipelinerun))
        return out


def check_template(template: str) -> None:
    """``UsageError`` unless every field of ``template`` is one of :data:`PLACEHOLDERS`."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise UsageError(f"--message {template!r}: {exc}") from exc
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in PLACEHOLDERS or spec or conversion:
            raise UsageError(
                f"--message: unknown placeholder {{{field}}}; use "
                + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
            )


def _default_body(ctx: CommitContext) -> str:
    if ctx.source_commit and ctx.pipelinerun:
        return f"Built from source commit {ctx.source_commit} by PipelineRun {ctx.pipelinerun}."
    if ctx.source_commit:
        return f"Built from source commit {ctx.source_commit}."
    if ctx.pipelinerun:
        return f"Built by PipelineRun {ctx.pipelinerun}."
    return ""


def render_message(template: str | None, ctx: CommitContext) -> str:
    """The full commit message: the rendered template (or the default) and the trailers."""
    if template is None:
        text = DEFAULT_TEMPLATE.format_map(ctx.fields())
        body = _default_body(ctx)
        text = f"{text}\n\n{body}" if body else text
    else:
        check_template(template)
        text = template.format_map(ctx.fields())
    text = "\n".join(line.rstrip() for line in text.strip().splitlines())
    if not text:
        raise UsageError("--message renders to an empty commit message")
    trailers = "\n".join(f"{key}: {value}" for key, value in ctx.trailers())
    last = text.rsplit("\n\n", 1)[-1]
    joiner = "\n" if "\n\n" in text and is_trailer_block(last) else "\n\n"
    return f"{text}{joiner}{trailers}\n"
