"""The last check before a sandbox writes the host: every name and path stays under its directory.

The specs refuse such names already (``tests/spec/tekton/testdata``); these requests reach the
sandbox only from a substituted ``subPath`` or a caller that skipped the specs, and must write nothing
outside ``root``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gitloop.errors import PipelineError
from gitloop.executors.sandbox import make_sandbox, within
from gitloop.ports import SandboxRequest, VolumeRequest


def _volume(**fields: object) -> VolumeRequest:
    return VolumeRequest(**{"name": "ws", "mount_path": "/workspace/ws", **fields})  # type: ignore[arg-type]


# request -> words of the error
ESCAPES: list[tuple[SandboxRequest, str]] = [
    (SandboxRequest("../outside"), "sandbox '../outside' cannot name a directory"),
    (SandboxRequest(".."), "sandbox '..' cannot name a directory"),
    (SandboxRequest("tr", containers=("../../step",)), "container '../../step' cannot name a directory"),
    (SandboxRequest("tr", (_volume(name="../../x"),)), "workspace '../../x' cannot name a directory"),
    (SandboxRequest("tr", (_volume(sub_path="../../../outside"),)), "subPath '../../../outside' leaves"),
    (SandboxRequest("tr", (_volume(sub_path="/tmp/outside"),)), "subPath '/tmp/outside' leaves"),
    (SandboxRequest("tr", (_volume(files=(("../../../outside", b"x", 0o600),)),)), "file '../../../outside'"),
    (SandboxRequest("tr", (_volume(files=(("/tmp/outside", b"x", 0o600),)),)), "file '/tmp/outside'"),
]


@pytest.mark.parametrize(("request_", "words"), ESCAPES)
def test_nothing_is_written_outside_the_root(tmp_path: Path, request_: SandboxRequest, words: str) -> None:
    root = tmp_path / "deep" / "er" / "root"
    root.mkdir(parents=True)
    with pytest.raises(PipelineError) as caught:
        make_sandbox(root, request_)
    assert words in str(caught.value)
    outside = [p for p in tmp_path.rglob("*") if not p.is_relative_to(root) and p not in root.parents]
    assert outside == []


def test_a_host_directory_binds_with_its_sub_path_inside(tmp_path: Path) -> None:
    host = tmp_path / "claim"
    dirs = make_sandbox(
        tmp_path / "root", SandboxRequest("tr", (_volume(host_path=str(host), sub_path="a/b"),))
    )
    assert dirs.volumes["ws"] == (host / "a" / "b").resolve() and dirs.volumes["ws"].is_dir()
    with pytest.raises(PipelineError, match=r"subPath '\.\./x' leaves its directory"):
        make_sandbox(
            tmp_path / "root", SandboxRequest("tr", (_volume(host_path=str(host), sub_path="../x"),))
        )


@pytest.mark.parametrize(("sub_path", "ok"), [("", True), ("a/./b", True), (".", True), ("a/../..", False)])
def test_within(tmp_path: Path, sub_path: str, ok: bool) -> None:
    if ok:
        assert within(tmp_path, sub_path).is_relative_to(tmp_path.resolve())
    else:
        with pytest.raises(PipelineError):
            within(tmp_path, sub_path)
