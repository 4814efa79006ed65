"""The config commit of a promotion, through the handoff: every image of the source commit set in the
target stage's files (a YAML ``path``, an ``overlay``'s ``kustomization.yaml``, or for ``overlay:
fromApplication`` each of the stage's Applications' own ``spec.source.path`` kustomization) in ONE
commit, pushed with the handoff's retries on concurrent pushes (``gitloop.handoff.land``), its message
the promotion's (``gitloop.promote.message``) followed by the handoff's ``Gitloop-Image`` trailers and
one ``Gitloop-File`` per file.

The handoff lands one file; several land as one: ``_FilesBranch`` shows the landing the files as one
JSON document (``{file: text}``) that ``_FilesPlan`` edits file by file, and commits it as one commit
on the fetched tip (the files' commits made one after the other, then their tree committed once on the
tip), so the retries, turns and "no change, no commit" are the handoff's own.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from gitloop.errors import SpecError
from gitloop.git import Credentials
from gitloop.git import command as git_command
from gitloop.git.worktree import Worktree, check_branch
from gitloop.handoff import HandoffPlan, ImageEdit, PushRetry, land, plan_handoff
from gitloop.handoff.reference import parse_reference
from gitloop.model.trailers import TRAILER_FILE, TRAILER_IMAGE
from gitloop.promote import Promotion
from gitloop.promote.message import promotion_message
from gitloop.service.handoff import WorktreeBranch, lock_directory
from gitloop.spec.gitloop_promotion import Stage
from gitloop.spec.yaml import load_json


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
        return self.message_of((file,))

    def message_of(self, files: Sequence[str]) -> str:
        images = "\n".join(f"{TRAILER_IMAGE}: {p.image}" for p in (self, *self.more))
        written = "\n".join(f"{TRAILER_FILE}: {file}" for file in files)
        return f"{self.text.rstrip()}\n{images}\n{written}\n"


@dataclass(frozen=True)
class _FilesPlan(HandoffPlan):
    """``images`` set in each file of a ``_FilesBranch`` document, one edit of them all."""

    images: _ImageSet | None = None
    files: tuple[str, ...] = ()

    def edit(self, text: str, file: str) -> ImageEdit:
        assert self.images is not None
        texts = _texts(text, file)
        edits = [self.images.edit(texts[name], name) for name in self.files]
        changes = tuple(change for edit in edits for change in edit.changes)
        after = json.dumps({edit.file: edit.text for edit in edits})
        return ImageEdit(file, edits[0].strategy, after, changes)

    def message(self, file: str, branch: str) -> str:
        assert self.images is not None
        return self.images.message_of(self.files)


@dataclass(frozen=True)
class _FilesBranch:
    """A ``WorktreeBranch`` whose ``files`` read and commit as one document (see the module)."""

    branch: WorktreeBranch
    files: tuple[str, ...]

    @property
    def where(self) -> str:
        return self.branch.where

    @property
    def name(self) -> str:
        return self.branch.name

    @property
    def remote(self) -> bool:
        return self.branch.remote

    def turn(self) -> AbstractContextManager[None]:
        return self.branch.turn()

    def fetch(self) -> str:
        return self.branch.fetch()

    def push(self, commit: str, *, parent: str) -> None:
        self.branch.push(commit, parent=parent)

    def read_file(self, commit: str, file: str) -> tuple[bytes, str] | None:
        texts = {}
        for name in self.files:
            found = self.branch.read_file(commit, name)
            if found is None:
                raise SpecError(
                    f"not found in branch {self.name} of {self.where} (commit {commit[:12]})", file=name
                )
            try:
                texts[name] = found[0].decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SpecError(f"is not UTF-8 text: {exc}", file=name) from exc
        return json.dumps(texts).encode("utf-8"), "100644"

    def commit_file(self, base: str, file: str, content: bytes, *, message: str, mode: str) -> str | None:
        texts = _texts(content.decode("utf-8"), file)
        tip = base
        for name in self.files:
            found = self.branch.read_file(base, name)
            wanted = texts[name].encode("utf-8")
            if found is not None and found[0] == wanted:
                continue
            made = self.branch.commit_file(
                tip, name, wanted, message=message, mode=found[1] if found else mode
            )
            tip = made or tip
        if tip == base:
            return None
        return self._squash(tip, base, message)

    def _squash(self, tip: str, base: str, message: str) -> str:
        """One commit on ``base`` with ``tip``'s tree."""
        author, committer = self.branch.author, self.branch.committer or self.branch.author
        env = {
            **git_command.base_environment(),
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_COMMITTER_NAME": committer.name,
            "GIT_COMMITTER_EMAIL": committer.email,
        }
        sign = (
            [*self.branch.signing.git_options(), "commit-tree", "-S"]
            if self.branch.signing
            else ["commit-tree"]
        )
        _, out = git_command.run(
            [*sign, f"{tip}^{{tree}}", "-p", base, "-F", "-"],
            env=env,
            what="git commit-tree",
            cwd=self.branch.worktree.path,
            input=message.encode("utf-8"),
        )
        return out.decode().strip()


def _texts(text: str, file: str) -> dict[str, str]:
    texts = load_json(text, source=file)
    assert isinstance(texts, dict)
    return {str(name): str(body) for name, body in texts.items()}


def stage_file(stage: Stage) -> str:
    """The file a stage's images are written to (a literal ``path`` or ``overlay``)."""
    if stage.image.path:
        return stage.image.path
    return _kustomization(stage.image.overlay)


def stage_files(stage: Stage, application_paths: Sequence[str]) -> list[str]:
    """The files a promotion into ``stage`` writes: for ``overlay: fromApplication`` the kustomization of
    each of its Applications' ``spec.source.path`` (``application_paths``), else the stage's one file."""
    if not stage.image.from_application:
        return [stage_file(stage)]
    return list(dict.fromkeys(_kustomization(path) for path in application_paths))


def _kustomization(directory: str) -> str:
    inside = directory.strip().strip("/")
    return "kustomization.yaml" if inside in ("", ".") else f"{inside}/kustomization.yaml"


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
    files: Sequence[str] = (),
) -> str | None:
    """Push the promotion's commit to ``branch`` of ``repo``, setting the images in ``files`` (default:
    the target stage's one file); its SHA (``None``: every file already had every image, nothing to
    commit). ``GitError`` when the push keeps being refused."""
    written = tuple(files) or (stage_file(target),)
    file = written[0]
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
        if len(written) == 1:
            result = land(config, plan, file, retry=retry or PushRetry())
        else:
            several = _FilesPlan(
                plan.update, plan.expression, plan.image, plan.image_name, images=plan, files=written
            )
            result = land(
                _FilesBranch(config, written), several, " + ".join(written), retry=retry or PushRetry()
            )
    return result.commit
