"""Connecting: first contact pins only after confirmation; a changed certificate is refused."""

from __future__ import annotations

import nethsm
from textual.widgets import Static

from hsmconsole.device.profiles import Profile, ProfileStore
from hsmconsole.device.tls import pin_sdk
from hsmconsole.device.trust import grouped
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.secrets import Secret
from screens.app import HsmConsoleApp
from screens.connect import ConnectScreen, FingerprintDialog
from screens.dashboard import DashboardScreen
from screens.dialogs import ErrorDialog
from tests.ui.conftest import ADMIN, UNLOCK, LockedDevice, settle

OTHER = ":".join(["AB"] * 32)


def _made(created: list[Profile]):  # type: ignore[no-untyped-def]
    from hsmconsole.device.client import DeviceClient

    def factory(profile: Profile) -> DeviceClient:
        created.append(profile)
        return DeviceClient(profile)

    return factory


async def test_first_contact_pins_only_after_confirm(
    emulator: EmbeddedEmulator, store: ProfileStore
) -> None:
    store.save(Profile("lab", emulator.host_port))
    created: list[Profile] = []
    app = HsmConsoleApp(store=store, client_factory=_made(created))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ConnectScreen)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FingerprintDialog)
        assert app.screen.check.presented == emulator.fingerprint
        await pilot.press("enter")  # focus starts on Cancel: Enter declines
        await settle(pilot)
        assert isinstance(app.screen, ConnectScreen)
        assert store.get("lab").fingerprint is None
        assert created == []
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("shift+tab")  # to "It matches: pin it"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
    assert store.get("lab").fingerprint == emulator.fingerprint
    assert [p.fingerprint for p in created] == [emulator.fingerprint]


async def test_changed_certificate_is_refused(emulator: EmbeddedEmulator, store: ProfileStore) -> None:
    store.save(Profile("lab", emulator.host_port, fingerprint=OTHER))
    created: list[Profile] = []
    app = HsmConsoleApp(store=store, client_factory=_made(created))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ErrorDialog)
        assert "does NOT match" in app.screen.err.title
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConnectScreen)
    assert created == []
    assert store.get("lab").fingerprint == OTHER  # never silently re-pinned


async def test_insecure_profile_shows_a_persistent_banner(
    emulator: EmbeddedEmulator, store: ProfileStore
) -> None:
    store.save(Profile("loose", emulator.host_port, insecure=True))
    app = HsmConsoleApp(store=store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        banner = app.screen.query_one("#banner")
        assert "TLS VERIFICATION IS OFF" in str(banner.render())
        await pilot.press("r")
        await settle(pilot)
        assert app.screen.query_one("#banner").display


async def test_add_profile_then_connect(emulator: EmbeddedEmulator, store: ProfileStore) -> None:
    app = HsmConsoleApp(store=store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"lab", "enter")
        await pilot.press(*emulator.host_port, "enter")
        await settle(pilot)
        assert isinstance(app.screen, ConnectScreen)
        assert store.get("lab").host == emulator.host_port
        assert not store.get("lab").insecure
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FingerprintDialog)


async def test_unreachable_device_is_a_clear_error(store: ProfileStore) -> None:
    store.save(Profile("gone", "127.0.0.1:1"))
    app = HsmConsoleApp(store=store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ErrorDialog)
        assert "Could not reach" in app.screen.err.title


async def test_mismatch_dialog_shows_both_fingerprints(
    emulator: EmbeddedEmulator, store: ProfileStore
) -> None:
    store.save(Profile("lab", emulator.host_port, fingerprint=OTHER))
    app = HsmConsoleApp(store=store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ErrorDialog)
        shown_pinned = str(app.screen.query_one("#pinned-fingerprint", Static).render())
        shown_presented = str(app.screen.query_one("#presented-fingerprint", Static).render())
    # Grouped in two lines of 16 pairs, as on the first-contact dialog.
    assert shown_pinned.split("\n") == grouped(OTHER)
    assert shown_presented.split("\n") == grouped(emulator.fingerprint)


async def test_certificate_swapped_while_connected_shows_mismatch_not_verified(
    locked: LockedDevice, store: ProfileStore
) -> None:
    client = locked.client()
    client.unlock(Secret(UNLOCK))
    app = HsmConsoleApp(store=store, profile=locked.profile, emulator=True, keyring_notice=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert not app.screen.query_one("#trust-banner").display
        assert "TLS      verified" in str(app.screen.query_one("#status", Static).render())
        # The device now presents another certificate (as after a swap or an interception).
        sdk = nethsm.NetHSM(locked.profile.host, auth=nethsm.Authentication("admin", ADMIN))
        pin_sdk(sdk, locked.profile.fingerprint)
        sdk.generate_tls_key(nethsm.TlsKeyType.EC_P256)
        sdk.close()
        await pilot.press("r")
        await settle(pilot)
        status = str(app.screen.query_one("#status", Static).render())
        banner = app.screen.query_one("#trust-banner", Static)
        assert banner.display and "CERTIFICATE MISMATCH" in str(banner.render())
        assert "verified" not in status
        assert "Unreachable" not in status
        assert "CERTIFICATE MISMATCH" in status
        assert "Shown    " + locked.emulator.fingerprint[:17] in status
