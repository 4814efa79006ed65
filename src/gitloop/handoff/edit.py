"""What an image edit is: the strategy that found the fields, each field's change, and the new text.

A strategy returns an :class:`EditPlan` (splices of the text, what they mean as assignments, and
the changes to report); :func:`gitloop.handoff.image.set_image` makes the splices, verifies them
and returns an :class:`ImageEdit`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from gitloop.handoff.yamltext import Assign, Splice

__all__ = ["EditPlan", "FieldChange", "ImageEdit", "Strategy"]


class Strategy(StrEnum):
    """How the fields to change were found."""

    #: A YAML path expression (``--path``).
    PATH = "path"
    #: A kustomization's ``images:`` entry, as ``kustomize edit set image``.
    KUSTOMIZE = "kustomize"
    #: Flux ``# {"$imagepolicy": "ns:name[:tag|:name|:digest]"}`` markers.
    SETTERS = "setters"
    #: Every ``image:`` field whose image name is NAME.
    IMAGE = "image"


@dataclass(frozen=True)
class FieldChange:
    """One field that changed: document index (0-based), yq path, 1-based line, old and new value
    (``None`` for a field added or removed)."""

    document: int
    field: str
    line: int
    old: str | None
    new: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "document": self.document,
            "field": self.field,
            "line": self.line,
            "old": self.old,
            "new": self.new,
        }


@dataclass
class EditPlan:
    """Splices to make, what they mean, and the changes to report; empty when nothing changes."""

    splices: list[Splice] = field(default_factory=list)
    assigns: list[Assign] = field(default_factory=list)
    changes: list[FieldChange] = field(default_factory=list)


@dataclass(frozen=True)
class ImageEdit:
    """The outcome of one edit of one file. ``text`` is the original when nothing changed."""

    file: str
    strategy: Strategy
    text: str
    changes: tuple[FieldChange, ...]

    @property
    def changed(self) -> bool:
        """Whether the file changes (an edit to the values it already has is no change)."""
        return bool(self.changes)
