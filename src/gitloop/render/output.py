"""Running a rendering tool and reading what it prints, the same way for helm and kustomize.

A tool that exits non-zero is a ``RenderError`` carrying its standard error (scratch-copy paths put
back to the checkout's). Its output is read as a YAML stream by ``gitloop.spec.manifests`` (so
``List`` kinds are expanded and every object needs ``apiVersion`` and ``kind``); a list whose
``items`` is null is dropped, as Argo CD drops it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from gitloop.errors import RenderError, SpecError
from gitloop.model.resources import Manifest
from gitloop.spec.manifests import parse_manifests


def run_tool(
    args: Sequence[str | Path],
    *,
    cwd: Path,
    env: Mapping[str, str],
    what: str,
    timeout: float,
    redact: Mapping[str, str] | None = None,
) -> str:
    """The standard output of ``args``; ``RenderError`` naming ``what`` with the tool's message."""
    argv = [str(a) for a in args]
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RenderError(f"{what}: gave no answer within {timeout:g} s") from exc
    except OSError as exc:
        raise RenderError(f"{what}: cannot run {argv[0]}: {exc.strerror or exc}") from exc
    if proc.returncode != 0:
        message = proc.stderr.strip() or proc.stdout.strip() or f"exit status {proc.returncode}"
        for old, new in (redact or {}).items():
            message = message.replace(old, new)
        raise RenderError(f"{what} failed: {message}")
    return proc.stdout


def parse_output(text: str, *, what: str) -> list[Manifest]:
    """The objects in a tool's YAML output."""
    try:
        found = parse_manifests(text, source=what)
    except SpecError as exc:
        raise RenderError(f"{what} printed something that is not Kubernetes objects: {exc}") from exc
    return drop_null_lists([obj for _, obj in found])


def drop_null_lists(objects: list[Manifest]) -> list[Manifest]:
    """Objects without the ``items: null`` lists that Argo CD skips (an object with ``spec`` or
    ``status`` is kept whatever its ``items``)."""
    return [
        obj
        for obj in objects
        if not ("items" in obj and obj["items"] is None and "spec" not in obj and "status" not in obj)
    ]
