"""80x24 snapshots of every console screen, with fixed fake data: no clock, port, random id or real share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from hsmconsole.device.client import DeviceClient
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.device.profiles import Profile, ProfileStore
from hsmconsole.errors import IntegrityError
from hsmconsole.models import Counts, DeviceState, DeviceStatus, SystemSummary, TlsTrust
from screens.app import HsmConsoleApp
from screens.dialogs import ErrorDialog, PassphrasePrompt, TypedConfirm
from tests.keyrings import MemoryKeyring, installed
from tests.ui.conftest import settle

FP = "3F:A1:77:0C:9E:52:BD:10:44:6A:E8:21:CC:05:9B:73:18:F2:60:AA:4D:37:91:E5:0B:C8:7E:26:54:DA:13:8F"
HOST = "nethsm.example.org:8443"
# Shares of a FAKE passphrase made once for these snapshots (set SNAPSH0T); never real ones.
FAKE_UNLOCK = (
    "HSMC1 SNAPK SH0T6 000G9 00020 0C0GY 09XSW DFQ7X 88YN0 ZZ0AK VEW6H DH8PG 93FJC N8ADG YZWR7 "
    "RRKAQ SFSNY M3V30 1ABD0 1JZEC B3RK9 NVQMM H4XW0 58ZEF VERF2 Q007E QXXR1 NG00S",
    "HSMC1 SNAPK SH0T6 000G9 00020 0C10V 09Y28 TTVWB C9CVK RY6GG C6F0W TGPJY 928T1 QBYSE 99J52 "
    "W1N6Z CFVZG 06P5H 82S89 79ZDP 8NV0X 146N6 JYXW1 58ZEF VERF2 Q00FT FVESG PM00F",
)
FAKE_ADMIN = (
    "HSMC1 ADM16 NSET4 000G9 20024 0C0GY 07Q86 7FTBG KG8QR 02KF5 PA8DB F57K3 MT7SK F7V2F CBRGD "
    "NSDN4 9WYPN PP5DA HP3WD ZH25B 64YB3 R8HK2 XDGEP XJDGF"
)


class FakeClient(DeviceClient):
    """Fixed answers so that snapshots are stable; behaviour is tested against the emulator."""

    state_shown = DeviceState.LOCKED
    presents = FP  # the fingerprint the fake device presents

    def status(self, admin: Any = None) -> DeviceStatus:
        if self.profile.fingerprint and self.presents != self.profile.fingerprint:
            return DeviceStatus(
                host=self.profile.host, state=DeviceState.UNREACHABLE, tls=TlsTrust.MISMATCH,
                fingerprint=self.profile.fingerprint, presented=self.presents,
            )
        oper = self.state_shown is DeviceState.OPERATIONAL and admin is not None
        return DeviceStatus(
            host=self.profile.host,
            state=self.state_shown,
            vendor="Nitrokey GmbH",
            product="NetHSM",
            tls=TlsTrust.INSECURE if self.profile.insecure else TlsTrust.PINNED,
            fingerprint=self.profile.fingerprint or "",
            system=SystemSummary("3.0", "2.1", "1.0", "snap") if oper else None,
            counts=Counts(3, 1, 7) if oper else None,
        )


def _app(tmp_path: Path, profile: Profile | None = None, state: DeviceState = DeviceState.LOCKED,
         saved: tuple[Profile, ...] = (), presents: str = FP, vault: CredentialVault | None = None
         ) -> HsmConsoleApp:
    store = ProfileStore(tmp_path / "config")
    for p in saved:
        store.save(p)

    class Client(FakeClient):
        state_shown = state

    Client.presents = presents

    return HsmConsoleApp(
        store=store, client_factory=Client, profile=profile, probe=lambda host: FP, keyring_notice=False,
        vault=vault,
    )


PINNED = Profile("lab-hsm", HOST, fingerprint=FP)


async def _settled(pilot: Pilot[Any]) -> None:
    await settle(pilot)


def _typed(*texts: str) -> Any:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for text in texts:
            box = pilot.app.screen.query_one("#share", Input)
            box.value = text
            box.focus()
            await pilot.press("enter")
            await pilot.pause()

    return run


def test_connect(snap_compare: Any, tmp_path: Path) -> None:
    saved = (PINNED, Profile("spare", "192.0.2.10"), Profile("lab-loose", "192.0.2.11", insecure=True))
    assert snap_compare(_app(tmp_path, saved=saved), terminal_size=(80, 24), run_before=_settled)


def test_fingerprint_first_contact(snap_compare: Any, tmp_path: Path) -> None:
    app = _app(tmp_path, saved=(Profile("new-hsm", HOST),))
    assert snap_compare(app, press=["enter"], terminal_size=(80, 24), run_before=_settled)


def test_add_profile(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(_app(tmp_path), press=["a", *"lab"], terminal_size=(80, 24), run_before=_settled)


@pytest.mark.parametrize("state", [DeviceState.UNPROVISIONED, DeviceState.LOCKED, DeviceState.OPERATIONAL])
def test_dashboard(snap_compare: Any, tmp_path: Path, state: DeviceState) -> None:
    assert snap_compare(_app(tmp_path, PINNED, state), terminal_size=(80, 24), run_before=_settled)


def test_dashboard_insecure(snap_compare: Any, tmp_path: Path) -> None:
    loose = Profile("lab-loose", HOST, insecure=True)
    app = _app(tmp_path, loose, DeviceState.LOCKED)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_settled)


# What a swapped device (or an interception) presents instead of FP in the snapshots.
OTHER_FP = "C4:19:E0:5B:72:AD:03:96:F1:2E:8C:57:B0:64:D9:3A:A7:0E:41:CB:95:68:2F:D3:1C:7A:E6:08:5F:B4:39:92"


def test_fingerprint_mismatch_dialog(snap_compare: Any, tmp_path: Path) -> None:
    app = _app(tmp_path, saved=(Profile("lab-hsm", HOST, fingerprint=OTHER_FP),))
    assert snap_compare(app, press=["enter"], terminal_size=(80, 24), run_before=_settled)


def test_dashboard_mismatch(snap_compare: Any, tmp_path: Path) -> None:
    app = _app(tmp_path, PINNED, DeviceState.OPERATIONAL, presents=OTHER_FP)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_settled)


def test_help(snap_compare: Any, tmp_path: Path) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(_app(tmp_path, PINNED), terminal_size=(80, 24), run_before=run)


def test_quorum_unlock_empty(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(_app(tmp_path, PINNED), press=["u"], terminal_size=(80, 24), run_before=_settled)


def test_quorum_unlock_one_of_two(snap_compare: Any, tmp_path: Path) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("u")
        await _typed(FAKE_UNLOCK[0])(pilot)

    assert snap_compare(_app(tmp_path, PINNED), terminal_size=(80, 24), run_before=run)


def test_quorum_unlock_typo(snap_compare: Any, tmp_path: Path) -> None:
    typo = FAKE_UNLOCK[1].replace("09Y28", "09Y2B")

    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("u")
        await _typed(FAKE_UNLOCK[0], typo)(pilot)

    assert snap_compare(_app(tmp_path, PINNED), terminal_size=(80, 24), run_before=run)


def test_quorum_unlock_reached(snap_compare: Any, tmp_path: Path) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("u")
        await _typed(*FAKE_UNLOCK)(pilot)

    assert snap_compare(_app(tmp_path, PINNED), terminal_size=(80, 24), run_before=run)


def test_admin_session(snap_compare: Any, tmp_path: Path) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("a")
        await _typed(FAKE_ADMIN)(pilot)

    app = _app(tmp_path, PINNED, DeviceState.OPERATIONAL)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run)


def _over_dashboard(screen: Any) -> Any:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        pilot.app.push_screen(screen)
        await pilot.pause()

    return run


def test_typed_confirm(snap_compare: Any, tmp_path: Path) -> None:
    confirm = TypedConfirm("Lock the device?", "Keys become unusable until a quorum unlocks it.", "lock")
    app = _app(tmp_path, PINNED, DeviceState.OPERATIONAL)
    # A typo, as a person would see it before pressing Enter.
    assert snap_compare(app, press=list("lokc"), terminal_size=(80, 24), run_before=_over_dashboard(confirm))


def test_error_dialog(snap_compare: Any, tmp_path: Path) -> None:
    err = IntegrityError(
        "the shares do not give back the secret of set SNAPSH0T (commitment mismatch)",
        "At least one share was altered after it was made.",
    )
    app = _app(tmp_path, PINNED)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_over_dashboard(ErrorDialog(err)))


def test_passphrase_prompt(snap_compare: Any, tmp_path: Path) -> None:
    prompt = PassphrasePrompt("Administrator passphrase")
    app = _app(tmp_path, PINNED, DeviceState.OPERATIONAL)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_over_dashboard(prompt))


def _with_keyring(snap: Any, tmp_path: Path, run: Any) -> bool:
    """A profile with two remembered users, one with a kept passphrase, and a (memory) keyring."""
    backend = MemoryKeyring()
    backend.items[("hsmconsole", "lab-hsm/operator1")] = "not-a-real-passphrase"
    with installed(backend):
        profile = Profile("lab-hsm", HOST, fingerprint=FP, users=("operator1", "metrics1"))
        app = _app(tmp_path, profile, DeviceState.OPERATIONAL, saved=(profile,), vault=CredentialVault())
        return bool(snap(app, terminal_size=(80, 24), run_before=run))


def test_signin(snap_compare: Any, tmp_path: Path) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)

    assert _with_keyring(snap_compare, tmp_path, run)


def test_signin_prompt_with_keyring(snap_compare: Any, tmp_path: Path) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("down", "enter")  # metrics1: nothing kept, so its passphrase is asked for
        await settle(pilot)
        await pilot.press(*"typed", "tab", "space")

    assert _with_keyring(snap_compare, tmp_path, run)


def test_signin_prompt_without_keyring(snap_compare: Any, tmp_path: Path) -> None:
    vault = CredentialVault()
    vault.available = False
    prompt = PassphrasePrompt("Passphrase of metrics1", user_id="metrics1", vault=vault, allow_remember=True)
    app = _app(tmp_path, PINNED, DeviceState.OPERATIONAL)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_over_dashboard(prompt))
