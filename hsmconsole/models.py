"""Frozen dataclasses and enums that cross from the core into the UI (never raw SDK objects)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class DeviceState(enum.Enum):
    UNPROVISIONED = "Unprovisioned"
    LOCKED = "Locked"
    OPERATIONAL = "Operational"
    FAILED = "Failed"
    UNREACHABLE = "Unreachable"  # ours: the device did not answer


class UserRole(enum.Enum):
    ADMINISTRATOR = "Administrator"
    OPERATOR = "Operator"
    METRICS = "Metrics"
    BACKUP = "Backup"


class TlsTrust(enum.Enum):
    PINNED = "pinned"  # certificate matches the profile's confirmed fingerprint
    UNPINNED = "unpinned"  # first contact: fingerprint shown, not yet confirmed
    INSECURE = "insecure"  # the profile explicitly skips verification
    MISMATCH = "mismatch"  # the device presented another certificate: refused, nothing sent


@dataclass(frozen=True)
class UserCheck:
    """What a day-to-day user's own credentials showed: its role and what that role could read.

    `role` is None for a user that authenticated but could do none of the checks (a user of a
    namespace that does not exist). `keys` is set for an Operator, `metrics` for a Metrics user.
    """

    user_id: str
    role: UserRole | None
    keys: int | None = None
    metrics: int | None = None


@dataclass(frozen=True)
class Counts:
    users: int
    namespaces: int
    keys: int


@dataclass(frozen=True)
class SystemSummary:
    software_version: str
    firmware_version: str
    hardware_version: str
    build_tag: str
    device_id: str = ""  # the device's own id (GET /system/info deviceId); "" when it was not read


@dataclass(frozen=True)
class DeviceStatus:
    """What the dashboard shows. Fields needing admin rights are None without an admin session."""

    host: str
    state: DeviceState
    vendor: str = ""
    product: str = ""
    tls: TlsTrust = TlsTrust.UNPINNED
    fingerprint: str = ""  # the pinned one
    presented: str = ""  # with MISMATCH: the one the device presented instead ("" if not known)
    system: SystemSummary | None = None
    counts: Counts | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Action:
    """Something the dashboard offers, enabled or dimmed with the reason."""

    id: str
    label: str
    enabled: bool
    reason: str = ""


def actions_for(
    state: DeviceState, *, admin_session: bool, pinned: bool = True,
    backup_passphrase_set: bool | None = None,
) -> tuple[Action, ...]:
    """Which actions a device state allows (reference §2.1), with why the others are dimmed.

    `pinned` False (an insecure profile) dims the ceremony: it would send the new unlock and admin
    passphrases over TLS that nobody verified (the review screen refuses it too).
    `backup_passphrase_set` True (the journal says so; the device cannot be asked) dims setting
    one from shares, which only works where none is set."""
    unprov = state is DeviceState.UNPROVISIONED
    locked = state is DeviceState.LOCKED
    oper = state is DeviceState.OPERATIONAL
    need_oper = "only on an Operational device"
    can_provision = unprov and pinned
    why_not = "only on an Unprovisioned device" if not unprov else "needs a pinned TLS certificate"
    return (
        Action("provision", "Provisioning ceremony", can_provision, "" if can_provision else why_not),
        Action("unlock", "Quorum unlock", locked, "" if locked else "only on a Locked device"),
        Action(
            "lock",
            "Lock the device",
            oper and admin_session,
            "" if oper and admin_session else ("needs an admin session" if oper else need_oper),
        ),
        Action(
            "admin",
            "Quorum admin session",
            oper and not admin_session,
            "" if oper and not admin_session else ("already open" if admin_session else need_oper),
        ),
        Action(
            "backup-passphrase",
            "Set backup passphrase from shares",
            oper and admin_session and not backup_passphrase_set,
            "already set (journal): use rotation" if oper and backup_passphrase_set
            else "" if oper and admin_session
            else ("needs an admin session" if oper else need_oper),
        ),
        Action(
            "signin", "Sign in as a day-to-day user", oper, "" if oper else need_oper
        ),
        *_administration(oper),
        Action(
            "system",
            "System settings and maintenance",
            oper and admin_session,
            "" if oper and admin_session else ("needs an admin session" if oper else need_oper),
        ),
        # Admin rotation needs only its own quorum; unlock, backup, users and TLS ask for a session.
        Action("rotate", "Credential rotation", oper, "" if oper else need_oper),
        Action("backup", "Backups: make, inspect, restore, rehearse", True),
        Action("refresh", "Refresh status", True),
    )


def _administration(oper: bool) -> tuple[Action, ...]:
    """Users, Namespaces and Keys (issue 10): each asks who acts (quorum session or an
    Administrator user) when it opens, so only the device state dims them."""
    why = "" if oper else "only on an Operational device"
    return (
        Action("users", "Users", oper, why),
        Action("namespaces", "Namespaces", oper, why),
        Action("keys", "Keys", oper, why),
        Action("plan", "Apply an administration file", oper, why),
    )
