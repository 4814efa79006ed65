"""The input limits every YAML and JSON document gitloop reads is held to, in one place.

Each limit has a default and an environment variable that changes it for the process (the CLI and
``gitloop serve`` alike). A value that is not a positive whole number, or a depth above what Python's
stack can hold, is a usage error naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from gitloop.errors import UsageError

DEFAULT_MAX_BYTES = 8 * 1024 * 1024
"""Bytes of one file or stream (8 MiB): far above any real manifest, helm or kustomize output."""
DEFAULT_MAX_DEPTH = 100
"""Levels of nested mappings and sequences; Kubernetes objects stay below 30."""
DEFAULT_MAX_ALIAS_NODES = 100_000
"""Nodes that YAML aliases add when spelled out, over a whole stream (a billion-laughs file adds 10⁹)."""
DEPTH_CEILING = 150
"""The highest depth that may be configured: reading nests Python calls about five deep per level."""

MAX_BYTES_VARIABLE = "GITLOOP_MAX_INPUT_BYTES"
MAX_DEPTH_VARIABLE = "GITLOOP_MAX_INPUT_DEPTH"
MAX_ALIAS_NODES_VARIABLE = "GITLOOP_MAX_ALIAS_NODES"


@dataclass(frozen=True)
class InputLimits:
    """How large, how deep and how alias-expanded one input may be."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH
    max_alias_nodes: int = DEFAULT_MAX_ALIAS_NODES

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> InputLimits:
        """The defaults, changed by ``GITLOOP_MAX_INPUT_BYTES``, ``GITLOOP_MAX_INPUT_DEPTH`` and
        ``GITLOOP_MAX_ALIAS_NODES`` where set."""
        env = os.environ if environ is None else environ
        return cls(
            max_bytes=_positive(env, MAX_BYTES_VARIABLE, DEFAULT_MAX_BYTES),
            max_depth=_positive(env, MAX_DEPTH_VARIABLE, DEFAULT_MAX_DEPTH, ceiling=DEPTH_CEILING),
            max_alias_nodes=_positive(env, MAX_ALIAS_NODES_VARIABLE, DEFAULT_MAX_ALIAS_NODES),
        )


def _positive(env: Mapping[str, str], name: str, default: int, *, ceiling: int | None = None) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise UsageError(f"{name}={text!r}: not a whole number") from None
    if value < 1:
        raise UsageError(f"{name}={text!r}: must be at least 1")
    if ceiling is not None and value > ceiling:
        raise UsageError(f"{name}={text!r}: must be at most {ceiling}")
    return value
