"""The CLI's saved logins: the session token ``gitloop login`` got from each server, as ``argocd login``
keeps its own.

One JSON file, ``$GITLOOP_CONFIG_DIR/config.json`` (else ``$XDG_CONFIG_HOME/gitloop/config.json``, else
``~/.config/gitloop/config.json``): ``{"servers": {"<URL>": {"token": "...", "username": "..."}}}``.
The directory is made mode 0700 and the file is written 0600 through a private temporary file and a
rename, so a token is never readable by another user, even for a moment, and a crash leaves the old file
whole. A file that does not validate is a ``UsageError`` naming it (it is never silently replaced). URLs
are compared without a trailing ``/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from gitloop.errors import GitloopError, UsageError
from gitloop.spec.yaml import load_json

FILE_NAME = "config.json"


def config_file() -> Path:
    """Where the saved logins are."""
    given = os.environ.get("GITLOOP_CONFIG_DIR")
    if given:
        return Path(given) / FILE_NAME
    base = os.environ.get("XDG_CONFIG_HOME")
    return (Path(base) if base else Path.home() / ".config") / "gitloop" / FILE_NAME


def _key(server: str) -> str:
    return server.rstrip("/")


def _read(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {"servers": {}}
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the saved logins: {exc.strerror or exc}") from None
    try:
        parsed = load_json(data, source=str(path))
    except (ValueError, GitloopError) as exc:
        raise UsageError(
            f"{path}: not the saved logins of gitloop ({exc}); move it away to start anew"
        ) from None
    servers = parsed.get("servers") if isinstance(parsed, dict) else None
    if not isinstance(servers, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("token", ""), str) for v in servers.values()
    ):
        raise UsageError(f"{path}: servers: must map each server URL to {{token, username}}")
    return {"servers": servers}


def _write(path: Path, content: dict[str, Any]) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".config-", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(content, out, indent=2, sort_keys=True)
            out.write("\n")
        Path(temporary).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise


def saved_token(server: str, *, path: Path | None = None) -> str | None:
    """The token saved for ``server`` (``None``: no login)."""
    entry = _read(path or config_file())["servers"].get(_key(server))
    token = entry.get("token") if isinstance(entry, dict) else None
    return token or None


def save_login(server: str, username: str, token: str, *, path: Path | None = None) -> Path:
    """Keep ``token`` for ``server``; the file written."""
    target = path or config_file()
    content = _read(target)
    content["servers"][_key(server)] = {"token": token, "username": username}
    _write(target, content)
    return target


def forget_login(server: str, *, path: Path | None = None) -> str | None:
    """Remove the login of ``server``; the token it held (to end the session on the server) or ``None``."""
    target = path or config_file()
    content = _read(target)
    entry = content["servers"].pop(_key(server), None)
    if entry is None:
        return None
    _write(target, content)
    token = entry.get("token") if isinstance(entry, dict) else None
    return str(token) if token else None
