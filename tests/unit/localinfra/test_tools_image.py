"""The tools image builder's pure parts: the Debian mirror chosen from apt source files (case by case
from testdata/apt-mirrors.yaml), the Containerfile, and the inputs' digest that decides a rebuild."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gitloop.errors import UsageError
from gitloop.localinfra.images import (
    APT_PACKAGES,
    BASE_IMAGE,
    INPUTS_LABEL,
    containerfile,
    debian_mirror,
    inputs_digest,
    main,
    system_mirror,
)

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parents[1] / "testdata" / "apt-mirrors.yaml").read_text()
)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_debian_mirror(case: dict[str, Any]) -> None:
    files = list(case["files"].items())
    if "error" in case:
        with pytest.raises(UsageError) as raised:
            debian_mirror(files)
        assert str(raised.value).startswith(case["error"])
    else:
        assert debian_mirror(files) == case["mirror"]


def test_system_mirror_reads_the_apt_directory(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "a.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\nComponents: main\n"
    )
    (tmp_path / "sources.list.d" / "ignored.disabled").write_text(
        "deb http://no.example/debian bookworm main\n"
    )
    assert system_mirror(tmp_path) == "http://mirror.example/debian"


def test_containerfile_builds_on_the_base_and_carries_the_label() -> None:
    text = containerfile("abc123")
    assert text.startswith(f"FROM {BASE_IMAGE}\n")
    assert f'LABEL {INPUTS_LABEL}="abc123"' in text
    assert all(package in text for package in APT_PACKAGES)
    assert "--no-index" in text
    assert "/usr/local/bin/yq" in text


def _tree(root: Path) -> Path:
    (root / "src" / "gitloop" / "__pycache__").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'gitloop'\n")
    (root / "src" / "gitloop" / "a.py").write_text("A = 1\n")
    binary = root / "helm"
    binary.write_bytes(b"\x7fELF")
    return binary


def test_inputs_digest_follows_sources_binaries_and_mirror(tmp_path: Path) -> None:
    binary = _tree(tmp_path)
    first = inputs_digest(tmp_path, "http://m.example/debian", [binary])
    assert first == inputs_digest(tmp_path, "http://m.example/debian", [binary])
    (tmp_path / "src" / "gitloop" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"cache")
    assert inputs_digest(tmp_path, "http://m.example/debian", [binary]) == first, "caches do not count"
    assert inputs_digest(tmp_path, "http://other.example/debian", [binary]) != first
    binary.write_bytes(b"\x7fELF2")
    second = inputs_digest(tmp_path, "http://m.example/debian", [binary])
    assert second != first
    (tmp_path / "src" / "gitloop" / "a.py").write_text("A = 2\n")
    assert inputs_digest(tmp_path, "http://m.example/debian", [binary]) not in (first, second)


def test_without_podman_the_command_exits_2_saying_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main([]) == 2
    assert "podman is not installed (apt-get install podman runc)" in capsys.readouterr().err
