"""Signing in a day-to-day user: its passphrase checked with the device, kept in the OS keyring on request."""

from __future__ import annotations

from dataclasses import dataclass

from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.errors import AuthError, HsmConsoleError, InputError
from hsmconsole.journal.chain import Journal, Outcome, record
from hsmconsole.models import UserCheck, UserRole

ADMIN_USER = "admin"  # created by provisioning; its passphrase is a custodian secret


@dataclass(frozen=True)
class SignedIn:
    check: UserCheck
    from_keyring: bool  # the passphrase came from the OS keyring, not from the keyboard
    kept: bool  # the passphrase is in the OS keyring now
    keep_failed: bool = False  # the person asked to keep it, but the keyring refused

    def summary(self) -> str:
        c = self.check
        who = f"{c.user_id} ({c.role.value})" if c.role else c.user_id
        if c.role is UserRole.OPERATOR:
            what = f"it sees {c.keys} key{'s' if c.keys != 1 else ''}."
        elif c.role is UserRole.METRICS:
            what = f"it can read the device metrics ({c.metrics} values)."
        elif c.role is UserRole.BACKUP:
            what = (
                "passphrase accepted. A Backup user may only download backups: choose Backups, "
                "then Make a backup, on the dashboard."
            )
        else:
            what = "passphrase accepted, but its namespace does not exist, so it may do nothing."
        if self.from_keyring:
            where = "Its passphrase came from the OS keyring."
        elif self.kept:
            where = "Its passphrase is now kept in the OS keyring."
        elif self.keep_failed:
            where = "The OS keyring refused to store the passphrase; it will be asked for again."
        else:
            where = "Its passphrase was not kept."
        return f"Signed in as {who}: {what} {where}"


class _AdministratorRefused(AuthError):
    pass


def refuse_administrator(user_id: str) -> None:
    """The admin user never signs in here: its passphrase is split among custodians."""
    if user_id == ADMIN_USER:
        raise InputError(
            "admin is the administrator: it does not sign in here.",
            "Open a quorum admin session from the dashboard instead; its passphrase is never kept.",
        )


def sign_in(
    client: DeviceClient,
    vault: CredentialVault,
    creds: Credentials,
    *,
    from_keyring: bool,
    remember: bool,
    journal: Journal | None = None,
) -> SignedIn:
    """Check a day-to-day user's passphrase with the device; keep it in the keyring only when the
    person asked, the device accepted it, and the user is not an Administrator. The passphrase
    in `creds` is wiped afterwards in every case."""
    profile = client.profile.name
    try:
        refuse_administrator(creds.user_id)
        check = client.check_user(creds)
        if check.role is UserRole.ADMINISTRATOR:
            raise _AdministratorRefused(
                f"{creds.user_id} is an Administrator: administrators do not sign in here.",
                "Administrator passphrases are never kept in the OS keyring; open a quorum admin "
                "session from the dashboard instead.",
            )
        kept, keep_failed = from_keyring, False
        if remember and not from_keyring:
            kept = vault.set(profile, creds.user_id, creds.passphrase)
            keep_failed = not kept
    except HsmConsoleError as exc:
        # Refused: we declined (an administrator); failed: the device or the keyring said no.
        outcome = Outcome.REFUSED if isinstance(exc, InputError | _AdministratorRefused) else Outcome.FAILED
        record(journal, "user.signin", outcome, actor=creds.user_id, device_id=profile, detail=exc.kind.value)
        raise
    finally:
        creds.passphrase.wipe()
    role = check.role.value if check.role else "no role"
    record(journal, "user.signin", Outcome.OK, actor=creds.user_id, device_id=profile, detail=role)
    return SignedIn(check, from_keyring=from_keyring, kept=kept, keep_failed=keep_failed)
