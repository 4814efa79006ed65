"""Set an image in a YAML file: the pure edit at the heart of the image handoff (string in, string out).

:func:`set_image` picks how to find the fields, unless told (:class:`Strategy`):

1. ``path`` given — the fields a yq-style path expression names (:mod:`gitloop.handoff.yamlpath`);
   the value is ``REF``, or the expression's own ``= "VALUE"``;
2. the file has Flux ``$imagepolicy`` markers — the fields marked for ``NAME``
   (:mod:`gitloop.handoff.setters`);
3. the file is a kustomization — its ``images:`` entry for ``NAME``, as ``kustomize edit set image``
   (:mod:`gitloop.handoff.kustomize`);
4. otherwise — every ``image:`` field (containers, initContainers, Tekton steps, ...) whose image
   name is ``NAME`` becomes ``REF``.

Only the changed values change in the text (:mod:`gitloop.handoff.yamltext`); setting the value a
field already has is no change. A field that is not there is a ``SpecError`` naming file and field;
a bad argument is a ``UsageError``.
"""

from __future__ import annotations

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from gitloop.errors import SpecError, UsageError
from gitloop.handoff.edit import EditPlan, FieldChange, ImageEdit, Strategy
from gitloop.handoff.kustomize import is_kustomization, plan_kustomize
from gitloop.handoff.reference import ImageUpdate, parse_reference, split_image
from gitloop.handoff.setters import find_markers, plan_setters
from gitloop.handoff.yamlpath import PathExpression, parse_expression, select
from gitloop.handoff.yamltext import (
    Assign,
    Path,
    Splice,
    YamlText,
    apply_splices,
    format_path,
    is_string,
    render_scalar,
    scalar_span,
    verify,
    walk,
)

__all__ = ["detect_strategy", "set_image"]

_BOM = "\ufeff"


def _where(document: int, path: Path, count: int) -> str:
    field = format_path(path)
    return f"{field} (document {document + 1})" if count > 1 else field


def _set_scalars(doc: YamlText, hits: list[tuple[int, Node, Path]], value: str) -> EditPlan:
    plan = EditPlan()
    seen: set[int] = set()
    count = len(doc.documents)
    for number, node, path in hits:
        where = _where(number, path, count)
        if not isinstance(node, ScalarNode):
            kind = "mapping" if isinstance(node, MappingNode) else "list"
            raise SpecError(f"is a {kind}, not a value", file=doc.file, field=where)
        if id(node) in seen:
            continue
        seen.add(id(node))
        old = str(node.value)
        if old == value and is_string(node):
            continue
        start, end = scalar_span(node, doc.text, file=doc.file, field=where)
        plan.splices.append(Splice(start, end, render_scalar(value, node.style)))
        plan.assigns.append(Assign(number, path, value))
        plan.changes.append(FieldChange(number, format_path(path), node.start_mark.line + 1, old, value))
    return plan


def _plan_path(doc: YamlText, expression: PathExpression, value: str) -> EditPlan:
    hits = [
        (number, node, path)
        for number, root in enumerate(doc.documents)
        for node, path in select(root, expression.steps)
    ]
    if not hits:
        raise SpecError("not found in any document of the file", file=doc.file, field=str(expression))
    return _set_scalars(doc, hits, value)


def _plan_images(doc: YamlText, update: ImageUpdate) -> EditPlan:
    if update.ref.keeps_any:
        raise UsageError(f"--image {update}: '*' (keep the old value) applies to kustomization images only")
    hits: list[tuple[int, Node, Path]] = []
    names: set[str] = set()
    for number, root in enumerate(doc.documents):
        for node, path in walk(root):
            if path and path[-1] == "image" and is_string(node):
                name = split_image(str(node.value))[0]
                names.add(name)
                if name == update.name:
                    hits.append((number, node, path))
    if not hits:
        found = ", ".join(sorted(names)) or "none"
        raise SpecError(
            f"no image named {update.name!r} in the file (images found: {found}); give NAME as the image "
            "name without tag, or --path",
            file=doc.file,
            field=update.name,
        )
    return _set_scalars(doc, hits, update.reference)


def detect_strategy(doc: YamlText, *, path: bool) -> Strategy:
    """How :func:`set_image` finds the fields of ``doc`` when not told (see the module documentation)."""
    if path:
        return Strategy.PATH
    if find_markers(doc):
        return Strategy.SETTERS
    if is_kustomization(doc):
        return Strategy.KUSTOMIZE
    return Strategy.IMAGE


def _path_value(expression: PathExpression, update: ImageUpdate | None) -> str:
    if update is not None and update.ref.keeps_any:
        raise UsageError(f"--image {update}: '*' (keep the old value) applies to kustomization images only")
    if expression.value is None:
        if update is None:
            raise UsageError(
                f'--path {expression.text!r} needs --image, or an assignment: <path> = "<value>"'
            )
        return update.reference
    if update is not None and update.reference != expression.value:
        raise UsageError(
            f"--image {update} and --path {expression.text!r} name different values; give one of them"
        )
    if update is None:
        parse_reference(expression.value, what=f"the value of --path {expression.text!r}")
    return expression.value


def set_image(
    text: str,
    update: ImageUpdate | None,
    *,
    file: str,
    path: PathExpression | str | None = None,
    strategy: Strategy | None = None,
) -> ImageEdit:
    """Set the image ``update`` names in the YAML ``text`` of ``file`` (used in messages, and to tell
    a kustomization by its name). ``update`` may be ``None`` only with a path that assigns a value."""
    expression = parse_expression(path) if isinstance(path, str) else path
    bom = text.startswith(_BOM)
    body = text[1:] if bom else text
    doc = YamlText.parse(body, file=file)
    chosen = strategy or detect_strategy(doc, path=expression is not None)
    if chosen is Strategy.PATH:
        if expression is None:
            raise UsageError("the path strategy needs --path")
        plan = _plan_path(doc, expression, _path_value(expression, update))
    elif update is None:
        raise UsageError("--image NAME=REF is needed (or --path with an assignment)")
    elif chosen is Strategy.SETTERS:
        plan = plan_setters(doc, find_markers(doc), update)
    elif chosen is Strategy.KUSTOMIZE:
        plan = plan_kustomize(doc, update)
    else:
        plan = _plan_images(doc, update)
    if not plan.changes:
        return ImageEdit(file, chosen, text, ())
    new = apply_splices(body, plan.splices)
    verify(body, new, plan.assigns, file=file)
    return ImageEdit(file, chosen, (_BOM if bom else "") + new, tuple(plan.changes))
