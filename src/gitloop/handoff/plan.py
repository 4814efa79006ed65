"""The plan of an image handoff: the request checked before any git command runs, and the edit and
commit message it makes on whatever text the config branch holds at the time."""

from __future__ import annotations

from dataclasses import dataclass

from gitloop.errors import UsageError
from gitloop.handoff.edit import ImageEdit
from gitloop.handoff.image import set_image
from gitloop.handoff.message import CommitContext, check_template, render_message
from gitloop.handoff.reference import ImageUpdate, parse_image_update, parse_reference
from gitloop.handoff.yamlpath import PathExpression, parse_expression

__all__ = ["HandoffPlan", "plan_handoff"]


@dataclass(frozen=True)
class HandoffPlan:
    """What to set (an image update, a path expression, or both) and what the commit will say."""

    update: ImageUpdate | None
    expression: PathExpression | None
    image: str
    """The new image reference, ``registry/app:v2``."""
    image_name: str
    """NAME of ``--image NAME=REF`` (or the image name of the value a path assigns)."""
    template: str | None = None
    source_commit: str | None = None
    pipelinerun: str | None = None

    def edit(self, text: str, file: str) -> ImageEdit:
        """The pure edit of ``text`` (the content of ``file``)."""
        return set_image(text, self.update, file=file, path=self.expression)

    def message(self, file: str, branch: str) -> str:
        """The commit message (template or default, then gitloop's trailers)."""
        context = CommitContext(
            self.image, self.image_name, file, branch, self.source_commit, self.pipelinerun
        )
        return render_message(self.template, context)


def plan_handoff(
    *,
    file: str,
    image: str | None,
    path: str | None = None,
    message: str | None = None,
    branch: str | None = None,
    source_commit: str | None = None,
    pipelinerun: str | None = None,
) -> HandoffPlan:
    """Check a handoff request (``UsageError``/``SpecError`` for bad input). ``image`` is
    ``NAME=REF``; it may be left out when ``path`` assigns a value. ``branch`` (``None`` when not yet
    known) and ``file`` only feed the check of the commit context."""
    update = parse_image_update(image) if image else None
    expression = parse_expression(path) if path else None
    if update is not None:
        new, name = update.reference, update.name
    elif expression is not None and expression.value is not None:
        ref = parse_reference(expression.value, what=f"the value of --path {path!r}")
        new, name = str(ref), ref.name
    else:
        raise UsageError('--image NAME=REF is needed (or a --path that assigns: <path> = "<value>")')
    if message is not None:
        check_template(message)
    CommitContext(new, name, file, branch or "main", source_commit, pipelinerun)
    return HandoffPlan(update, expression, new, name, message, source_commit, pipelinerun)
