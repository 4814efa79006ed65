"""The SQLite store's file on disk: readable by its owner only.

The file holds every run, Application status, history and log of gitloop, so it is created mode 0600
(and a wider mode found on an existing file is narrowed), in a directory created mode 0700. SQLite
gives its ``-wal`` and ``-shm`` files the mode of the database file. An existing directory is left as
it is: it may be the user's own (``--database-url ./runs.db``); gitloop's state directory is made
private where it is chosen (``gitloop.localinfra.paths.state_dir``).

An existing database file is never opened here, only ``chmod``-ed by path: closing any descriptor of a
SQLite file drops every POSIX lock this process holds on it, so a second store opened in a process that
already has one (serve opens several) would let another process check-point and delete the live WAL
under the first connection, and its writes would vanish.
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
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE))
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & ~FILE_MODE:
            path.chmod(mode & FILE_MODE)
