"""Display of a resource's difference: a unified diff of normalised YAML, optionally in ANSI colour.

The live object is side "a" and the predicted one (the desired state as the live object will hold it
after a sync) side "b", as Argo CD's diff view shows normalised live against predicted live; a
resource to create diffs from ``/dev/null``, one to prune to ``/dev/null``. Keys are sorted and
multi-line strings printed as YAML blocks, so the output is deterministic and readable. Secret values
are masked again here, whoever built the ``ResourceDiff``. Whether to colour is the caller's choice.
"""

from __future__ import annotations

import difflib
from typing import Any

import yaml

from gitloop.gitops.diff.compare import ResourceDiff
from gitloop.gitops.diff.secrets import mask_secrets
from gitloop.model.resources import Manifest

_RESET = "\x1b[0m"
_COLOURS = (("+++", "\x1b[1m"), ("---", "\x1b[1m"), ("@@", "\x1b[36m"), ("+", "\x1b[32m"), ("-", "\x1b[31m"))


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line strings."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def to_yaml(obj: Manifest | None) -> str:
    """``obj`` as YAML with sorted keys; ``""`` for ``None``."""
    if obj is None:
        return ""
    text: Any = yaml.dump(obj, Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True)
    return str(text)


def label(diff: ResourceDiff) -> str:
    """``group/kind/namespace/name`` (``core`` for the core group; no namespace part if cluster-scoped)."""
    key = diff.key
    parts = [key.group or "core", key.kind, *([key.namespace] if key.namespace else []), key.name]
    return "/".join(parts)


def unified_diff(diff: ResourceDiff, *, context: int = 3) -> str:
    """The unified diff from live to predicted; ``""`` when they are the same."""
    live, predicted = mask_secrets([diff.live, diff.predicted])
    before, after = to_yaml(live), to_yaml(predicted)
    if before == after:
        return ""
    name = label(diff)
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{name}" if live is not None else "/dev/null",
        tofile=f"b/{name}" if predicted is not None else "/dev/null",
        n=context,
    )
    return "".join(lines)


def colorize(text: str) -> str:
    """A unified diff with ANSI colours: headers bold, hunks cyan, additions green, removals red."""
    out: list[str] = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\n")
        colour = next((code for prefix, code in _COLOURS if body.startswith(prefix)), None)
        out.append(f"{colour}{body}{_RESET}{line[len(body) :]}" if colour else line)
    return "".join(out)
