"""Atomic, private (0600) file writes: the only way the core puts bytes on disk."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_private(path: Path | str, data: bytes, *, overwrite: bool = False) -> Path:
    """Write `data` to `path` atomically with mode 0600.

    The bytes go to a temporary file in the same directory (created 0600 by mkstemp), are fsynced,
    then renamed over the target, so a reader never sees a half-written file and a crash leaves
    either the old file or none. With `overwrite=False` an existing file is an error, so a backup
    or share is never silently replaced.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    if not overwrite and target.exists():
        raise FileExistsError(f"{target} already exists")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        if overwrite:
            os.replace(tmp, target)
        else:
            # link() fails if the target appeared meanwhile, unlike rename().
            os.link(tmp, target)
            os.unlink(tmp)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    return target


def append_private(path: Path | str, line: bytes) -> None:
    """Append one line to a 0600 file (created if missing), fsynced: used for append-only journals."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
