"""The one bounded reader of YAML and JSON: every input gitloop parses goes through here.

Limits (``InputLimits``): bytes per stream, nesting depth, and the nodes YAML aliases may add when
spelled out; each has a default and an environment variable (see ``limits``). Exceeding one is an
``InputLimitError`` (a ``SpecError``, exit 2) naming the file, the limit and how to change it.
"""

from __future__ import annotations

from gitloop.spec.yaml.jsontext import json_depth, load_json
from gitloop.spec.yaml.limits import (
    DEFAULT_MAX_ALIAS_NODES,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_DEPTH,
    MAX_ALIAS_NODES_VARIABLE,
    MAX_BYTES_VARIABLE,
    MAX_DEPTH_VARIABLE,
    InputLimits,
)
from gitloop.spec.yaml.loader import (
    BoundedLoader,
    check_size,
    check_text,
    depth_error,
    load_all,
    load_one,
    one_line,
    read_bytes,
    read_text,
)

__all__ = [
    "DEFAULT_MAX_ALIAS_NODES",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DEPTH",
    "MAX_ALIAS_NODES_VARIABLE",
    "MAX_BYTES_VARIABLE",
    "MAX_DEPTH_VARIABLE",
    "BoundedLoader",
    "InputLimits",
    "check_size",
    "check_text",
    "depth_error",
    "json_depth",
    "load_all",
    "load_json",
    "load_one",
    "one_line",
    "read_bytes",
    "read_text",
]
