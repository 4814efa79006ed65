"""Flux image policy markers: ``# {"$imagepolicy": "<namespace>:<policy>"}`` on a field's line.

As in Flux's image-automation-controller (kyaml setters under the ``$imagepolicy`` shorthand), the
marker names what the field holds:

* ``ns:policy`` — the whole reference (``name:tag``, ``name@digest`` or ``name:tag@digest``);
* ``ns:policy:tag`` — the tag; ``ns:policy:name`` — the name; ``ns:policy:digest`` — the digest.

The handoff's ``NAME`` picks the policy: either the policy itself (``flux-system:app``) or an image
name that a whole-reference or ``:name`` field of the policy holds now. Every field marked for the
picked policies is set; the marker comments stay as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ruamel.yaml.nodes import ScalarNode

from gitloop.errors import SpecError, UsageError
from gitloop.handoff.edit import EditPlan, FieldChange
from gitloop.handoff.reference import ImageUpdate, split_image
from gitloop.handoff.yamltext import (
    Assign,
    Path,
    Splice,
    YamlText,
    format_path,
    line_end,
    render_scalar,
    scalar_span,
    walk,
)
from gitloop.spec.yaml import load_json

__all__ = ["MARKER_KEY", "Marker", "find_markers", "plan_setters"]

MARKER_KEY = "$imagepolicy"
PARTS = ("tag", "name", "digest")
_COMMENT = re.compile(r"[ \t]+#[ \t]*(\{.*\})[ \t]*\r?\n?")


@dataclass(frozen=True)
class Marker:
    """A marked field: the policy (``ns:name``), the part it holds (``""`` for the whole reference)."""

    policy: str
    part: str
    node: ScalarNode
    document: int
    path: Path

    @property
    def setter(self) -> str:
        return f"{self.policy}:{self.part}" if self.part else self.policy


def _parse_marker(comment: str) -> tuple[str, str] | None:
    try:
        data = load_json(comment, source="a setter comment")
    except (ValueError, SpecError):
        return None
    value = data.get(MARKER_KEY) if isinstance(data, dict) else None
    if not isinstance(value, str) or not value.strip():
        return None
    parts = value.strip().split(":")
    if len(parts) == 3 and parts[2] in PARTS:
        return f"{parts[0]}:{parts[1]}", parts[2]
    return value.strip(), ""


def find_markers(doc: YamlText) -> list[Marker]:
    """Every scalar field with an ``$imagepolicy`` marker as its line comment, in file order."""
    if f'"{MARKER_KEY}"' not in doc.text:  # as Flux screens files
        return []
    found: list[Marker] = []
    for number, root in enumerate(doc.documents):
        for node, path in walk(root):
            if not path or not isinstance(node, ScalarNode):
                continue
            end = int(node.end_mark.index)
            match = _COMMENT.fullmatch(doc.text, end, line_end(doc.text, end))
            parsed = _parse_marker(match[1]) if match else None
            if parsed is not None:
                found.append(Marker(parsed[0], parsed[1], node, number, path))
    return found


def _selected(markers: list[Marker], update: ImageUpdate) -> set[str]:
    picked = {m.policy for m in markers if m.policy == update.name}
    for m in markers:
        holds = (
            split_image(str(m.node.value))[0] if m.part == "" else m.node.value if m.part == "name" else None
        )
        if holds == update.name:
            picked.add(m.policy)
    return picked


def _value(marker: Marker, update: ImageUpdate, file: str) -> str:
    ref = update.ref
    if marker.part == "":
        return str(ref)
    value = {"tag": ref.tag, "name": ref.name, "digest": ref.digest}[marker.part]
    if not value:
        raise UsageError(
            f"{file}: the field {format_path(marker.path)} is marked {marker.setter!r} but --image "
            f"{update} has no {marker.part}"
        )
    return value


def plan_setters(doc: YamlText, markers: list[Marker], update: ImageUpdate) -> EditPlan:
    """Set every field marked for the policy ``update`` names (see the module documentation)."""
    if update.ref.keeps_any:
        raise UsageError(f"--image {update}: '*' (keep the old value) applies to kustomization images only")
    policies = _selected(markers, update)
    if not policies:
        listed = ", ".join(sorted({m.policy for m in markers}))
        raise SpecError(
            f"no $imagepolicy marker for {update.name!r} (the file marks {listed}); give NAME as a "
            "policy namespace:name or as the image name a marked field holds",
            file=doc.file,
            field=update.name,
        )
    plan = EditPlan()
    seen: set[int] = set()
    for marker in markers:
        if marker.policy not in policies or id(marker.node) in seen:
            continue
        seen.add(id(marker.node))
        new, old = _value(marker, update, doc.file), str(marker.node.value)
        if new == old:
            continue
        where = format_path(marker.path)
        start, end = scalar_span(marker.node, doc.text, file=doc.file, field=where)
        plan.splices.append(Splice(start, end, render_scalar(new, marker.node.style)))
        plan.assigns.append(Assign(marker.document, marker.path, new))
        plan.changes.append(FieldChange(marker.document, where, marker.node.start_mark.line + 1, old, new))
    return plan
