"""Plain-manifest ("directory") sources, read as Argo CD's repo-server reads them.

Files are visited in name order, descending into subdirectories (at their place in that order)
only with ``directory.recurse: true``. A file is a candidate when its name ends in ``.yaml``,
``.yml``, ``.json`` or ``.jsonnet`` (any name with ``disableExtensionFilter: true``), it is a regular
file or a symbolic link to one inside the repository (a link that leaves the repository is an error,
a dangling one is skipped), its path relative to the app directory does not match ``exclude`` and
does match ``include`` (gobwas globs, see ``globs``), and it does not contain
``+argocd:skip-file-rendering``.

A JSON file holds one object (or a ``List``), and anything else in it is an error. A YAML file whose
documents do not all parse as Kubernetes objects is skipped as "not a manifest" unless it contains
``apiVersion:``, ``kind:`` and ``metadata:``, in which case the error names the file, document and
line. Unlike Argo CD, an object with ``kind`` but no ``apiVersion`` is an error here, not at sync,
and so is an include/exclude pattern that does not parse (Argo CD quietly matches nothing), and a
selected ``.jsonnet`` file (gitloop does not evaluate Jsonnet).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from gitloop.errors import InputLimitError, RenderError, SpecError
from gitloop.model.resources import Manifest
from gitloop.render import options as opt
from gitloop.render.appdir import AppDir, within
from gitloop.render.globs import GlobError, gobwas_regex
from gitloop.render.output import drop_null_lists
from gitloop.spec.manifests import parse_manifests
from gitloop.spec.yaml import load_all, load_json, read_bytes

SKIP_MARKER = b"+argocd:skip-file-rendering"
_MANIFEST_NAME = re.compile(r"^.*\.(yaml|yml|json|jsonnet)$", re.DOTALL)
_WHERE = "spec.source.directory"


def render_directory(app: AppDir, directory: Mapping[str, Any] | None) -> list[Manifest]:
    """Every object in the app directory's selected files, in visiting order."""
    recurse = opt.boolean(directory, "recurse", _WHERE)
    include = _pattern(directory, "include")
    exclude = _pattern(directory, "exclude")
    any_name = opt.boolean(directory, "disableExtensionFilter", _WHERE)
    objects: list[Manifest] = []
    for file, rel in _candidates(app, recurse=recurse, any_name=any_name):
        if exclude is not None and exclude.fullmatch(rel):
            continue
        if include is not None and not include.fullmatch(rel):
            continue
        label = _label(app, rel)
        data = _read(file, label)
        if SKIP_MARKER in data:
            continue
        if rel.endswith(".jsonnet"):
            raise RenderError(f"{label}: Jsonnet is not supported; exclude the file or render it to YAML")
        text = _decode(data, label)
        objects.extend(_json_objects(text, label) if rel.endswith(".json") else _yaml_objects(text, label))
    return drop_null_lists(objects)


def _pattern(directory: Mapping[str, Any] | None, key: str) -> re.Pattern[str] | None:
    value = opt.string(directory, key, _WHERE)
    if not value:
        return None
    try:
        return gobwas_regex(value)
    except GlobError as exc:
        raise RenderError(f"{_WHERE}.{key}: {exc}") from exc


def _candidates(app: AppDir, *, recurse: bool, any_name: bool) -> Iterator[tuple[Path, str]]:
    """(file, path relative to the app directory) in Go ``filepath.Walk`` order."""

    def walk(directory: Path, prefix: str) -> Iterator[tuple[Path, str]]:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            raise RenderError(f"cannot list {_label(app, prefix or '.')}: {exc.strerror or exc}") from exc
        for entry in entries:
            rel = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                if recurse:
                    yield from walk(Path(entry.path), rel + "/")
                continue
            if not any_name and not _MANIFEST_NAME.match(entry.name):
                continue
            path = Path(entry.path)
            if entry.is_symlink():
                target = path.resolve()
                if not target.exists():
                    continue
                if not within(target, app.root):
                    raise RenderError(f"illegal filepath in symlink at {_label(app, rel)}")
                path = target
            if path.is_file():
                yield path, rel

    yield from walk(app.path, "")


def _label(app: AppDir, rel: str) -> str:
    """A file's path relative to the repository root, as errors name it."""
    return rel if app.rel == "." else f"{app.rel}/{rel}"


def _read(file: Path, label: str) -> bytes:
    try:
        return read_bytes(file, source=label)
    except SpecError as exc:
        raise RenderError(str(exc)) from exc


def _decode(data: bytes, label: str) -> str:
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RenderError(f"{label}: not UTF-8 text (byte {exc.start})") from exc


def _json_objects(text: str, label: str) -> list[Manifest]:
    try:
        document = load_json(text, source=label, parse_constant=_no_constant)
    except InputLimitError as exc:
        raise RenderError(str(exc)) from exc
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            raise RenderError(
                f"{label}: found multiple objects; only single objects are allowed in JSON files"
            ) from exc
        raise RenderError(
            f"{label}: invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    except ValueError as exc:
        raise RenderError(f"{label}: invalid JSON: {exc}") from exc
    try:
        return [obj for _, obj in parse_manifests(json.dumps(document), source=label)]
    except SpecError as exc:
        raise RenderError(str(exc)) from exc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _yaml_objects(text: str, label: str) -> list[Manifest]:
    try:
        return [obj for _, obj in parse_manifests(text, source=label)]
    except InputLimitError as exc:
        raise RenderError(str(exc)) from exc
    except SpecError as exc:
        looks_like_manifest = all(marker in text for marker in ("apiVersion:", "kind:", "metadata:"))
        if looks_like_manifest or _kind_without_api_version(text):
            raise RenderError(str(exc)) from exc
        return []  # some other YAML file (a config, a values file): not Kubernetes objects


def _kind_without_api_version(text: str) -> bool:
    """Whether a document has a ``kind`` and no ``apiVersion``: Argo CD would take it as an object
    (and fail at sync), so it is no "other YAML file" to skip."""
    try:
        documents = load_all(text, source="")
    except SpecError:
        return False
    return any(isinstance(d, dict) and d.get("kind") and not d.get("apiVersion") for d in documents)
