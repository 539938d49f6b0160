"""The system screens driven through Pilot against the emulator: changes, refusals, nothing bad sent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, Static

from hsmconsole.access.session import start_session
from hsmconsole.device import system as dev
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.device.profiles import Profile, ProfileStore
from hsmconsole.emulator.server import EmbeddedEmulator
from hsmconsole.emulator.sysupdate import build_update
from hsmconsole.journal.chain import Journal
from hsmconsole.models import DeviceState, UserRole
from hsmconsole.secrets import Secret
from screens.app import HsmConsoleApp
from screens.connect import ConnectScreen
from screens.dashboard import DashboardScreen
from screens.dialogs import AskDialog, PassphrasePrompt, TypedConfirm
from screens.system.boot import BootScreen
from screens.system.clock import ClockScreen
from screens.system.logging import LoggingScreen
from screens.system.metrics import MetricsScreen
from screens.system.network import NetworkScreen
from screens.system.overview import SystemScreen
from screens.system.reset import FactoryResetScreen
from screens.system.tls import TlsScreen
from screens.system.update import UpdateScreen
from tests.keyrings import MemoryKeyring, installed
from tests.ui.conftest import ADMIN, UNLOCK, settle

VENDOR = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Rig:
    emu: EmbeddedEmulator
    client: DeviceClient
    store: ProfileStore
    journal: Journal
    pilot: Pilot[Any]

    @property
    def app(self) -> HsmConsoleApp:
        app = self.pilot.app
        assert isinstance(app, HsmConsoleApp)
        return app

    def actions(self) -> list[tuple[str, str]]:
        return [(e.event.action, e.event.outcome.value) for e in self.journal.entries()]

    def text(self, selector: str) -> str:
        return str(self.app.screen.query_one(selector, Static).render())

    async def fill(self, **fields: str) -> None:
        for field_id, value in fields.items():
            self.app.screen.query_one(f"#{field_id.replace('_', '-')}", Input).value = value
        await self.pilot.pause()

    async def open(self, choice: str) -> None:
        screen = self.app.screen
        assert isinstance(screen, SystemScreen)
        screen.open(choice)
        await settle(self.pilot)


@pytest.fixture
def device() -> Iterator[EmbeddedEmulator]:
    with EmbeddedEmulator(update_key=VENDOR.public_key()) as emu:
        yield emu


@pytest.fixture
async def rig(device: EmbeddedEmulator, tmp_path: Path) -> AsyncIterator[Rig]:
    profile = Profile("sys-ui", device.host_port, fingerprint=device.fingerprint)
    store = ProfileStore(tmp_path / "config")
    store.save(profile)
    client = DeviceClient(profile)
    client.provision(Secret(UNLOCK), Secret(ADMIN))
    journal = Journal(tmp_path / "journal.jsonl")
    with installed(MemoryKeyring()):
        app = HsmConsoleApp(store=store, vault=CredentialVault(), journal=journal, profile=profile,
                            keyring_notice=False)  # fmt: skip
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, DashboardScreen) and app.context is not None
            session = start_session(app.context.client, Credentials("admin", Secret(ADMIN)))
            app.context.sessions.admin = session
            app.screen.action_refresh()
            await settle(pilot)
            app.screen.run_action_id("system")  # the dashboard entry, enabled with the session
            await settle(pilot)
            assert isinstance(app.screen, SystemScreen)
            yield Rig(device, client, store, journal, pilot)


def admin() -> Credentials:
    return Credentials("admin", Secret(ADMIN))


async def test_overview_shows_info_and_the_clocks(rig: Rig) -> None:
    text = rig.text("#overview")
    assert f"device id {rig.emu.hsm.device_id}" in text and "Operational" in text
    assert "here " in text and "matches the pin" in text and "192.168.1.1/24" in text
    await rig.pilot.press("escape")
    await settle(rig.pilot)
    assert isinstance(rig.app.screen, DashboardScreen)


async def test_network_bad_values_are_not_sent_good_ones_are(rig: Rig) -> None:
    await rig.open("network")
    assert isinstance(rig.app.screen, NetworkScreen)
    writes = rig.emu.hsm.kv_writes
    for bad in ({"netmask": "255.0.255.0"}, {"ip_address": "10.0.0.300"},
                {"ip_address": "10.0.0.5", "netmask": "24", "gateway": "10.9.9.9"}):  # fmt: skip
        await rig.fill(**bad)
        await rig.pilot.press("ctrl+s")
        await settle(rig.pilot)
        assert "Not sent:" in rig.text("#status-line")
        assert not isinstance(rig.app.screen, AskDialog)
    assert rig.emu.hsm.kv_writes == writes and rig.actions() == []
    await rig.fill(ip_address="10.0.0.5", netmask="24", gateway="10.0.0.1")
    await rig.pilot.press("ctrl+s")
    await settle(rig.pilot)
    assert isinstance(rig.app.screen, AskDialog)
    await rig.pilot.click("#yes")
    await settle(rig.pilot)
    assert rig.emu.hsm.get_network()["ipAddress"] == "10.0.0.5"
    assert rig.actions() == [("system.network", "ok")]


async def test_network_move_of_the_connection_address_offers_to_update_the_profile(rig: Rig) -> None:
    dev.set_network(rig.client, admin(), dev.NetworkSettings("127.0.0.1", "255.0.0.0"))
    await rig.open("network")
    await rig.fill(ip_address="127.0.0.2")
    await rig.pilot.press("ctrl+s")
    await settle(rig.pilot)
    assert isinstance(rig.app.screen, AskDialog)
    await rig.pilot.click("#yes")
    await settle(rig.pilot)
    port = rig.emu.host_port.rsplit(":", 1)[1]
    assert isinstance(rig.app.screen, AskDialog)  # update the profile?
    await rig.pilot.click("#yes")
    await settle(rig.pilot)
    assert f"reconnect to 127.0.0.2:{port}" in rig.text("#status-line") or "now points at" in rig.text(
        "#status-line")
    assert rig.store.get("sys-ui").host == f"127.0.0.2:{port}"
    assert rig.app.context is not None and rig.app.context.profile.host == f"127.0.0.2:{port}"


async def test_clock_typed_and_from_this_computer(rig: Rig) -> None:
    await rig.open("time")
    assert isinstance(rig.app.screen, ClockScreen)
    await rig.fill(typed="2030-01-01T00:00:00+02:00")
    await rig.pilot.press("enter")
    await settle(rig.pilot)
    assert "Not sent:" in rig.text("#status-line") and rig.actions() == []
    await rig.fill(typed="2030-01-01T00:00:00Z")
    await rig.pilot.press("enter")
    await settle(rig.pilot)
    assert dev.read_time(rig.client, admin()).year == 2030
    await rig.pilot.press("ctrl+n")
    await settle(rig.pilot)
    assert dev.read_time(rig.client, admin()).year < 2030
    assert rig.actions() == [("system.time", "ok"), ("system.time", "ok")]


async def test_logging_refuses_a_bad_port_then_changes(rig: Rig) -> None:
    await rig.open("logging")
    assert isinstance(rig.app.screen, LoggingScreen)
    await rig.fill(syslog_address="192.0.2.50", syslog_port="99999", log_level="warning")
    await rig.pilot.press("ctrl+s")
    await settle(rig.pilot)
    assert "Not sent:" in rig.text("#status-line")
    assert rig.emu.hsm.get_logging()["ipAddress"] == "0.0.0.0"
    await rig.fill(syslog_port="514")
    # Enter walks the form field by field (nothing sent), and on the last field applies.
    for expected in ("syslog-port", "log-level"):
        await rig.pilot.press("enter")
        await rig.pilot.pause()
        assert rig.app.focused is not None and rig.app.focused.id == expected
        assert rig.emu.hsm.get_logging()["ipAddress"] == "0.0.0.0"
    await rig.pilot.press("enter")
    await settle(rig.pilot)
    assert rig.emu.hsm.get_logging() == {"ipAddress": "192.0.2.50", "port": 514, "logLevel": "warning"}


async def test_unattended_boot_needs_the_typed_word(rig: Rig) -> None:
    await rig.open("boot")
    assert isinstance(rig.app.screen, BootScreen)
    assert "unlock passphrase" in rig.app.screen.query(".hint").first(Static).render().__str__()
    await rig.pilot.press("ctrl+o")
    await settle(rig.pilot)
    assert isinstance(rig.app.screen, TypedConfirm)
    await rig.pilot.press(*"unattended", "enter")
    await settle(rig.pilot)
    assert rig.emu.hsm.get_unattended_boot() is True
    await rig.pilot.press("ctrl+o")  # off again needs no typing
    await settle(rig.pilot)
    assert rig.emu.hsm.get_unattended_boot() is False


async def test_tls_view_and_csr(rig: Rig, tmp_path: Path) -> None:
    await rig.open("tls")
    assert isinstance(rig.app.screen, TlsScreen)
    text = rig.text("#certificate")
    assert "CN=keyfender" in text and "yes: this is the certificate the profile pins" in text
    assert rig.emu.fingerprint[:47] in text
    out = tmp_path / "dev.csr"
    await rig.fill(csr_cn="", csr_file=str(out))
    await rig.pilot.press("ctrl+s")
    await settle(rig.pilot)
    assert "Not sent:" in rig.text("#status-line") and not out.exists()
    await rig.fill(csr_cn="nethsm.example.org")
    await rig.pilot.press("ctrl+s")
    await settle(rig.pilot)
    assert out.read_text().startswith("-----BEGIN CERTIFICATE REQUEST-----")


@pytest.mark.slow
async def test_update_refusals_then_upload_and_commit(rig: Rig, tmp_path: Path) -> None:
    await rig.open("update")
    assert isinstance(rig.app.screen, UpdateScreen)
    junk = tmp_path / "junk.img"
    junk.write_bytes(b"not an image")
    stranger = tmp_path / "stranger.img"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    stranger.write_bytes(build_update(other, "evil", "6.0", bytes(512)))
    old = tmp_path / "old.img"
    old.write_bytes(build_update(VENDOR, "old", "4.0", bytes(512)))
    good = tmp_path / "good.img"
    good.write_bytes(build_update(VENDOR, "Release 6.2: better clocks", "6.2", bytes(512 * 200)))
    expected = [(junk, "Not sent: "), (stranger, "signature is not valid"), (old, "downgrade")]
    for path, words in expected:
        await rig.fill(image_file=str(path))
        await rig.pilot.press("enter")
        await settle(rig.pilot)
        if isinstance(rig.app.screen, UpdateScreen):
            assert words in rig.text("#status-line")
        else:  # the integrity refusal is a dialog to read; its text is on the screen below too
            await rig.pilot.press("escape")
            await settle(rig.pilot)
            assert words in rig.text("#status-line")
    await rig.fill(image_file=str(good))
    await rig.pilot.press("enter")
    await settle(rig.pilot)
    assert "Release 6.2: better clocks" in rig.text("#notes")
    await rig.pilot.press("enter")  # again: one is waiting already
    await settle(rig.pilot)
    assert "already waiting" in rig.text("#status-line")
    await rig.pilot.press("ctrl+o")
    await settle(rig.pilot)
    await rig.pilot.click("#yes")
    await settle(rig.pilot)
    assert rig.client.state() is DeviceState.LOCKED
    assert rig.app.context is not None and rig.app.context.sessions.admin is None
    assert ("system.update.commit", "ok") in rig.actions()


async def test_reboot_behind_a_typed_confirmation(rig: Rig) -> None:
    await rig.open("reboot")
    assert isinstance(rig.app.screen, TypedConfirm)
    await rig.pilot.press(*"reboo", "enter")  # not the word: nothing happens
    await settle(rig.pilot)
    assert rig.client.state() is DeviceState.OPERATIONAL
    await rig.pilot.press(*"reboot", "enter")
    await settle(rig.pilot)
    assert rig.client.state() is DeviceState.LOCKED
    # The worker's result closes the screen a few messages later (dismiss awaits the pop): give
    # the app those turns rather than asserting between them.
    for _ in range(100):
        if isinstance(rig.app.screen, DashboardScreen):
            break
        await rig.pilot.pause(0.05)
    assert isinstance(rig.app.screen, DashboardScreen)


class FakeBackup(Screen[bool]):
    """Stands in for the backup wing's screen (wired at merge time)."""

    def on_mount(self) -> None:
        self.dismiss(True)


async def test_factory_reset_needs_the_full_id(rig: Rig) -> None:
    system = rig.app.screen
    assert isinstance(system, SystemScreen)
    system.backup_first = lambda ctx: FakeBackup()
    await rig.open("reset")
    assert isinstance(rig.app.screen, FactoryResetScreen)
    assert "every key, every user" in rig.text("#reset-warning")
    await rig.pilot.press("ctrl+b")
    await settle(rig.pilot)
    assert rig.text("#backup-offer") == "A backup was made just now."
    device_id = rig.emu.hsm.device_id
    writes = rig.emu.hsm.kv_writes
    await rig.pilot.press(*device_id[:-1], "enter")
    await settle(rig.pilot)
    assert rig.client.state() is DeviceState.OPERATIONAL and rig.emu.hsm.kv_writes == writes
    assert rig.actions() == [("system.factory-reset", "refused")]
    await rig.pilot.press(*device_id, "enter")
    await settle(rig.pilot)
    fresh = DeviceClient(Profile("after", rig.emu.host_port, fingerprint=rig.emu.fingerprint))
    assert fresh.state() is DeviceState.UNPROVISIONED
    assert rig.actions() == [("system.factory-reset", "refused"), ("system.factory-reset", "ok")]
    assert isinstance(rig.app.screen, ConnectScreen)  # the new certificate is confirmed there


async def test_metrics_with_a_metrics_user(rig: Rig) -> None:
    rig.client.add_user(admin(), "metrics", "M", UserRole.METRICS, Secret("metricsmetrics"))
    await rig.open("metrics")
    assert isinstance(rig.app.screen, PassphrasePrompt)
    await rig.pilot.press(*"metricsmetrics", "enter")
    await settle(rig.pilot)
    assert isinstance(rig.app.screen, MetricsScreen)
    assert "uptime" in rig.text("#metrics")


async def test_shutdown_behind_a_typed_confirmation(rig: Rig) -> None:
    await rig.open("shutdown")
    assert isinstance(rig.app.screen, TypedConfirm)
    await rig.pilot.press("escape")
    await settle(rig.pilot)
    assert isinstance(rig.app.screen, SystemScreen) and not rig.emu.powered_off
    await rig.open("shutdown")
    await rig.pilot.press(*"shutdown", "enter")
    await settle(rig.pilot)
    assert rig.emu.wait(10) and rig.emu.powered_off
    assert rig.actions() == [("system.shutdown", "ok")]


async def test_update_can_be_dropped(rig: Rig, tmp_path: Path) -> None:
    good = tmp_path / "good.img"
    good.write_bytes(build_update(VENDOR, "to be dropped", "6.5", bytes(512)))
    await rig.open("update")
    await rig.pilot.press("ctrl+g")  # nothing waiting yet: said in words
    await settle(rig.pilot)
    assert "No update is waiting" in rig.text("#status-line")
    await rig.fill(image_file=str(good))
    await rig.pilot.press("ctrl+s")
    await settle(rig.pilot)
    assert "to be dropped" in rig.text("#notes")
    await rig.pilot.press("ctrl+g")
    await settle(rig.pilot)
    assert "cancelled" in rig.text("#status-line")
    with pytest.raises(Exception, match="No update is waiting"):
        dev.commit_update(rig.client, admin())
