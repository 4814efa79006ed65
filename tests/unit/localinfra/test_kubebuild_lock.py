"""Two builds of the local control plane never run at once: the second waits for the first and uses its
binaries (before, it wiped the first one's work directory and both failed)."""

from __future__ import annotations

import fcntl
import shutil
import threading
import time
from pathlib import Path

import pytest

from gitloop.localinfra import kubebuild


def test_a_second_build_waits_for_the_first_and_uses_its_binaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("etcd") is None:
        pytest.fail("etcd is not installed (apt-get install etcd-server)", pytrace=False)
    monkeypatch.setenv("GITLOOP_CACHE_DIR", str(tmp_path))

    def build_again(progress: kubebuild.Progress | None, lock: int) -> kubebuild.Binaries:
        raise AssertionError("built although another build was finishing the same binaries")

    monkeypatch.setattr(kubebuild, "_build", build_again)
    lock = tmp_path / "build" / "k8s.lock"
    lock.parent.mkdir(parents=True)
    holder = lock.open("a")
    fcntl.flock(holder, fcntl.LOCK_EX)

    def first_build_finishes() -> None:
        time.sleep(0.5)
        kubebuild.binaries_dir().mkdir(parents=True)
        for name in kubebuild.CONTROL_PLANE:
            (kubebuild.binaries_dir() / name).write_text("")
            (kubebuild.binaries_dir() / name).chmod(0o755)
        holder.close()

    finisher = threading.Thread(target=first_build_finishes)
    started = time.monotonic()
    finisher.start()
    try:
        binaries = kubebuild.build()
    finally:
        finisher.join()
    assert time.monotonic() - started >= 0.4
    assert binaries.apiserver == kubebuild.binaries_dir() / "kube-apiserver"
