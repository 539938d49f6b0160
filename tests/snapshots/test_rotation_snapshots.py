"""80x24 snapshots of the rotation screens, built from fixed fake data (never a real share or passphrase)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from hsmconsole.access.session import AdminSession
from hsmconsole.custody.shares import SecretKind
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.device.passphrases import TlsCertificate
from hsmconsole.device.profiles import Profile
from hsmconsole.rotation.plan import Step
from hsmconsole.rotation.record import RotationRecord
from hsmconsole.rotation.recover import assess
from hsmconsole.rotation.tls import TlsChange
from hsmconsole.rotation.users import UserOutcome, UserRotationReport
from hsmconsole.secrets import Secret
from screens.base import DeviceContext, Sessions
from screens.rotation.menu import RotationMenu
from screens.rotation.recovery import RecoveryScreen
from screens.rotation.target import TargetScreen
from screens.rotation.tls import TlsRotationScreen
from screens.rotation.users import UserRotationScreen
from tests.snapshots.test_ceremony_snapshots import FP, OTHER_FP, One

SIZE = (80, 24)
HEADER = "Credential rotation, lab-hsm"
WARNING = "EMULATOR: the built-in emulator, not a real NetHSM. Its state ends on exit."
Snap = Callable[..., bool]


def _ctx(tmp_path: Path) -> DeviceContext:
    profile = Profile("lab-hsm", "192.0.2.10:8443", fingerprint=FP)
    sessions = Sessions()
    sessions.admin = AdminSession(Credentials("admin", Secret("not-a-real-admin-passphrase")))
    return DeviceContext(profile, DeviceClient(profile), CredentialVault(), None, False, sessions)


def _record(step: Step) -> RotationRecord:
    return RotationRecord(SecretKind.UNLOCK, "K9J2W33E", 1, 2, step, 3, 4, ("Bob", "Carol", "Dave", "Erin"))


def test_menu(snap_compare: Snap) -> None:
    assert snap_compare(One(RotationMenu(header=HEADER, warning=WARNING)), terminal_size=SIZE)


def test_target_refused(snap_compare: Snap) -> None:
    async def fill(pilot: Pilot[Any]) -> None:
        await pilot.press("tab", *"Bob, Carol, bob", "tab", "2", "enter")

    screen = TargetScreen(has_admin_session=True, header=HEADER, warning=WARNING)
    assert snap_compare(One(screen), terminal_size=SIZE, run_before=fill)


def test_recovery_ask_the_device(snap_compare: Snap, tmp_path: Path) -> None:
    screen = RecoveryScreen(_ctx(tmp_path), None, "lab-hsm", [assess(_record(Step.CHANGING))],  # type: ignore[arg-type]
                            header=HEADER, warning=WARNING)  # fmt: skip
    assert snap_compare(One(screen), terminal_size=SIZE)


def test_recovery_finish(snap_compare: Snap, tmp_path: Path) -> None:
    screen = RecoveryScreen(_ctx(tmp_path), None, "lab-hsm", [assess(_record(Step.CHANGED))],  # type: ignore[arg-type]
                            header=HEADER, warning=WARNING)  # fmt: skip
    assert snap_compare(One(screen), terminal_size=SIZE)


def test_users_partial_failure(snap_compare: Snap, tmp_path: Path) -> None:
    screen = UserRotationScreen(_ctx(tmp_path))
    report = UserRotationReport((
        UserOutcome("op1", None, "/media/stick/lab-hsm-op1.passphrase"),
        UserOutcome("op2", None, "/media/stick/lab-hsm-op2.passphrase", keyring_updated=True),
        UserOutcome("ns~op", error="Set the passphrase of ns~op: this administrator may not change it."),
    ))  # fmt: skip

    async def show(pilot: Pilot[Any]) -> None:
        screen._done(report)
        await pilot.pause()

    assert snap_compare(One(screen), terminal_size=SIZE, run_before=show)


def test_tls_compare_before_pinning(snap_compare: Snap, tmp_path: Path) -> None:
    screen = TlsRotationScreen(_ctx(tmp_path))
    change = TlsChange(FP, TlsCertificate("-----BEGIN CERTIFICATE-----", OTHER_FP), "generated EC_P256")

    async def show(pilot: Pilot[Any]) -> None:
        screen._changed(change)
        await pilot.pause()

    assert snap_compare(One(screen), terminal_size=SIZE, run_before=show)
