"""The config commit of a promotion, through the handoff: every image of the source commit set in the
target stage's file (a YAML ``path``, or an ``overlay``'s ``kustomization.yaml``) in ONE commit, pushed
with the handoff's retries on concurrent pushes (``gitloop.handoff.land``), its message the promotion's
(``gitloop.promote.message``) followed by the handoff's ``Gitloop-Image``/``Gitloop-File`` trailers.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from gitloop.git import Credentials
from gitloop.git.worktree import Worktree, check_branch
from gitloop.handoff import HandoffPlan, ImageEdit, PushRetry, land, plan_handoff
from gitloop.handoff.reference import parse_reference
from gitloop.model.trailers import TRAILER_FILE, TRAILER_IMAGE
from gitloop.promote import Promotion
from gitloop.promote.message import promotion_message
from gitloop.service.handoff import WorktreeBranch, lock_directory
from gitloop.spec.gitloop_promotion import Stage


@dataclass(frozen=True)
class _ImageSet(HandoffPlan):
    """A handoff plan that sets several images in one edit, with the promotion's message."""

    more: tuple[HandoffPlan, ...] = ()
    text: str = ""

    def edit(self, text: str, file: str) -> ImageEdit:
        edits = [super().edit(text, file)]
        for plan in self.more:
            edits.append(plan.edit(edits[-1].text, file))
        changes = tuple(change for edit in edits for change in edit.changes)
        return ImageEdit(file, edits[0].strategy, edits[-1].text, changes)

    def message(self, file: str, branch: str) -> str:
        images = "\n".join(f"{TRAILER_IMAGE}: {p.image}" for p in (self, *self.more))
        return f"{self.text.rstrip()}\n{images}\n{TRAILER_FILE}: {file}\n"


def stage_file(stage: Stage) -> str:
    """The file a stage's images are written to."""
    if stage.image.path:
        return stage.image.path
    return f"{stage.image.overlay.rstrip('/')}/kustomization.yaml"


def image_updates(promotion: Promotion, upstream: Stage, target: Stage) -> list[str]:
    """``NAME=REF`` for each image: the upstream stage's image goes by the target stage's ``image.name``
    (so does a single image), any other by its own name."""
    updates = []
    for image in promotion.images:
        ref = parse_reference(image, what=f"image of promotion {promotion.id}")
        mine = ref.name == upstream.image.name or len(promotion.images) == 1
        updates.append(f"{target.image.name if mine else ref.name}={image}")
    return updates


def land_promotion(
    promotion: Promotion,
    upstream: Stage,
    target: Stage,
    *,
    repo: str,
    branch: str,
    credentials: Credentials | None,
    retry: PushRetry | None = None,
) -> str | None:
    """Push the promotion's commit to ``branch`` of ``repo``; its SHA (``None``: the stage already had
    every image, nothing to commit). ``GitError`` when the push keeps being refused."""
    file = stage_file(target)
    plans = [plan_handoff(file=file, image=update) for update in image_updates(promotion, upstream, target)]
    first = plans[0]
    plan = _ImageSet(
        first.update,
        first.expression,
        first.image,
        first.image_name,
        more=tuple(plans[1:]),
        text=promotion_message(promotion),
    )
    with tempfile.TemporaryDirectory(prefix="gitloop-promotion-") as tmp:
        worktree = Worktree.clone(repo, Path(tmp) / "repo", credentials=credentials)
        name = worktree.default_branch() if branch in ("", "HEAD") else check_branch(branch)
        config = WorktreeBranch(worktree, name, locks=lock_directory())
        result = land(config, plan, file, retry=retry or PushRetry())
    return result.commit
