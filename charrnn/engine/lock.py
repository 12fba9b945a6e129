"""One run per checkpoint folder: an advisory lock on `<out>/.lock`, held for the whole run.

The kernel drops the lock when its process dies, however it dies, so a lock left behind by a
killed run never blocks the next one; the file itself stays, holding the last owner's pid.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

from charrnn.errors import CharrnnError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, runs are not guarded
    fcntl = None

LOCK_NAME = ".lock"


@contextlib.contextmanager
def run_lock(folder: Path, enabled: bool = True):
    """Creates `folder` if needed and holds its lock; CharrnnError (exit 2) if another run has it."""
    if not enabled or fcntl is None:
        yield
        return
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except IsADirectoryError:
        raise CharrnnError(f"--out {folder}: {folder / LOCK_NAME} is a folder, where charrnn "
                           f"keeps a run's lock file; remove it or choose another --out") from None
    except OSError as e:
        raise CharrnnError(f"--out {folder}: cannot write there ({e.strerror}); choose another "
                           f"folder") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise CharrnnError(f"--out {folder}: another charrnn run (pid {owner}) is training "
                               f"into this folder; wait for it to finish or choose another "
                               f"--out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock
