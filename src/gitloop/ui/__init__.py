"""gitloop's web UI: hand-written ES modules, CSS and one HTML page, served as static files by
``gitloop.api.ui`` (no build step, no third-party code). The UI is a pure client of ``/api/v1`` and its
event stream; ``ASSETS`` is the directory the files ship in (package data, so ``pip install`` gives a
working UI offline)."""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).parent / "assets"
