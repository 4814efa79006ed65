"""The image handoff engine: the pure edit that puts a new image reference into a config repository's
YAML (a yq-style path, a kustomization's ``images:``, Flux ``$imagepolicy`` setters), the commit
message that records where the image came from, the plan that checks a request, and the landing of
the commit on a branch with retries while other writers push first.

Layer 3 (engines): the git behind a branch is the :class:`ConfigBranch` port, implemented over a
worktree by the composition layer (:mod:`gitloop.service.handoff`); nothing here imports an adapter
or runs a process.
"""

from __future__ import annotations

from gitloop.handoff.edit import FieldChange, ImageEdit, Strategy
from gitloop.handoff.image import detect_strategy, set_image
from gitloop.handoff.landing import MAX_ATTEMPTS, BranchMoved, ConfigBranch, HandoffResult, PushRetry, land
from gitloop.handoff.message import CommitContext, check_template, render_message
from gitloop.handoff.plan import HandoffPlan, plan_handoff
from gitloop.handoff.reference import ImageRef, ImageUpdate, parse_image_update, parse_reference
from gitloop.handoff.yamlpath import PathExpression, parse_expression

__all__ = [
    "MAX_ATTEMPTS",
    "BranchMoved",
    "CommitContext",
    "ConfigBranch",
    "FieldChange",
    "HandoffPlan",
    "HandoffResult",
    "ImageEdit",
    "ImageRef",
    "ImageUpdate",
    "PathExpression",
    "PushRetry",
    "Strategy",
    "check_template",
    "detect_strategy",
    "land",
    "parse_expression",
    "parse_image_update",
    "parse_reference",
    "plan_handoff",
    "render_message",
    "set_image",
]
