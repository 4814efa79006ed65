"""``logs.maxBytesPerStep`` of the serve configuration: sizes as bytes or with a suffix, mistakes
named with file:line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitloop.errors import SpecError
from gitloop.spec.serveconfig import load


def _load_logs(tmp_path: Path, value: str) -> int | None:
    path = tmp_path / "serve.yaml"
    path.write_text(f"kind: ServeConfig\nlogs:\n  maxBytesPerStep: {value}\n" if value else "{}\n")
    return load(path).log_limit


@pytest.mark.parametrize(("value", "limit"), [("", None), ("1048576", 1 << 20), ("8Mi", 8 << 20), ("0", 0)])
def test_the_per_step_log_limit(tmp_path: Path, value: str, limit: int | None) -> None:
    assert _load_logs(tmp_path, value) == limit


@pytest.mark.parametrize(
    ("value", "message"),
    [("lots", "not a size"), ("-1", "must be a size"), ("true", "must be a size"), ("1.5", "must be a size")],
)
def test_a_bad_log_limit_names_the_field(tmp_path: Path, value: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        _load_logs(tmp_path, value)
    shown = str(caught.value)
    assert ":3: ServeConfig: logs.maxBytesPerStep" in shown and message in shown, shown


def test_unknown_log_settings_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "serve.yaml"
    path.write_text("logs: {maxBytes: 1}\n")
    with pytest.raises(SpecError, match=r"logs\.maxBytes.*unknown field"):
        load(path)
