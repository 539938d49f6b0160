"""Atomic, private (0600) file writes: the only way the core puts bytes on disk."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

# What link() and chmod() fail with on file systems without hard links or Unix modes (FAT and
# exFAT USB sticks, where envelopes are carried, and some network or FUSE mounts).
_UNSUPPORTED = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS})


def write_private(path: Path | str, data: bytes, *, overwrite: bool = False, sync: bool = True) -> Path:
    """Write `data` to `path` atomically with mode 0600.

    The bytes go to a temporary file in the same directory (created 0600 by mkstemp), are fsynced,
    then renamed over the target, so a reader never sees a half-written file and a crash leaves
    either the old file or none. With `overwrite=False` an existing file is an error
    (FileExistsError), so a backup or share is never silently replaced. A regular file where a
    directory of the path should be is a NotADirectoryError naming that file.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    make_directory(directory)
    if not overwrite and target.exists():
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target))
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if sync:
                os.fsync(fh.fileno())
        try:
            os.chmod(tmp, 0o600)
        except OSError as exc:
            # mkstemp created it 0600 (or stricter, by umask); where modes are not supported the
            # mount decides, and a failed chmod cannot have widened anything.
            if exc.errno not in _UNSUPPORTED:
                raise
        if overwrite:
            os.replace(tmp, target)
        else:
            _create_from(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if sync:
        _sync_directory(directory)
    return target


def sync_paths(paths: list[Path]) -> None:
    """fsync files written with `sync=False`, then their directories (each once)."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    for directory in dict.fromkeys(p.parent for p in paths):
        _sync_directory(directory)


def _sync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _create_from(tmp: str, target: Path) -> None:
    """Give the finished file `tmp` the name `target`, refusing if that name exists meanwhile."""
    try:
        # link() fails if the target appeared meanwhile, unlike rename().
        os.link(tmp, target)
    except OSError as exc:
        if exc.errno not in _UNSUPPORTED:
            raise
    else:
        os.unlink(tmp)
        return
    # No hard links here: claim the name with an exclusive create (which fails if it exists), then
    # rename the finished file over our own empty placeholder. A crash in between leaves an empty
    # file, never a partial one.
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(target)
        raise


def publish_new(tmp: Path | str, target: Path | str) -> None:
    """Give a finished, fsynced temporary file its final name, never replacing an existing file
    (FileExistsError); for callers that write the temporary file themselves (a streamed download)."""
    _create_from(str(tmp), Path(target))
    with contextlib.suppress(OSError):
        dfd = os.open(Path(target).parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def file_in_the_way(directory: Path) -> Path | None:
    """The deepest existing part of `directory` if it is not a directory (so nothing can go there)."""
    for existing in (directory, *directory.parents):
        if existing.exists():
            return None if existing.is_dir() else existing
    return None


def make_directory(directory: Path, *, mode: int = 0o700) -> None:
    """mkdir -p, but a regular file in the way is a NotADirectoryError naming that file.

    New directories are 0700 by default: the names of the files we put in them (ceremony reports,
    envelopes, shares) name custodians and share sets. Existing directories are left as they are.
    """
    blocker = file_in_the_way(directory)
    if blocker is not None:
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(blocker))
    # Path.mkdir(parents=True) gives only the last directory `mode`: create each missing one.
    missing = [d for d in (directory, *directory.parents) if not d.exists()]
    try:
        for d in reversed(missing):
            d.mkdir(mode=mode, exist_ok=True)
    except FileExistsError:  # something not a directory appeared, or a dangling symlink
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(directory)) from None


def append_private(path: Path | str, line: bytes) -> None:
    """Append one line to a 0600 file (created if missing), fsynced: used for append-only journals."""
    target = Path(path)
    make_directory(target.parent)
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


REMOVABLE_ROOTS = ("/media", "/run/media", "/mnt")


def removable_media(mounts: str | None = None) -> list[Path]:
    """Mounted file systems under /media, /run/media or /mnt (where desktops, udisks and people
    mount USB sticks), in /proc/mounts order; `mounts` is that file's text (read when None).
    Only writable ones count where the text was read from this system."""
    own = mounts is None
    if mounts is None:
        try:
            mounts = Path("/proc/mounts").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
    found: list[Path] = []
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 2:
            continue
        # /proc/mounts escapes space, tab, newline and backslash as octal (\040 ...).
        point = fields[1]
        for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
            point = point.replace(code, char)
        if not any(point == root or point.startswith(root + "/") for root in REMOVABLE_ROOTS):
            continue
        if point in REMOVABLE_ROOTS[:2]:
            continue  # /media or /run/media itself is a folder of mounts, not a medium
        path = Path(point)
        if path not in found and (not own or os.access(path, os.W_OK)):
            found.append(path)
    return found
