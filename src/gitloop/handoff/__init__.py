"""The image handoff engine: the pure edit that puts a new image reference into a config repository's
YAML (a yq-style path, a kustomization's ``images:``, Flux ``$imagepolicy`` setters), and the commit
message that records where the image came from.

Layer 3 (engines): string in, string out. Git I/O is the composition layer's
(:mod:`gitloop.service.handoff`); nothing here imports an adapter or runs a process.
"""

from __future__ import annotations

from gitloop.handoff.edit import FieldChange, ImageEdit, Strategy
from gitloop.handoff.image import detect_strategy, set_image
from gitloop.handoff.message import CommitContext, check_template, render_message
from gitloop.handoff.reference import ImageRef, ImageUpdate, parse_image_update, parse_reference
from gitloop.handoff.yamlpath import PathExpression, parse_expression

__all__ = [
    "CommitContext",
    "FieldChange",
    "ImageEdit",
    "ImageRef",
    "ImageUpdate",
    "PathExpression",
    "Strategy",
    "check_template",
    "detect_strategy",
    "parse_expression",
    "parse_image_update",
    "parse_reference",
    "render_message",
    "set_image",
]
