"""Read Kubernetes manifests from YAML or JSON files and directories, the way ``kubectl -f`` does.

Every document must be a mapping with a non-empty ``apiVersion`` and ``kind``; empty documents are
skipped, and ``List`` kinds (what ``kubectl get -o yaml`` prints) are expanded into their items. A
directory contributes its ``*.yaml``, ``*.yml`` and ``*.json`` files in name order, not recursively.
Text is read through the bounded loader (``gitloop.spec.yaml``), so timestamps stay strings, as
Kubernetes (which reads YAML through JSON) keeps them, and size, depth and aliases are limited. Errors
are ``SpecError``s that name the file, the document number and the line.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from gitloop.errors import SpecError
from gitloop.model.resources import Manifest
from gitloop.spec.yaml import BoundedLoader, read_text

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def load_manifests(paths: Iterable[str | os.PathLike[str]]) -> list[tuple[str, Manifest]]:
    """Every object in ``paths`` (files or directories), each with its source label ``file:line``."""
    found: list[tuple[str, Manifest]] = []
    for path in paths:
        for file in _files(Path(path)):
            found.extend(parse_manifests(read_text(file), source=str(file)))
    return found


def parse_manifests(text: str, *, source: str) -> list[tuple[str, Manifest]]:
    """Every object in one YAML stream; ``source`` names it in labels and errors."""
    found: list[tuple[str, Manifest]] = []
    loader = BoundedLoader(text, source=source)
    number = 0
    try:
        while loader.check_node():
            number += 1
            node = loader.get_node()
            if node is None:
                continue
            line = node.start_mark.line + 1
            document: Any = loader.construct_document(node)
            if document is None:
                continue
            where = f"document {number} (line {line})"
            for suffix, obj in _objects(document, source=source, where=where):
                found.append((f"{source}:{line}{suffix}", obj))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise SpecError(
            f"invalid YAML: {exc.problem or exc.context}", file=source, obj=f"document {number}{at}"
        ) from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {exc}", file=source, obj=f"document {number}") from exc
    finally:
        loader.dispose()
    return found


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in MANIFEST_SUFFIXES and p.is_file())
    if not path.exists():
        raise SpecError("no such file or directory", file=str(path))
    return [path]


def _objects(document: Any, *, source: str, where: str) -> list[tuple[str, Manifest]]:
    obj = _object(document, source=source, where=where)
    kind = obj["kind"]
    if not (kind.endswith("List") and isinstance(obj.get("items"), list)):
        return [("", obj)]
    return [
        (f" items[{i}]", _object(item, source=source, where=f"{where} items[{i}]"))
        for i, item in enumerate(obj["items"])
    ]


def _object(document: Any, *, source: str, where: str) -> Manifest:
    if not isinstance(document, dict):
        raise SpecError(
            f"expected a Kubernetes object (a mapping), got {_type_name(document)}", file=source, obj=where
        )
    for field in ("apiVersion", "kind"):
        value = document.get(field)
        if value is None or value == "":
            raise SpecError("missing; every Kubernetes object needs one", file=source, obj=where, field=field)
        if not isinstance(value, str):
            raise SpecError(f"must be a string, got {_type_name(value)}", file=source, obj=where, field=field)
    return document


def _type_name(value: Any) -> str:
    names = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}
    return names.get(type(value), type(value).__name__)
