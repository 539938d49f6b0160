"""An exclusive lock on an emulator state directory, so two emulators never overwrite one device's store."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from hsmconsole.errors import StateError

__all__ = ["LOCK_FILE", "StateDirInUse", "StateDirLock"]

LOCK_FILE = "emulator.lock"


class StateDirInUse(StateError):
    """Another emulator (process or thread) holds the state directory."""


class StateDirLock:
    """flock(LOCK_EX) on `<state dir>/emulator.lock`, held until release() or until the process ends
    (the kernel drops it then, so a crashed emulator never leaves a stale lock). The file holds the
    holder's process id, only to name it in the refusal."""

    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = state_dir / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise StateDirInUse(
                f"The state directory {state_dir} is in use by another emulator{holder}.",
                "Stop that emulator first, or give this one another --state-dir.",
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the descriptor drops the lock


def _holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        pid = int(os.pread(fd, 32, 0).decode("ascii").strip())
        return f" (process {pid})"
    return ""
