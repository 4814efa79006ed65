"""Multi-document YAML that remembers the line of every mapping key and sequence item.

Documents load into ``YamlMap`` and ``YamlSeq`` (``dict`` and ``list`` subclasses carrying lines), so
validation can name ``file:line``. As with the Kubernetes API server's strict decoding, a duplicate key
is an error. Reading goes through the bounded loader (``gitloop.spec.yaml``): timestamps stay strings,
as they would in JSON, and size, depth and aliases are limited. Files and directories are read the way
``kubectl -f`` reads them (and ``gitloop.spec.manifests`` does): a directory contributes its ``*.yaml``,
``*.yml`` and ``*.json`` files in name order, not recursively, and ``List`` kinds expand into their items.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gitloop.errors import SpecError
from gitloop.spec.yaml import BoundedLoader, read_text

YAML_SUFFIXES = (".yaml", ".yml", ".json")


class YamlMap(dict[str, Any]):
    """A YAML mapping with the line where it starts and the line of each key (1-based)."""

    def __init__(self, line: int = 0) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[str, int] = {}


class YamlSeq(list[Any]):
    """A YAML sequence with the line where it starts and the line of each item (1-based)."""

    def __init__(self, line: int = 0) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []


class _Loader(BoundedLoader):
    """The bounded loader building ``YamlMap``/``YamlSeq``."""


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Iterator[YamlMap]:
    data = YamlMap(node.start_mark.line + 1)
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, bool):
            key = "true" if key else "false"
        elif key is None:
            key = "null"
        elif isinstance(key, int | float):
            key = str(key)
        if not isinstance(key, str):
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a string", key_node.start_mark
            )
        if key in data:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        data[key] = loader.construct_object(value_node, deep=True)
        data.key_lines[key] = key_node.start_mark.line + 1


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> Iterator[YamlSeq]:
    data = YamlSeq(node.start_mark.line + 1)
    yield data
    for item in node.value:
        data.append(loader.construct_object(item, deep=True))
        data.item_lines.append(item.start_mark.line + 1)


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


@dataclass(frozen=True)
class Document:
    """One YAML document of a file: its position and its top-level mapping."""

    file: str
    index: int
    line: int
    body: YamlMap


def load_text(text: str, file: str = "<string>") -> list[Document]:
    """Every non-empty document of ``text``; each must be a mapping."""
    loader = _Loader(text, source=file)
    documents: list[Document] = []
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                break
            line = node.start_mark.line + 1
            data = loader.construct_document(node)
            if data is None:
                continue
            if not isinstance(data, YamlMap):
                raise SpecError(
                    "a document must be a mapping (apiVersion, kind, metadata, ...)", file=f"{file}:{line}"
                )
            for item_line, body in _objects(data, line, file):
                documents.append(Document(file=file, index=index, line=item_line, body=body))
                index += 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.context_mark or exc.problem_mark
        where = f"{file}:{mark.line + 1}" if mark else file
        message = exc.problem or ""
        if exc.context and exc.problem_mark:
            message = f"{exc.context}: {message} (line {exc.problem_mark.line + 1})"
        raise SpecError(f"invalid YAML: {message or exc.context}", file=where) from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {exc}", file=file) from exc
    finally:
        loader.dispose()
    return documents


def _objects(data: YamlMap, line: int, file: str) -> list[tuple[int, YamlMap]]:
    """The document itself, or the items of a ``List`` kind (what ``kubectl get -o yaml`` prints)."""
    kind = data.get("kind")
    items = data.get("items")
    if not (isinstance(kind, str) and kind.endswith("List") and isinstance(items, YamlSeq)):
        return [(line, data)]
    objects: list[tuple[int, YamlMap]] = []
    for item_line, item in zip(items.item_lines, items, strict=True):
        if not isinstance(item, YamlMap):
            raise SpecError("a List item must be a mapping", file=f"{file}:{item_line}")
        objects.append((item_line, item))
    return objects


def load_file(path: Path) -> list[Document]:
    """Every document of one file."""
    return load_text(read_text(path), str(path))


def yaml_files(path: Path) -> list[Path]:
    """``path`` itself if it is a file, else its ``*.yaml``/``*.yml``/``*.json`` files in name order."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())
    if not path.exists():
        raise SpecError("no such file or directory", file=str(path))
    return [path]


def load_path(path: Path) -> list[Document]:
    """Every document of a file, or of every YAML file under a directory."""
    documents: list[Document] = []
    for file in yaml_files(path):
        documents.extend(load_file(file))
    return documents


def plain(value: Any) -> Any:
    """``value`` with every ``YamlMap``/``YamlSeq`` turned into a plain ``dict``/``list``."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
