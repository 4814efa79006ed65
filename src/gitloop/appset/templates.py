"""The rendering of one Application from an ApplicationSet's ``template`` and one parameter set, as
Argo CD renders it: every string value and map key of the template, either by fasttemplate's
``{{param}}`` substitution over flat string parameters (unknown tags stay as written) or, with
``goTemplate: true``, as a Go template over the nested parameters (``gitloop.spec.gotemplate``);
then ``templatePatch`` (Go template → YAML → either a strategic merge — maps merge, ``null`` deletes, lists
are replaced, as the Application type has no merge keys — or, for a list, an RFC 6902 JSON patch).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from gitloop.errors import SpecError
from gitloop.spec.gotemplate import parse
from gitloop.spec.gotemplate.values import sprint_value
from gitloop.spec.yaml import load_one

_TEMPLATED: Final = re.compile(
    r"\{\{.*\}\}"
)  # Argo CD substitutes only where a tag opens and closes on one line


def flatten_params(params: Mapping[str, Any]) -> dict[str, str]:
    """Nested parameters as fasttemplate sees them: ``{"a": {"b": 1}}`` → ``{"a.b": "1"}``, list items by
    index (``a.0``), values as Go's ``%v`` (``true``, ``1e+06``, ``<nil>``)."""
    flat: dict[str, str] = {}
    stack: list[tuple[str, Any]] = [(str(k), v) for k, v in params.items()]
    while stack:
        key, value = stack.pop()
        if isinstance(value, Mapping):
            stack.extend((f"{key}.{k}", v) for k, v in value.items())
        elif isinstance(value, list | tuple):
            stack.extend((f"{key}.{i}", v) for i, v in enumerate(value))
        else:
            flat[key] = sprint_value(value, top=False)
    return dict(sorted(flat.items()))


def render_application(
    template: Mapping[str, Any],
    params: Mapping[str, Any],
    *,
    go_template: bool,
    options: Sequence[str] = (),
    template_patch: str | None = None,
    where: str = "",
) -> dict[str, Any]:
    """The Application ``template`` makes of ``params`` (flattened first for fasttemplate, so nested or
    flat parameters both work); ``SpecError`` naming ``where``, the field and why."""
    renderer = _Renderer(params, go_template=go_template, options=tuple(options), where=where)
    rendered = renderer.value(dict(template), "")
    assert isinstance(rendered, dict)
    if template_patch is None or not template_patch.strip():
        return rendered
    if not go_template:
        raise SpecError("templatePatch needs goTemplate: true", obj=where or None, field="templatePatch")
    patch_text = renderer.string(template_patch, "templatePatch")
    try:
        patch = load_one(patch_text, source="the rendered patch")
    except SpecError as exc:
        raise SpecError(str(exc), obj=where or None, field="templatePatch") from exc
    if patch is None:
        return rendered
    if isinstance(patch, list):
        patched = json_patch(rendered, patch, where=where)
    elif isinstance(patch, dict):
        patched = strategic_merge(rendered, patch, where=where)
    else:
        raise SpecError(
            f"the rendered patch must be a mapping or a JSON patch list, not {type(patch).__name__}",
            obj=where or None,
            field="templatePatch",
        )
    if _project(patched) != _project(rendered):
        raise SpecError(
            "templatePatch may not change spec.project (Argo CD does not support it); set it in template",
            obj=where or None,
            field="templatePatch",
        )
    return patched


def _project(app: Mapping[str, Any]) -> Any:
    spec = app.get("spec")
    return spec.get("project") if isinstance(spec, Mapping) else None


class _Renderer:
    def __init__(
        self, params: Mapping[str, Any], *, go_template: bool, options: tuple[str, ...], where: str
    ) -> None:
        self._go = go_template
        self._options = options
        self._where = where
        self._data: Any = copy.deepcopy(dict(params)) if go_template else None
        self._flat = {} if go_template else flatten_params(params)

    def value(self, value: Any, path: str) -> Any:
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                name = self.string(key, f"{child} (key)") if isinstance(key, str) else key
                out[name] = self.value(item, f"{path}.{name}" if path else str(name))
            return out
        if isinstance(value, list | tuple):
            return [self.value(item, f"{path}[{i}]") for i, item in enumerate(value)]
        if isinstance(value, str):
            return self.string(value, path)
        return value

    def string(self, text: str, path: str) -> str:
        if "{{" not in text:
            return text
        if not self._go:
            return self._fast(text, path)
        try:
            return parse(text, name=path, options=self._options).execute(self._data)
        except SpecError as exc:
            raise SpecError(str(exc), obj=self._where or None, field=path) from exc

    def _fast(self, text: str, path: str) -> str:
        if not _TEMPLATED.search(text):
            return text
        out: list[str] = []
        pos = 0
        while (start := text.find("{{", pos)) >= 0:
            end = text.find("}}", start + 2)
            if end < 0:
                raise SpecError(
                    f"cannot find end tag '}}}}' in the template {text!r} starting from {text[start:]!r}",
                    obj=self._where or None,
                    field=path,
                )
            out.append(text[pos:start])
            tag = text[start + 2 : end]
            replacement = self._flat.get(tag.strip())
            out.append(replacement if tag.strip() and replacement is not None else "{{" + tag + "}}")
            pos = end + 2
        out.append(text[pos:])
        return "".join(out)


def strategic_merge(
    target: dict[str, Any], patch: Mapping[str, Any], *, where: str = "", path: str = ""
) -> dict[str, Any]:
    """A strategic merge patch on a type without merge keys: maps merge, ``null`` deletes, other values
    (lists too) replace; ``$patch: replace`` replaces a map and ``$patch: delete`` removes it."""
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = dict(target)
    for key, value in patch.items():
        if key == "$patch":
            if directive != "delete":
                raise SpecError(
                    f"unsupported $patch directive {directive!r} (replace, delete)",
                    obj=where or None,
                    field=f"templatePatch{path}",
                )
            continue
        child = f"{path}.{key}"
        if value is None or (isinstance(value, Mapping) and value.get("$patch") == "delete"):
            result.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(result.get(key), dict):
            result[key] = strategic_merge(result[key], value, where=where, path=child)
        elif isinstance(value, Mapping):
            result[key] = strategic_merge({}, value, where=where, path=child)
        else:
            result[key] = copy.deepcopy(value)
    return result


def json_patch(target: dict[str, Any], operations: list[Any], *, where: str = "") -> dict[str, Any]:
    """RFC 6902 JSON Patch (Argo CD's ``json+patch`` templatePatch): add, remove, replace, move, copy, test."""
    doc: Any = copy.deepcopy(target)
    for index, operation in enumerate(operations):
        field = f"templatePatch[{index}]"
        try:
            doc = _apply_operation(doc, operation)
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            reason = exc.args[0] if exc.args else str(exc)
            raise SpecError(str(reason), obj=where or None, field=field) from None
    if not isinstance(doc, dict):
        raise SpecError("the patched Application is not a mapping", obj=where or None, field="templatePatch")
    return doc


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise ValueError(f"path {path!r} is not a JSON pointer")
    return [part.replace("~1", "/").replace("~0", "~") for part in path.split("/")[1:]]


def _parent(doc: Any, parts: list[str], path: str) -> Any:
    for part in parts[:-1]:
        if isinstance(doc, dict) and part in doc:
            doc = doc[part]
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        else:
            raise KeyError(f"path {path!r} does not exist")
    return doc


def _get(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    parent, last = _parent(doc, parts, path), parts[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent[int(last)]
    raise KeyError(f"path {path!r} does not exist")


def _remove(doc: Any, path: str) -> Any:
    value = _get(doc, path)
    parts = _pointer(path)
    if not parts:
        raise ValueError("cannot remove the whole document")
    parent = _parent(doc, parts, path)
    if isinstance(parent, dict):
        del parent[parts[-1]]
    else:
        del parent[int(parts[-1])]
    return value


def _add(doc: Any, path: str, value: Any, *, replace: bool) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    parent, last = _parent(doc, parts, path), parts[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise KeyError(f"path {path!r} does not exist")
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-" and not replace:
            parent.append(value)
        elif last.isdigit() and int(last) < len(parent) + (0 if replace else 1):
            if replace:
                parent[int(last)] = value
            else:
                parent.insert(int(last), value)
        else:
            raise IndexError(f"index {last!r} of {path!r} is out of range")
    else:
        raise KeyError(f"path {path!r} does not exist")
    return doc


def _apply_operation(doc: Any, operation: Any) -> Any:
    if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
        raise ValueError("a JSON patch operation is a mapping with op and path")
    op, path = operation["op"], operation["path"]
    if op in ("add", "replace", "test") and "value" not in operation:
        raise ValueError(f"{op} needs a value")
    if op == "add":
        return _add(doc, path, copy.deepcopy(operation["value"]), replace=False)
    if op == "replace":
        return _add(doc, path, copy.deepcopy(operation["value"]), replace=True)
    if op == "remove":
        _remove(doc, path)
        return doc
    if op in ("move", "copy"):
        source = operation.get("from")
        if not isinstance(source, str):
            raise ValueError(f"{op} needs from, a JSON pointer")
        value = _remove(doc, source) if op == "move" else copy.deepcopy(_get(doc, source))
        return _add(doc, path, value, replace=False)
    if op == "test":
        if _get(doc, path) != operation["value"]:
            raise ValueError(f"test of {path!r} failed")
        return doc
    raise ValueError(f"unknown JSON patch op {op!r} (add, remove, replace, move, copy, test)")
