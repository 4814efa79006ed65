"""Argo CD's Kustomize overrides as edits of a kustomization, the way ``kustomize edit`` makes them.

Argo CD applies ``spec.source.kustomize`` by running ``kustomize edit set nameprefix|namesuffix|
image|replicas|namespace`` and ``kustomize edit add label|annotation|component`` in the app
directory, and by appending ``patches`` to the file itself. kubectl's built-in kustomize has no
``edit``, so these pure functions make the same changes to the parsed file (a mapping), following
kustomize v5's rules: an image argument replaces the entry of that name wholesale (``*`` keeps the
old part) and the list is sorted by name; replicas likewise; an existing label or annotation key is
an error unless forced.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gitloop.errors import RenderError
from gitloop.model.images import split_image

Kustomization = dict[str, Any]

_PRESERVE = "*"
_IMAGE_FIELDS = ("newName", "newTag", "digest")
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def set_images(kustomization: Kustomization, args: list[str]) -> None:
    """``kustomize edit set image ARG...``: ``name=new:tag``, ``name=new@digest``, ``name:tag``..."""
    wanted: dict[str, dict[str, str]] = {}
    for arg in args:
        image = parse_image(arg)
        wanted[image["name"]] = image
    merged: dict[str, dict[str, Any]] = {}
    for existing in _list(kustomization, "images"):
        name = str(existing.get("name", ""))
        if name in wanted:
            new = dict(wanted[name])
            for field in _IMAGE_FIELDS:
                if new.get(field) == _PRESERVE:
                    _put(new, field, str(existing.get(field) or ""))
            wanted[name] = new
        else:
            merged[name] = dict(existing)
    merged.update(wanted)
    images = []
    for name in sorted(merged):
        image = merged[name]
        for field in _IMAGE_FIELDS:
            if image.get(field) == _PRESERVE:
                _put(image, field, "")
        images.append(image)
    kustomization["images"] = images


def parse_image(arg: str) -> dict[str, str]:
    """One ``set image`` argument as a kustomization ``images`` entry."""
    key, sep, value = arg.partition("=")
    if not sep:
        key, value = "", arg
    name, tag, digest = split_image(value)
    if name == arg:
        raise RenderError(
            f"kustomize image {arg!r}: invalid format of image, use one of <image>=<newimage>:<newtag>, "
            "<image>=<newimage>@<digest>, <image>=<newimage>:<newtag>@<digest>, <image>=<newimage>, "
            "<image>:<newtag>, <image>@<digest>"
        )
    image = {"name": key or name}
    if key:
        _put(image, "newName", name)
    _put(image, "newTag", tag)
    _put(image, "digest", digest)
    return image


def set_replicas(kustomization: Kustomization, replicas: list[tuple[str, int]]) -> None:
    """``kustomize edit set replicas NAME=COUNT...``."""
    merged = {str(r.get("name", "")): dict(r) for r in _list(kustomization, "replicas")}
    for name, count in replicas:
        merged[name] = {"name": name, "count": count}
    kustomization["replicas"] = [merged[name] for name in sorted(merged)]


def add_labels(
    kustomization: Kustomization,
    labels: Mapping[str, str],
    *,
    force: bool,
    without_selector: bool,
    include_templates: bool,
) -> None:
    """``kustomize edit add label [--force] [--without-selector [--include-templates]]``."""
    if include_templates and not without_selector:
        raise RenderError("kustomize labelIncludeTemplates needs labelWithoutSelector")
    if not without_selector:
        _add_pairs(kustomization, "commonLabels", labels, force=force, kind="label")
        return
    entries = _list(kustomization, "labels")
    flags = {"includeSelectors": False, "includeTemplates": include_templates}

    def same_flags(entry: Mapping[str, Any]) -> bool:
        return all(bool(entry.get(k, False)) == v for k, v in flags.items())

    for key, value in labels.items():
        holder = next((e for e in entries if same_flags(e) and key in (e.get("pairs") or {})), None)
        holder = holder or next((e for e in entries if same_flags(e)), None)
        if holder is None:
            holder = {"pairs": {}} | ({"includeTemplates": True} if include_templates else {})
            entries.append(holder)
        pairs = holder.setdefault("pairs", {})
        if key in pairs and not force:
            raise RenderError(f"kustomize: label {key} already in kustomization file")
        pairs[key] = value
    kustomization["labels"] = entries


def add_annotations(kustomization: Kustomization, annotations: Mapping[str, str], *, force: bool) -> None:
    """``kustomize edit add annotation [--force]``."""
    _add_pairs(kustomization, "commonAnnotations", annotations, force=force, kind="annotation")


def set_namespace(kustomization: Kustomization, namespace: str) -> None:
    """``kustomize edit set namespace``."""
    if len(namespace) > 63 or not _NAMESPACE.match(namespace):
        raise RenderError(f"kustomize: {namespace!r} is not a valid namespace name")
    kustomization["namespace"] = namespace


def add_patches(kustomization: Kustomization, patches: list[Mapping[str, Any]]) -> None:
    """Append ``patches`` to the kustomization's own, as Argo CD does."""
    existing = kustomization.get("patches")
    if existing is not None and not isinstance(existing, list):
        raise RenderError("expected 'patches' field in the kustomization to be a list")
    kustomization["patches"] = [*(existing or []), *(dict(p) for p in patches)]


def add_components(kustomization: Kustomization, components: list[str]) -> None:
    """``kustomize edit add component``: append those not listed already."""
    existing = kustomization.get("components")
    if existing is not None and not isinstance(existing, list):
        raise RenderError("expected 'components' field in the kustomization to be a list")
    listed = list(existing or [])
    listed.extend(c for c in components if c not in listed)
    kustomization["components"] = listed


def _add_pairs(
    kustomization: Kustomization, field: str, pairs: Mapping[str, str], *, force: bool, kind: str
) -> None:
    current = kustomization.get(field)
    if current is not None and not isinstance(current, dict):
        raise RenderError(f"expected {field!r} field in the kustomization to be a mapping")
    target: dict[str, Any] = current if current is not None else {}
    for key, value in pairs.items():
        if key in target and not force:
            raise RenderError(f"kustomize: {kind} {key} already in kustomization file")
        target[key] = value
    kustomization[field] = target


def _list(kustomization: Kustomization, field: str) -> list[dict[str, Any]]:
    value = kustomization.get(field)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise RenderError(f"expected {field!r} field in the kustomization to be a list of mappings")
    return list(value)


def _put(entry: dict[str, Any], field: str, value: str) -> None:
    if value:
        entry[field] = value
    else:
        entry.pop(field, None)
