"""What a collected quorum opens on a device: the unlock, and a first backup passphrase."""

from __future__ import annotations

import enum

from hsmconsole.custody.quorum import ShareCollector
from hsmconsole.custody.shares import ShareSet
from hsmconsole.device.client import Credentials, DeviceClient, RateLimited
from hsmconsole.errors import AuthError, ErrorKind, HsmConsoleError
from hsmconsole.journal.chain import Journal, Outcome, record


def unlock_by_quorum(
    collector: ShareCollector, client: DeviceClient, journal: Journal | None = None
) -> None:
    """Combine the collected unlock shares (refusing a bad set before any request) and unlock.

    The combined passphrase is wiped whatever happens; the journal gets set id and share
    fingerprints, never the shares.
    """
    meta = collector.set
    prints = tuple(s.fingerprint for s in collector.shares)
    secret = collector.combine()
    try:
        client.unlock(secret)
    except HsmConsoleError as exc:
        _journal(journal, client, "unlock", Outcome.FAILED, meta, prints, exc.kind.value)
        if exc.kind is ErrorKind.AUTH and not isinstance(exc, RateLimited):
            raise shares_refused(meta, "unlock", client) from None
        raise
    finally:
        secret.wipe()
    _journal(journal, client, "unlock", Outcome.OK, meta, prints, "quorum unlock")


def set_backup_passphrase_by_quorum(
    collector: ShareCollector,
    client: DeviceClient,
    admin: Credentials,
    journal: Journal | None = None,
) -> None:
    """Rebuild the backup passphrase from its shares and set it on a device that has none yet.

    This finishes a ceremony that stopped after provisioning. A device that already has a backup
    passphrase refuses (it needs the current one): that is rotation, not this.
    """
    meta = collector.set
    prints = tuple(s.fingerprint for s in collector.shares)
    secret = collector.combine()
    try:
        client.set_backup_passphrase(admin, secret)
    except HsmConsoleError as exc:
        # A 403 to an empty "current" passphrase is the device saying it already has one.
        why = ALREADY_SET if exc.kind is ErrorKind.AUTH else exc.kind.value
        _journal(journal, client, "backup-passphrase.set", Outcome.FAILED, meta, prints, why)
        raise
    finally:
        secret.wipe()
    _journal(journal, client, "backup-passphrase.set", Outcome.OK, meta, prints, "from shares")


ALREADY_SET = "the device already has a backup passphrase"


class BackupPassphraseRecord(enum.Enum):
    """What this console's journal says about a device's backup passphrase."""

    SET = "set"
    NOT_SET = "not set"
    UNKNOWN = "unknown"


def backup_passphrase_record(journal: Journal | None, device_id: str) -> BackupPassphraseRecord:
    """Whether the device has a backup passphrase, as far as the journal knows.

    The NetHSM API has no read for it: PUT /config/backup-passphrase is the only endpoint that
    touches it, and with an empty current passphrase it *sets* one where none is set (every other
    probe fails the same way whether one is set or not; /system/backup would tell, but only to a
    Backup user). So the least intrusive check is our own record: provisioning never sets one
    (reference 6.2), and the ceremony's backup step, a set from shares, a finished rotation of
    it, or the device refusing a set because it already has one, each say it is set. The latest
    of these for the device wins.
    Blocking (reads and verifies the journal): call it from a worker thread.
    """
    if journal is None:
        return BackupPassphraseRecord.UNKNOWN
    try:
        entries = journal.entries()
    except HsmConsoleError:
        return BackupPassphraseRecord.UNKNOWN  # a damaged journal says nothing reliable
    known = BackupPassphraseRecord.UNKNOWN
    for entry in entries:
        event = entry.event
        if event.device_id != device_id:
            continue
        ok = event.outcome is Outcome.OK
        sets = event.action in ("ceremony.step.backup-passphrase", "backup-passphrase.set") and ok
        # A finished rotation of the backup passphrase (rotation/record.py's journal head).
        sets = sets or (ok and event.action == "rotation.verified"
                        and event.detail.startswith("kind=backup;"))
        refused = event.action == "backup-passphrase.set" and event.detail == ALREADY_SET
        if event.action == "ceremony.step.provision" and ok:
            known = BackupPassphraseRecord.NOT_SET
        elif sets or refused:
            known = BackupPassphraseRecord.SET
    return known


def shares_refused(meta: ShareSet | None, what: str, client: DeviceClient) -> AuthError:
    """The device refused what a quorum of shares rebuilt. The custodians typed shares, not a user
    or a passphrase, and they fitted together: so they are of another device or an older
    generation. Say that, and what to check, instead of the device's words about credentials."""
    set_id = f"set {meta.set_id}, generation {meta.generation}" if meta else "this set"
    return AuthError(
        f"These {what} shares ({set_id}) do not open this device ({client.profile.name}).",
        "They fit together, so none was mistyped: they were made for another device, or replaced "
        "by a newer generation. Check that this is the right device, that the envelopes or paper "
        "forms are this device's, and the set id and generation written on them against the "
        "ceremony report. Nothing was changed; the combined passphrase was wiped.",
    )


def _journal(
    journal: Journal | None,
    client: DeviceClient,
    action: str,
    outcome: Outcome,
    meta: ShareSet | None,
    prints: tuple[str, ...],
    detail: str,
) -> None:
    record(
        journal, action, outcome, actor="quorum", device_id=client.profile.name,
        set_ids=(meta.set_id,) if meta else (), share_fingerprints=prints, detail=detail,
    )


__all__ = [
    "BackupPassphraseRecord",
    "backup_passphrase_record",
    "set_backup_passphrase_by_quorum",
    "shares_refused",
    "unlock_by_quorum",
]
