"""The SQLite store's file on disk: readable by its owner only.

The file holds every run, Application status, history and log of gitloop, so it is created mode 0600
(and a wider mode found on an existing file is narrowed), in a directory created mode 0700. SQLite
gives its ``-wal`` and ``-shm`` files the mode of the database file. An existing directory is left as
it is: it may be the user's own (``--database-url ./runs.db``); gitloop's state directory is made
private where it is chosen (``gitloop.localinfra.paths.state_dir``).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_file(path: Path) -> None:
    """Create ``path`` (and its missing directories, ``DIR_MODE``) as an empty ``FILE_MODE`` file, or
    narrow an existing one to ``FILE_MODE``. ``OSError`` when that cannot be done."""
    path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        mode = stat.S_IMODE(os.fstat(descriptor).st_mode)
        if mode & ~FILE_MODE:
            os.fchmod(descriptor, mode & FILE_MODE)
    finally:
        os.close(descriptor)
