"""The test suite's own rules for real parts: a missing part fails under CI, and the podman tests' image
holds real files (never a dangling link) whose content names the image."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from realparts import mini_image_archive, mini_image_files, missing


@pytest.mark.parametrize(
    ("ci", "raised"),
    [
        ("true", pytest.fail.Exception),
        ("TRUE", pytest.fail.Exception),
        ("", pytest.skip.Exception),
        ("false", pytest.skip.Exception),
    ],
)
def test_a_missing_part_fails_under_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, ci: str, raised: type[BaseException]
) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(raised, match="widget"):
        missing("widget is not installed")


def test_the_mini_image_holds_the_programs_and_their_loader_as_regular_files() -> None:
    files = mini_image_files()
    assert {"bin/sh", "bin/sleep", "bin/cat"} <= set(files)
    loaders = [target for target in files if Path(target).name.startswith("ld-linux")]
    assert loaders, files
    archive, _ = mini_image_archive(files)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    for target in files:
        member = members[target]
        assert member.isreg(), f"{target} is not a regular file in the image"
        assert member.size == Path(files[target]).stat().st_size > 0


def test_the_mini_image_tag_follows_its_content(tmp_path: Path) -> None:
    one = tmp_path / "one"
    one.write_bytes(b"\x7fELF one")
    _, first = mini_image_archive({"bin/sh": str(one)})
    _, same = mini_image_archive({"bin/sh": str(one)})
    one.write_bytes(b"\x7fELF two")
    _, changed = mini_image_archive({"bin/sh": str(one)})
    assert first == same != changed
