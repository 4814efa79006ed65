"""Where Helm value files (and ``--set-file`` files) of a source are, resolved as Argo CD resolves them.

A path is relative to the chart directory, or to the repository root when it starts with ``/``, and
must stay inside the repository (symbolic links followed). ``$name/...`` refers to the root of the
source whose ``ref`` is ``name`` (multiple sources) and must stay inside that checkout. Build
environment variables are substituted first (after the ``$name`` for references). An ``http(s)://``
URL is passed to Helm as it is. A path containing ``*``, ``?`` or ``[`` is a doublestar glob expanded
in doublestar's order; files listed explicitly keep their own place instead of the glob's, and no
file is passed twice. ``ignoreMissingValueFiles`` drops missing files and empty globs; otherwise an
empty glob is an error and a missing file is left for Helm to report.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from gitloop.errors import RenderError
from gitloop.render.appdir import AppDir, within
from gitloop.render.buildenv import BuildEnv
from gitloop.render.globs import GlobError, glob_files, is_glob

DEFAULT_SCHEMES = ("https", "http")


@dataclass(frozen=True)
class ValueFile:
    """A resolved value file: a URL (``remote``) or an absolute path or pattern inside ``root``."""

    value: str
    remote: bool
    root: Path


def resolve_value_files(
    app: AppDir,
    raw_files: Sequence[str],
    *,
    env: BuildEnv,
    refs: Mapping[str, Path],
    ignore_missing: bool,
    schemes: Sequence[str] = DEFAULT_SCHEMES,
) -> list[str]:
    """The ``--values`` arguments for ``raw_files``, in order."""
    resolved = [resolve_file(app, raw, env=env, refs=refs, schemes=schemes) for raw in raw_files]
    explicit = {r.value for r in resolved if not r.remote and not is_glob(r.value)}
    out: list[str] = []
    seen: set[str] = set()

    def append(value: str) -> None:
        if value not in seen:
            seen.add(value)
            out.append(value)

    for raw, r in zip(raw_files, resolved, strict=True):
        if not r.remote and is_glob(r.value):
            try:
                matches = glob_files(r.value)
            except GlobError as exc:
                raise RenderError(f"error expanding glob pattern {raw!r}: {exc}") from exc
            if not matches:
                if ignore_missing:
                    continue
                raise RenderError(f"values file glob {raw!r} matched no files")
            for match in matches:
                real = match.resolve()
                if not within(real, r.root):
                    raise RenderError(f"glob pattern {raw!r}: {match} resolves outside the repository")
                if str(match) not in explicit:
                    append(str(match))
            continue
        if not r.remote and ignore_missing and not Path(r.value).exists():
            continue
        append(r.value)
    return out


def resolve_file(
    app: AppDir,
    raw: str,
    *,
    env: BuildEnv,
    refs: Mapping[str, Path],
    schemes: Sequence[str] = DEFAULT_SCHEMES,
) -> ValueFile:
    """One value file: a URL, or an absolute path (possibly a pattern) inside its repository."""
    ref, _, rest = raw.partition("/")
    if raw.startswith("$") and ref in refs:
        root = refs[ref].resolve()
        return _local(root, root, env.envsubst("/" + rest), raw)
    value = env.envsubst(raw)
    scheme = urlsplit(value).scheme
    if scheme:
        if scheme.lower() in (s.lower() for s in schemes):
            return ValueFile(value=value, remote=True, root=app.root)
        raise RenderError(f"value file {raw!r}: the URL scheme '{scheme}' is not allowed")
    return _local(app.path, app.root, value, raw)


def _local(base: Path, root: Path, path: str, raw: str) -> ValueFile:
    joined = Path(os.path.normpath(root / path.lstrip("/") if path.startswith("/") else base / path))
    if not within(joined, root):
        raise RenderError(f"value file {raw!r} is outside the repository")
    if not is_glob(str(joined)):
        real = joined.resolve()
        if not within(real, root):
            raise RenderError(f"value file {raw!r} resolves outside the repository")
    return ValueFile(value=str(joined), remote=False, root=root)
