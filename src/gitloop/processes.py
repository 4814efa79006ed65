"""The one process-group killer: every part of gitloop that stops what it started (git commands, steps
and sidecars, the local control plane, the Kubernetes build) signals a whole process group through
here, so a child's own children (git-remote-https, a step's background job) end with it.

A group that is gone already, or that is not ours to signal, is not an error: the caller asked for it
to be gone, and ``signal_group`` says whether the signal was delivered.
"""

from __future__ import annotations

import os
import signal


def signal_group(pid: int, sig: int = signal.SIGKILL) -> bool:
    """Send ``sig`` (default SIGKILL) to the process group led by ``pid``; whether it was delivered
    (``False``: no such group, or not ours to signal)."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def terminate_group(pid: int) -> bool:
    """SIGTERM to the process group led by ``pid`` (the polite first step of a stop)."""
    return signal_group(pid, signal.SIGTERM)
