"""Make a backup: streamed download into a private temporary file, checked, named, and a manifest."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hsmconsole import fileio
from hsmconsole.backup.inspect import BackupReport, inspect_backup, structure_of
from hsmconsole.device import backups as device_backups
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.errors import HsmConsoleError, InputError, IntegrityError
from hsmconsole.journal.chain import Journal, Outcome, record
from hsmconsole.secrets import Secret

SUFFIX = ".nethsm-backup"
MANIFEST_SUFFIX = ".json"
PARTIAL_PREFIX = ".partial-"  # a download in progress, or one cut by a crash: never a good backup
LOCK_NAME = ".hsmconsole-backup.lock"
MANIFEST_KIND = "hsmconsole backup manifest"

Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest_path: Path
    manifest: dict[str, Any]
    checked: str  # "structure" or "contents"
    removed_partials: tuple[Path, ...] = ()  # leftovers of interrupted downloads, cleaned up


def _write_error(where: Path, exc: OSError) -> InputError:
    reason = exc.strerror or type(exc).__name__
    return InputError(
        f"Cannot write the backup in {where}: {reason}.",
        "Choose a directory you can write to, with free space; nothing was left behind.",
    )


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:64] or "device"


def backup_name(device: str, when: datetime) -> str:
    return f"{_safe(device)}-{when.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}{SUFFIX}"


def _free_name(directory: Path, device: str, when: datetime) -> Path:
    base = backup_name(device, when)[: -len(SUFFIX)]
    for n in range(1, 1000):
        candidate = directory / f"{base}{'' if n == 1 else f'-{n}'}{SUFFIX}"
        if not candidate.exists() and not Path(f"{candidate}{MANIFEST_SUFFIX}").exists():
            return candidate
    raise InputError(f"Too many backups named {base} in {directory}.", "Choose another directory.")


@contextlib.contextmanager
def _directory_lock(directory: Path) -> Iterator[list[Path]]:
    """Hold the backup directory's lock for one backup. Any partial download found while holding
    it was cut by a crash or a kill (no other backup is running here): it is removed, and named."""
    try:
        fileio.make_directory(directory)
        fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise _write_error(directory, exc) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(
                f"Another backup is being written into {directory} right now.",
                "Wait for it to finish, or choose another directory.",
            ) from None
        stale = sorted(directory.glob(f"{PARTIAL_PREFIX}*"))
        for leftover in stale:
            with contextlib.suppress(OSError):
                leftover.unlink()
        yield stale
    finally:
        os.close(fd)


def _download(client: DeviceClient, creds: Credentials, directory: Path, progress: Progress | None) -> Path:
    """Stream the backup into a 0600 temporary file in `directory`, fsynced. Removed on any failure."""
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=PARTIAL_PREFIX, suffix=SUFFIX, dir=directory)
    except OSError as exc:
        raise _write_error(directory, exc) from None
    tmp = Path(tmp_name)

    def consume(chunks: Iterator[bytes], total: int | None) -> int:
        # Unbuffered writes on the descriptor: a full disk fails the write that hit it, here,
        # not a flush at close time that would hide our message behind a bare OSError.
        done = 0
        if progress:
            progress(0, total)
        for chunk in chunks:
            view = memoryview(chunk)
            try:
                while view:
                    view = view[os.write(fd, view) :]
            except OSError as exc:
                raise _write_error(directory, exc) from None
            done += len(chunk)
            if progress:
                progress(done, total)
        try:
            os.fsync(fd)
        except OSError as exc:
            raise _write_error(directory, exc) from None
        if total is not None and done != total:
            raise IntegrityError(
                f"The download ended after {done} of {total} bytes.", "Make the backup again."
            )
        return done

    try:
        device_backups.stream_backup(client, creds, consume)
        with contextlib.suppress(OSError):
            os.chmod(tmp, 0o600)  # mkstemp made it 0600 already; this only narrows a looser umask
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
    return tmp


def create_backup(
    client: DeviceClient,
    creds: Credentials,
    out_dir: Path | str,
    *,
    backup_passphrase: Secret | None = None,
    admin: Credentials | None = None,
    progress: Progress | None = None,
    journal: Journal | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> BackupResult:
    """Make a backup as the Backup-role user `creds` into `out_dir` (never overwriting), check it
    (framing always; contents with `backup_passphrase`), and write its JSON manifest beside it.
    With `admin`, the manifest also holds the device's system info and the ids it listed just
    before the backup. This is the one entry point for "a backup after every reconfiguration"."""
    directory = Path(out_dir)
    with _directory_lock(directory) as stale:
        result = _create(
            client, creds, directory, backup_passphrase, admin, progress, journal, now()
        )
    return dataclasses.replace(result, removed_partials=tuple(stale))


def _create(
    client: DeviceClient,
    creds: Credentials,
    directory: Path,
    backup_passphrase: Secret | None,
    admin: Credentials | None,
    progress: Progress | None,
    journal: Journal | None,
    started: datetime,
) -> BackupResult:
    listed = device_backups.listing(client, admin) if admin is not None else None
    system = device_backups.system_summary(client, admin) if admin is not None else None
    try:
        tmp = _download(client, creds, directory, progress)
    except HsmConsoleError as exc:
        _journal(journal, client, creds, Outcome.FAILED, f"download: {exc.kind.value}")
        raise
    try:
        structure, sha = structure_of(str(tmp))
        report: BackupReport | None = None
        if backup_passphrase is not None:
            report = inspect_backup(tmp, backup_passphrase=backup_passphrase)
        device = (report.device_id if report else "") or (system.device_id if system else "")
        target = _free_name(directory, device or client.profile.name, started)
        manifest = _manifest(
            target, structure.size, sha, structure.version, report, client, system, listed, started
        )
        try:
            fileio.publish_new(tmp, target)
        except OSError as exc:
            raise _write_error(directory, exc) from None
    except HsmConsoleError as exc:
        _journal(journal, client, creds, Outcome.FAILED, f"check: {exc.kind.value}")
        raise
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    manifest_path = Path(f"{target}{MANIFEST_SUFFIX}")
    try:
        fileio.write_private(manifest_path, (json.dumps(manifest, indent=2) + "\n").encode())
    except OSError as exc:
        # The backup itself is complete and checked; only its description could not be written.
        raise InputError(
            f"The backup {target.name} was written, but not its manifest: {exc.strerror}.",
            "The backup is good; inspect it with `hsmconsole backup inspect`.",
        ) from None
    _journal(journal, client, creds, Outcome.OK, f"{target.name}, {structure.size} bytes")
    return BackupResult(target, manifest_path, manifest, manifest["checked"])


def _manifest(
    target: Path,
    size: int,
    sha: str,
    version: int,
    report: BackupReport | None,
    client: DeviceClient,
    system: Any,
    listed: device_backups.Listing | None,
    started: datetime,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": MANIFEST_KIND,
        "manifest_version": 1,
        "file": target.name,
        "sha256": sha,
        "size": size,
        "format_version": version,
        "device_id": (report.device_id if report else "") or (system.device_id if system else "") or None,
        "profile": client.profile.name,
        "host": client.profile.host,
        "created_utc": started.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "checked": "contents" if report else "structure",
        "system": None,
        "listed_by_device": None,
        "in_backup": None,
    }
    if system is not None:
        out["system"] = {
            "software_version": system.software_version, "firmware_version": system.firmware_version,
            "hardware_version": system.hardware_version, "build_tag": system.build_tag,
        }  # fmt: skip
    if listed is not None:
        out["listed_by_device"] = {
            "users": list(listed.users), "namespaces": list(listed.namespaces),
            "keys": list(listed.keys),
        }  # fmt: skip
    if report is not None:
        out["in_backup"] = report.inventory.as_ids()
    return out


def read_manifest(backup: Path | str) -> dict[str, Any] | None:
    """The manifest beside a backup, if there is one (None); InputError if it is not ours."""
    path = Path(f"{backup}{MANIFEST_SUFFIX}")
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InputError(f"{path.name} is not a readable manifest.", "Check or remove it.") from None
    if not isinstance(data, dict) or data.get("kind") != MANIFEST_KIND:
        raise InputError(f"{path.name} is not an hsmconsole backup manifest.", "Check or remove it.")
    return data


def check_against_manifest(backup: Path | str, sha: str, size: int) -> dict[str, Any] | None:
    """IntegrityError if the backup's manifest records another SHA-256 or size than the file has."""
    manifest = read_manifest(backup)
    if manifest is None:
        return None
    if manifest.get("sha256") != sha or manifest.get("size") != size:
        raise IntegrityError(
            f"{Path(backup).name} does not match its manifest (SHA-256 or size differ).",
            "The file was changed or damaged after it was made: use another backup.",
        )
    return manifest


def _journal(
    journal: Journal | None, client: DeviceClient, creds: Credentials, outcome: Outcome, detail: str
) -> None:
    record(journal, "backup.create", outcome, actor=creds.user_id, device_id=client.profile.name,
           detail=detail)  # fmt: skip
