"""The core (``v1``) kinds a local run reads beside Tekton's: ``ConfigMap`` and ``Secret``.

They feed env ``valueFrom``/``envFrom`` and workspace bindings. Secret ``data`` is base64-decoded;
``stringData`` is merged over it, as the API server does.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from gitloop.spec.fields import Node
from gitloop.spec.tekton.meta import ObjectMeta, Source, parse_meta
from gitloop.spec.tekton.names import config_key_problem


@dataclass(frozen=True)
class ConfigMap:
    kind: ClassVar[str] = "ConfigMap"
    api_version: ClassVar[str] = "v1"
    meta: ObjectMeta
    data: Mapping[str, str] = field(default_factory=dict)
    binary_data: Mapping[str, bytes] = field(default_factory=dict)
    source: Source | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return self.meta.name


@dataclass(frozen=True)
class Secret:
    kind: ClassVar[str] = "Secret"
    api_version: ClassVar[str] = "v1"
    meta: ObjectMeta
    type: str = "Opaque"
    data: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    """Decoded ``data`` with ``stringData`` merged over it."""
    source: Source | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return self.meta.name

    def text(self, key: str) -> str:
        """One key as UTF-8 text."""
        return self.data[key].decode("utf-8")


def _decoded(node: Node, key: str) -> dict[str, bytes]:
    decoded: dict[str, bytes] = {}
    for name, item in node.entries(key):
        try:
            decoded[name] = base64.b64decode("" if item.value is None else item.as_str(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise item.error("invalid base64 data") from exc
    return decoded


def _check_keys(body: Node, *fields: str) -> None:
    """Keys become file names when the object is a workspace: checked as Kubernetes checks them."""
    for key in fields:
        for name, _ in body.entries(key):
            if problem := config_key_problem(name):
                raise body.error(f"invalid key: {problem}", f"{key}.{name}")


def parse_config_map(body: Node, source: Source | None = None) -> ConfigMap:
    body.only(("apiVersion", "kind", "metadata", "data", "binaryData", "immutable"))
    _check_keys(body, "data", "binaryData")
    return ConfigMap(parse_meta(body), body.string_map("data"), _decoded(body, "binaryData"), source)


def parse_secret(body: Node, source: Source | None = None) -> Secret:
    body.only(("apiVersion", "kind", "metadata", "data", "stringData", "type", "immutable"))
    _check_keys(body, "data", "stringData")
    data = _decoded(body, "data")
    data.update({k: v.encode("utf-8") for k, v in body.string_map("stringData").items()})
    return Secret(parse_meta(body), body.string("type", default="Opaque"), data, source)
