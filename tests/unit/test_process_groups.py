"""The one process-group killer: a whole group ends (a child's own child too), and a group that is gone
is not an error."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from gitloop.processes import signal_group, terminate_group


def test_killing_a_group_ends_the_child_and_its_children() -> None:
    code = (
        "import subprocess, sys, time; "
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        "print(p.pid, flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, start_new_session=True)
    assert proc.stdout is not None
    grandchild = int(proc.stdout.readline())
    assert terminate_group(proc.pid)
    assert proc.wait(timeout=10) != 0
    deadline = time.monotonic() + 10
    while _running(grandchild):
        assert time.monotonic() < deadline, "the grandchild outlived its group"
        time.sleep(0.05)
    proc.stdout.close()


def test_a_group_that_is_gone_is_not_an_error() -> None:
    assert not signal_group(2**22 + 11)  # no such group: nothing delivered, nothing raised


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")
