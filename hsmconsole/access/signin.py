"""Signing in a day-to-day user: its passphrase checked with the device, kept in the OS keyring on request."""

from __future__ import annotations

from dataclasses import dataclass

from hsmconsole.access.session import DEFAULT_IDLE_TIMEOUT, AdminSession
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
    # An Administrator other than `admin`: its credentials, held (idle timeout) for the admin screens.
    session: AdminSession | None = None

    def summary(self) -> str:
        c = self.check
        who = f"{c.user_id} ({c.role.value})" if c.role else c.user_id
        if c.role is UserRole.OPERATOR:
            what = f"it sees {c.keys} key{'s' if c.keys != 1 else ''}."
        elif c.role is UserRole.METRICS:
            what = f"it can read the device metrics ({c.metrics} values)."
        elif c.role is UserRole.ADMINISTRATOR:
            what = "it administers Users, Namespaces and Keys from the dashboard until it is unused too long."
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
    administrators: bool = False,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
) -> SignedIn:
    """Check a day-to-day user's passphrase with the device; keep it in the keyring only when the
    person asked and the device accepted it. `admin` is always refused; another Administrator only
    unless `administrators`, and then its credentials are held in `SignedIn.session` (the caller
    wipes them); in every other case the passphrase in `creds` is wiped afterwards."""
    profile = client.profile.name
    session: AdminSession | None = None
    try:
        refuse_administrator(creds.user_id)
        check = client.check_user(creds)
        if check.role is UserRole.ADMINISTRATOR and not administrators:
            raise _AdministratorRefused(
                f"{creds.user_id} is an Administrator: administrators do not sign in here.",
                "Administrator passphrases are never kept in the OS keyring; open a quorum admin "
                "session from the dashboard instead.",
            )
        kept, keep_failed = from_keyring, False
        # An Administrator's passphrase only ever goes to the keyring of a pinned profile.
        may_keep = check.role is not UserRole.ADMINISTRATOR or client.profile.pinned
        if remember and not from_keyring and may_keep:
            kept = vault.set(profile, creds.user_id, creds.passphrase)
            keep_failed = not kept
        if check.role is UserRole.ADMINISTRATOR:
            session = AdminSession(creds, idle_timeout=idle_timeout)
    except HsmConsoleError as exc:
        # Refused: we declined (an administrator); failed: the device or the keyring said no.
        outcome = Outcome.REFUSED if isinstance(exc, InputError | _AdministratorRefused) else Outcome.FAILED
        record(journal, "user.signin", outcome, actor=creds.user_id, device_id=profile, detail=exc.kind.value)
        raise
    finally:
        if session is None:
            creds.passphrase.wipe()
    role = check.role.value if check.role else "no role"
    record(journal, "user.signin", Outcome.OK, actor=creds.user_id, device_id=profile, detail=role)
    return SignedIn(check, from_keyring=from_keyring, kept=kept, keep_failed=keep_failed, session=session)
