"""Layer 2: one writer per data folder, across processes.

Whoever opens a data folder - ``Cloud(path=DIR)`` in a notebook, ``kms-teach serve``,
a script - takes an exclusive ``flock`` on ``DIR/lock`` for as long as it keeps the
folder open. Two openers would each hold a whole model in memory and each write
whole records, so the last writer would silently undo the other's acknowledged
writes; a second opener is refused instead, with the holder's PID and how to share
the cloud (serve it from the process that has it, and connect to the endpoint).

The lock file is opened with ``O_NOFOLLOW`` (a symlink planted in its place is
refused, never followed and truncated) and created mode 0600. The kernel drops the
lock when the holder's process ends, however it ends, so a crash never leaves the
folder locked.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from .._errors import DataDirInUse, StoreError

__all__ = ["FolderLock", "LOCK_NAME"]

LOCK_NAME = "lock"


class FolderLock:
    """An exclusive lock on a data folder, held until :meth:`release` (or the process ends)."""

    def __init__(self, folder: Path, *, holder: str | None = None):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._fd: int | None = None
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            if os.path.islink(self.path):
                raise StoreError(f"{self.path} is a symbolic link; kms_teach does not follow it. "
                                 f"Remove it and open the folder again.") from None
            raise StoreError(f"cannot open the lock file {self.path}: {exc}") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise StoreError(f"{self.path} is not a regular file; remove it and open the folder again.")
            try:
                import fcntl
            except ImportError:  # pragma: no cover - not POSIX: no lock, as before
                self._fd = fd
                return
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise DataDirInUse(str(self.folder), _read_holder(fd)) from None
            os.fchmod(fd, 0o600)
            os.ftruncate(fd, 0)
            what = holder or _describe_process()
            os.pwrite(fd, f"{os.getpid()}\n{what}\n".encode("utf-8", "replace"), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def note(self, text: str) -> None:
        """Add a line for a later opener to read (e.g. the URL ``kms-teach serve`` answers at)."""
        if self._fd is None:
            return
        size = os.fstat(self._fd).st_size
        os.pwrite(self._fd, f"{text}\n".encode("utf-8", "replace"), size)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Let go of the folder (closing the file drops the flock). Releasing twice is harmless."""
        fd, self._fd = getattr(self, "_fd", None), None
        if fd is not None:
            os.close(fd)

    def __del__(self):
        # A Cloud dropped without close() lets go of its folder when it is collected.
        try:
            self.release()
        except OSError:  # pragma: no cover - already closed
            pass


def _describe_process() -> str:
    argv = [os.path.basename(sys.argv[0])] + sys.argv[1:] if sys.argv and sys.argv[0] else ["python"]
    text = " ".join(argv)
    return text[:200]


def _read_holder(fd: int) -> dict:
    """What the holder wrote in the lock file: its PID, what it is, and any notes (e.g. a URL)."""
    try:
        text = os.pread(fd, 4096, 0).decode("utf-8", "replace")
    except OSError:
        text = ""
    lines = [line for line in text.splitlines() if line.strip()]
    pid = int(lines[0]) if lines and lines[0].strip().isdigit() else None
    return {"pid": pid, "what": lines[1] if len(lines) > 1 else None, "notes": lines[2:]}
