"""Day-to-day users' passphrases rotated: one user, a role or a namespace; delivered once, failures named."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hsmconsole import fileio
from hsmconsole.custody.passgen import generate_passphrase
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.device.passphrases import UserInfo, list_user_info, set_user_passphrase
from hsmconsole.errors import HsmConsoleError, InputError
from hsmconsole.journal.chain import Journal, Outcome, record
from hsmconsole.models import UserRole
from hsmconsole.secrets import Secret

# Quorum-held: rotated with its shares (rotation/run.py), never handed to one person here.
QUORUM_USER = "admin"


class Delivery(enum.Enum):
    SHOW = "show"  # shown once on screen (or printed once by the CLI), kept nowhere
    FILES = "files"  # one 0600 file per user in a directory the person chose
    KEYRING = "keyring"  # the OS keyring entry for (profile, user)


@dataclass(frozen=True)
class Selection:
    """Which users: exactly one of `user_id`, `role`, `namespace` ("" = root namespace users)."""

    user_id: str | None = None
    role: UserRole | None = None
    namespace: str | None = None

    def describe(self) -> str:
        if self.user_id is not None:
            return f"user {self.user_id}"
        if self.role is not None:
            return f"every {self.role.value} user"
        return f"every user of namespace {self.namespace}" if self.namespace else "every root user"


def select_users(users: Sequence[UserInfo], selection: Selection) -> list[UserInfo]:
    """The users a selection names, the quorum-held admin left out. InputError when none match."""
    given = [x is not None for x in (selection.user_id, selection.role, selection.namespace)]
    if sum(given) != 1:
        raise InputError("Choose one user, one role or one namespace.")
    if selection.user_id == QUORUM_USER:
        raise InputError(
            "The 'admin' passphrase is held by custodians as shares.",
            "Rotate it as a device passphrase (with its quorum), not as a user passphrase.",
        )
    chosen = [
        u for u in users
        if u.user_id != QUORUM_USER and (
            u.user_id == selection.user_id
            or (selection.role is not None and u.role is selection.role)
            or (selection.namespace is not None and u.namespace == selection.namespace)
        )
    ]  # fmt: skip
    if not chosen:
        raise InputError(f"No user matches: {selection.describe()}.", "List the users and check the name.")
    return chosen


@dataclass(frozen=True, eq=False)
class UserOutcome:
    user_id: str
    passphrase: Secret | None = field(default=None, repr=False)  # for SHOW: shown once, then wiped
    delivered_to: str = ""  # file path or "keyring"
    error: str = ""  # why this user was not rotated ("" when it was)
    keyring_updated: bool = False

    @property
    def rotated(self) -> bool:
        return not self.error


@dataclass(frozen=True)
class UserRotationReport:
    outcomes: tuple[UserOutcome, ...]

    @property
    def rotated(self) -> tuple[str, ...]:
        return tuple(o.user_id for o in self.outcomes if o.rotated)

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(o.user_id for o in self.outcomes if not o.rotated)

    def summary(self) -> str:
        text = f"New passphrases: {', '.join(self.rotated) or 'none'}."
        if self.failed:
            text += f" NOT changed (their old passphrases still work): {', '.join(self.failed)}."
        return text


def passphrase_file(directory: Path, profile: str, user_id: str) -> Path:
    return directory / f"{profile}-{user_id.replace('~', '_')}.passphrase"


def rotate_users(
    client: DeviceClient,
    admin: Credentials,
    selection: Selection,
    delivery: Delivery,
    *,
    directory: Path | None = None,
    vault: CredentialVault | None = None,
    journal: Journal | None = None,
    device_id: str = "",
    progress: Callable[[int, int, str], None] = lambda done, total, label: None,
) -> UserRotationReport:
    """One user after another: a new passphrase, set on the device, then delivered. A failure
    stops nothing else and is named in the report; every user in it says exactly what happened.

    Keyring entries of rotated users are replaced whatever the delivery (an old one would fail)."""
    if delivery is Delivery.FILES and directory is None:
        raise InputError("Choose a directory for the passphrase files.")
    if delivery is Delivery.KEYRING and (vault is None or not vault.available):
        raise InputError("There is no OS keyring here.", "Choose files or show them once instead.")
    users = select_users(list_user_info(client, admin), selection)
    if delivery is Delivery.FILES:
        assert directory is not None
        clash = [u.user_id for u in users if passphrase_file(directory, device_id, u.user_id).exists()]
        if clash:  # refused before any device change: an old file would never be overwritten anyway
            raise InputError(
                f"Passphrase files already exist for: {', '.join(clash)}.",
                "Move them away (or choose another directory) first.",
            )
    outcomes: list[UserOutcome] = []
    for i, user in enumerate(users):
        progress(i, len(users), f"Rotating {user.user_id}")
        new = generate_passphrase(label=f"passphrase of {user.user_id}")
        try:
            set_user_passphrase(client, admin, user.user_id, new)
        except HsmConsoleError as exc:
            new.wipe()
            outcomes.append(UserOutcome(user.user_id, error=exc.title))
            record(
                journal,
                "rotation.user",
                Outcome.FAILED,
                actor=admin.user_id,
                device_id=device_id,
                detail=f"user {user.user_id}: {exc.title}"[:300],
            )
            continue
        outcomes.append(_deliver(user.user_id, new, delivery, directory, vault, device_id))
        record(
            journal,
            "rotation.user",
            Outcome.OK,
            actor=admin.user_id,
            device_id=device_id,
            detail=f"user {user.user_id}: new passphrase set; {delivery.value}",
        )
    progress(len(users), len(users), "Done")
    return UserRotationReport(tuple(outcomes))


def _deliver(
    user_id: str,
    new: Secret,
    delivery: Delivery,
    directory: Path | None,
    vault: CredentialVault | None,
    profile: str,
) -> UserOutcome:
    kept = vault is not None and vault.available and vault.has(profile, user_id)
    updated = (
        bool(kept or delivery is Delivery.KEYRING) and vault is not None and vault.set(profile, user_id, new)
    )
    if delivery is Delivery.FILES:
        assert directory is not None
        path = passphrase_file(directory, profile, user_id)
        try:
            fileio.write_private(path, new.reveal() + b"\n")
        except OSError as exc:
            # The device has it: show it once rather than lose it.
            return UserOutcome(
                user_id, new, f"NOT written ({exc.strerror}): shown once", keyring_updated=updated
            )
        new.wipe()
        return UserOutcome(user_id, None, str(path), keyring_updated=updated)
    if delivery is Delivery.KEYRING:
        if updated:
            new.wipe()
            return UserOutcome(user_id, None, "keyring", keyring_updated=True)
        return UserOutcome(user_id, new, "keyring refused it: shown once")
    return UserOutcome(user_id, new, "shown once", keyring_updated=updated)


__all__ = [
    "Delivery",
    "Selection",
    "UserOutcome",
    "UserRotationReport",
    "passphrase_file",
    "rotate_users",
    "select_users",
]
