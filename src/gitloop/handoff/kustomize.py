"""A kustomization's ``images:`` entry, set the way ``kustomize edit set image`` sets it.

Kustomize v5's rules (``kustomize/commands/edit/set/setimage.go``):

* ``NAME=NEWNAME[:TAG][@DIGEST]`` gives the entry ``name: NAME`` the fields ``newName``, ``newTag``
  and ``digest`` it names; ``NAME:TAG``, ``NAME@DIGEST`` and ``NAME:TAG@DIGEST`` give no ``newName``;
  a bare ``NAME`` is refused;
* the entry of that name is replaced as a whole: a field the argument does not give is removed,
  unless the argument says ``*`` for it (``app=*:v2`` keeps ``newName``, sets ``newTag``);
* an image not listed yet gets a new entry.

Unlike kustomize, which sorts ``images:`` by name and rewrites the whole file, entries keep their
order (a new one goes last), other keys of an entry are kept, and only the changed lines change.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gitloop.errors import SpecError, UsageError
from gitloop.handoff.edit import EditPlan, FieldChange
from gitloop.handoff.reference import ImageUpdate
from gitloop.handoff.yamltext import (
    Assign,
    Splice,
    YamlText,
    content_end,
    line_end,
    line_start,
    mapping_get,
    render_scalar,
    scalar_span,
)

__all__ = ["FIELDS", "is_kustomization", "kustomize_entry", "plan_kustomize"]

#: The fields of an ``images:`` entry, in kustomize's order.
FIELDS = ("name", "newName", "newTag", "digest")
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_KEEP = "*"
_DASH = re.compile(r"[ \t]*-[ \t]+")


def is_kustomization(doc: YamlText) -> bool:
    """Whether the file is a kustomization: by its name, or by ``kind: Kustomization`` of kustomize."""
    if PurePosixPath(doc.file).name in KUSTOMIZATION_FILES:
        return True
    roots = [r for r in doc.documents if r is not None]
    if len(roots) != 1:
        return False
    kind, api = mapping_get(roots[0], "kind"), mapping_get(roots[0], "apiVersion")
    return (
        kind is not None
        and kind[1].value == "Kustomization"
        and api is not None
        and str(api[1].value).startswith("kustomize.config.k8s.io/")
    )


def kustomize_entry(update: ImageUpdate) -> dict[str, str]:
    """The ``images:`` entry ``kustomize edit set image`` makes of ``update`` (``*`` kept as is)."""
    ref = update.ref
    if update.explicit:
        entry = {"name": update.name, "newName": ref.name}
    elif ref.tag or ref.digest:
        entry = {"name": ref.name}
    else:
        raise UsageError(
            f"--image {update}: a kustomization needs NAME=NEWNAME[:TAG][@DIGEST], NAME:TAG or NAME@DIGEST"
        )
    if ref.tag:
        entry["newTag"] = ref.tag
    if ref.digest:
        entry["digest"] = ref.digest
    return entry


def _merged(wanted: dict[str, str], existing: dict[str, str]) -> dict[str, str]:
    out = {"name": wanted["name"]}
    for key in FIELDS[1:]:
        value = existing.get(key, "") if wanted.get(key) == _KEEP else wanted.get(key, "")
        if value:
            out[key] = value
    return out


class _Editor:
    """Builds the plan for one kustomization document."""

    def __init__(self, doc: YamlText, number: int, root: MappingNode) -> None:
        self.doc, self.text, self.number, self.root = doc, doc.text, number, root
        self.plan = EditPlan()
        self.eol = "\r\n" if "\r\n" in self.text else "\n"

    def fail(self, message: str, field: str = ".images") -> SpecError:
        return SpecError(message, file=self.doc.file, field=field)

    def change(self, field: str, node: Node, old: str | None, new: str | None) -> None:
        self.plan.changes.append(FieldChange(self.number, field, node.start_mark.line + 1, old, new))

    def block(self, entry: dict[str, str], dash: str, key_indent: str) -> str:
        lines = [f"{key}: {render_scalar(value)}" for key, value in entry.items()]
        eol = self.eol
        return f"{dash}- " + "".join(line + eol + key_indent for line in lines[:-1]) + lines[-1] + eol

    def insert_at(self, index: int, text: str) -> None:
        if index == len(self.text) and self.text and not self.text.endswith("\n"):
            text = self.eol + text
        self.plan.splices.append(Splice(index, index, text))

    def sequence_indent(self) -> int:
        """How far this file indents a block list under its key (``0`` as kustomize writes it)."""
        for key_node, value in self.root.value:
            if isinstance(value, SequenceNode) and not value.flow_style and value.value:
                first = value.value[0]
                dash = self.text.rfind(
                    "-", line_start(self.text, first.start_mark.index), first.start_mark.index
                )
                return max(0, dash - line_start(self.text, dash) - int(key_node.start_mark.column))
        return 0

    # -- the list -----------------------------------------------------------------------------------

    def add_images_key(self, entry: dict[str, str]) -> None:
        col = self.root.start_mark.column
        dash = " " * (col + self.sequence_indent())
        body = f"{' ' * col}images:{self.eol}" + self.block(entry, dash, dash + "  ")
        self.insert_at(line_end(self.text, content_end(self.root) - 1), body)
        self.plan.assigns.append(Assign(self.number, ("images",), [entry]))
        self.change(".images[0]", self.root, None, _describe(entry))

    def fill_empty(self, key: ScalarNode, value: Node, entry: dict[str, str]) -> None:
        """``images:`` with no value, ``~``/``null`` or ``[]``: the value becomes a block list."""
        colon = self.text.index(":", key.end_mark.index)
        if not (isinstance(value, ScalarNode) and value.value == ""):  # ``~``, ``null``, ``[]``
            self.plan.splices.append(Splice(colon + 1, int(value.end_mark.index), ""))
        dash = " " * (key.start_mark.column + self.sequence_indent())
        self.insert_at(line_end(self.text, colon), self.block(entry, dash, dash + "  "))
        self.plan.assigns.append(Assign(self.number, ("images",), [entry]))
        self.change(".images[0]", key, None, _describe(entry))

    def append(self, images: SequenceNode, entry: dict[str, str]) -> None:
        position = len(images.value)
        field = f".images[{position}]"
        if images.flow_style:
            close = self.text.rindex("]", 0, images.end_mark.index)
            last = len(self.text[:close].rstrip())
            pairs = ", ".join(f"{k}: {render_scalar(v)}" for k, v in entry.items())
            self.plan.splices.append(Splice(last, last, f", {{{pairs}}}"))
        else:
            first = images.value[0]
            dash_at = self.text.rfind(
                "-", line_start(self.text, first.start_mark.index), first.start_mark.index
            )
            dash = " " * (dash_at - line_start(self.text, dash_at))
            key_indent = " " * first.start_mark.column if isinstance(first, MappingNode) else dash + "  "
            self.insert_at(line_end(self.text, content_end(images) - 1), self.block(entry, dash, key_indent))
        self.plan.assigns.append(Assign(self.number, ("images", position), entry))
        self.change(field, images, None, _describe(entry))

    # -- one entry ----------------------------------------------------------------------------------

    def update(self, index: int, node: MappingNode, wanted: dict[str, str]) -> None:
        fields: dict[str, tuple[ScalarNode, Node]] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value in FIELDS:
                fields[key_node.value] = (key_node, value_node)
        existing = {k: str(v.value) for k, (_, v) in fields.items() if isinstance(v, ScalarNode)}
        new = _merged(wanted, existing)
        at = f".images[{index}]"
        if existing == new:
            return
        simple = not node.flow_style and all(isinstance(v, ScalarNode) for _, v in fields.values())
        removed = [k for k in fields if k not in new]
        if simple and any(self.on_dash_line(fields[k][0]) for k in removed):
            simple = False
        if not simple:
            self.rewrite(index, node, fields, new)
        else:
            self.edit_lines(node, fields, new)
        for key in FIELDS[1:]:
            old, value = existing.get(key), new.get(key)
            if old != value:
                self.change(f"{at}.{key}", fields[key][1] if key in fields else node, old, value)
                path = ("images", index, key)
                self.plan.assigns.append(
                    Assign(self.number, path, delete=True)
                    if value is None
                    else Assign(self.number, path, value)
                )

    def on_dash_line(self, key: ScalarNode) -> bool:
        before = self.text[line_start(self.text, key.start_mark.index) : key.start_mark.index]
        return bool(_DASH.fullmatch(before))

    def edit_lines(
        self, node: MappingNode, fields: dict[str, tuple[ScalarNode, Node]], new: dict[str, str]
    ) -> None:
        indent = " " * node.start_mark.column
        for key, (key_node, value_node) in fields.items():
            assert isinstance(value_node, ScalarNode)
            where = f".images.{key}"
            if key not in new:
                end = line_end(self.text, content_end(value_node) - 1)
                self.plan.splices.append(Splice(line_start(self.text, key_node.start_mark.index), end, ""))
            elif str(value_node.value) != new[key]:
                start, end = scalar_span(value_node, self.text, file=self.doc.file, field=where)
                self.plan.splices.append(Splice(start, end, render_scalar(new[key], value_node.style)))
        for key in FIELDS[1:]:
            if key in new and key not in fields:
                before = [fields[k][1] for k in FIELDS[: FIELDS.index(key)] if k in fields and k in new]
                anchor = max(before, key=lambda n: int(n.end_mark.index), default=None)
                if anchor is None:
                    anchor = node.value[0][1]
                at = line_end(self.text, content_end(anchor) - 1)
                self.insert_at(at, f"{indent}{key}: {render_scalar(new[key])}{self.eol}")

    def rewrite(
        self, index: int, node: MappingNode, fields: dict[str, tuple[ScalarNode, Node]], new: dict[str, str]
    ) -> None:
        """Write the whole entry again (a flow mapping, or a field to drop on the ``-`` line)."""
        others = [k.value for k, _ in node.value if not (isinstance(k, ScalarNode) and k.value in FIELDS)]
        if others or any(not isinstance(v, ScalarNode) for _, v in fields.values()):
            raise self.fail(
                f"cannot rewrite this entry (it has {', '.join(map(str, others)) or 'nested values'}); "
                "edit it by hand",
                f".images[{index}]",
            )
        if node.flow_style:
            pairs = ", ".join(f"{k}: {render_scalar(v)}" for k, v in new.items())
            self.plan.splices.append(
                Splice(int(node.start_mark.index), int(node.end_mark.index), f"{{{pairs}}}")
            )
            return
        indent = self.eol + " " * node.start_mark.column
        body = indent.join(f"{k}: {render_scalar(v)}" for k, v in new.items())
        end = line_end(self.text, content_end(node) - 1)
        self.plan.splices.append(Splice(int(node.start_mark.index), end, body + self.eol))


def _describe(entry: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in entry.items())


def plan_kustomize(doc: YamlText, update: ImageUpdate) -> EditPlan:
    """Set the ``images:`` entry ``update`` names in the kustomization ``doc``."""
    wanted = kustomize_entry(update)
    roots = [(i, r) for i, r in enumerate(doc.documents) if r is not None]
    if len(roots) != 1 or not isinstance(roots[0][1], MappingNode) or roots[0][1].flow_style:
        raise SpecError("is not a kustomization (one block mapping)", file=doc.file)
    number, root = roots[0]
    assert isinstance(root, MappingNode)
    editor = _Editor(doc, number, root)
    found = mapping_get(root, "images")
    if found is None:
        editor.add_images_key(_merged(wanted, {}))
        return editor.plan
    key, images = found
    if isinstance(images, ScalarNode) and str(images.tag).endswith(":null"):
        editor.fill_empty(key, images, _merged(wanted, {}))
        return editor.plan
    if not isinstance(images, SequenceNode):
        raise editor.fail("is not a list")
    if not images.value and images.flow_style:
        editor.fill_empty(key, images, _merged(wanted, {}))
        return editor.plan
    for index, item in enumerate(images.value):
        name = mapping_get(item, "name")
        if name is not None and isinstance(name[1], ScalarNode) and name[1].value == wanted["name"]:
            if not isinstance(item, MappingNode):  # pragma: no cover - mapping_get found a key
                raise editor.fail("is not a mapping", f".images[{index}]")
            editor.update(index, item, wanted)
            return editor.plan
    editor.append(images, _merged(wanted, {}))
    return editor.plan
