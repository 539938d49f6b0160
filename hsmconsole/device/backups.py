"""Backup and restore on a device: a streamed download, the restore upload, and what the device lists."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import nethsm

from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.errors import AuthError, HsmConsoleError, InputError, StateError
from hsmconsole.models import DeviceState, SystemSummary
from hsmconsole.secrets import Secret

T = TypeVar("T")
CHUNK = 1 << 16

# consume(chunks, content_length): writes the body somewhere and returns what it likes. It must turn
# its own failures (a full disk) into HsmConsoleError: anything else is taken for a transport error.
Consumer = Callable[[Iterator[bytes], int | None], T]


@dataclass(frozen=True)
class Listing:
    """Ids the device lists to an Administrator. Namespaced keys are invisible to R-Administrators
    (reference §10.5), so `keys` holds the root keys only."""

    users: tuple[str, ...]
    namespaces: tuple[str, ...]
    keys: tuple[str, ...]


def _no_backup_passphrase(exc: HsmConsoleError) -> HsmConsoleError:
    if "backup key" in exc.title:
        return StateError(
            "Backup: the device has no backup passphrase yet, so it cannot make a backup.",
            "Set one first (from a quorum of backup-passphrase shares, in the console), then retry.",
        )
    return exc


def stream_backup(client: DeviceClient, creds: Credentials, consume: Consumer[T]) -> T:
    """POST /system/backup as `creds` (a Backup-role user), handing the body to `consume` in chunks
    as it arrives: the SDK's backup() would read it whole into memory. Same pinned pool, timeouts
    and error mapping as every other call (through the SDK's generated client, streamed)."""

    def run(s: nethsm.NetHSM) -> T:
        try:
            reply = s._get_api().system_backup_post(stream=True, skip_deserialization=True)
        except Exception as exc:
            nethsm._handle_exception(exc, state=nethsm.State.OPERATIONAL, roles=[nethsm.Role.BACKUP])
        raw = reply.response
        length = raw.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        try:
            return consume(raw.stream(CHUNK, decode_content=False), total)
        finally:
            raw.release_conn()

    forbidden = AuthError(
        f"Backup: {creds.user_id} may not make backups.",
        "Only a user with the Backup role (not namespaced) can; sign in as one.",
    )
    try:
        return client.call("Backup", creds, run, {403: forbidden})
    except StateError as exc:
        raise _no_backup_passphrase(exc) from None


def restore(
    client: DeviceClient,
    admin: Credentials | None,
    backup: bytes,
    passphrase: Secret,
    when: datetime | None = None,
) -> None:
    """POST /system/restore: a full restore (no credentials, Unprovisioned device) or a partial one
    (an Administrator, Operational device). `when` sets the device's clock (default: now, UTC)."""
    moment = when or datetime.now(UTC)
    refused = InputError(
        "Restore: the device refused the backup.",
        "Check the backup passphrase and the file (inspect it offline); nothing was restored.",
    )

    def run(s: nethsm.NetHSM) -> None:
        s.restore(backup, passphrase.reveal_str(), moment)

    try:
        client.call("Restore", admin, run)
    except InputError as exc:
        said = exc.title.split("The device said:", 1)[1].strip() if "The device said:" in exc.title else ""
        if said:
            raise InputError(f"Restore: the device refused the backup: {said}", refused.hint) from None
        raise refused from None


def state(client: DeviceClient) -> DeviceState:
    return client.state()


def listing(client: DeviceClient, admin: Credentials) -> Listing:
    def run(s: nethsm.NetHSM) -> Listing:
        return Listing(
            users=tuple(sorted(s.list_users())),
            namespaces=tuple(sorted(s.list_namespaces())),
            keys=tuple(sorted(s.list_keys())),
        )

    return client.call("List users, namespaces and keys", admin, run)


def system_summary(client: DeviceClient, admin: Credentials) -> SystemSummary | None:
    """Software, firmware, hardware and device id (GET /system/info needs an Administrator)."""
    return client.status(admin).system
